"""The benchmark data: one invented hospital, its staff, requests by the thousand and an audit
chain by the hundred thousand.

Requests are written with ``bulk_create`` (the services would take minutes for 10,000), with
valid field values, a patient each, the transitions of the path to their state, a pathway
choice, evidence, outside applications and dispensations, so the queue, the API and the
report have the joins and subqueries of real use. Audit events are hashed with the audit
service's own ``audit_event_hash`` and chained exactly as ``audit_record`` does, so
``audit_chain_verify`` accepts them; the caller checks that before timing anything.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import factory
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Department, Hospital, User
from accounts.roles import Role
from audit.actions import AuditAction
from audit.models import GENESIS_HASH, AuditChainHead, AuditEvent
from audit.services import audit_event_hash
from evidence.models import Study
from pharmacy.models import Dispensation, Payer
from prescriptions.models import (
    EvidenceAttachment,
    OffLabelRequest,
    Patient,
    RequestTransition,
    request_reference,
)
from prescriptions.services import drug_default
from regulatory.models import Application, PathwayChoice, PathwayVersion
from tests.factories import HospitalFactory, UserFactory

S = OffLabelRequest.Status
PSEUDONYM_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # as prescriptions.services uses
BATCH = 2000

# The states a request goes through to reach each state, as prescriptions/workflow.py allows.
_REVIEWED = [S.DRAFT, S.SUBMITTED, S.IN_REVIEW]
PATHS: dict[str, list[OffLabelRequest.Status]] = {
    S.DRAFT: [S.DRAFT],
    S.SUBMITTED: [S.DRAFT, S.SUBMITTED],
    S.IN_REVIEW: _REVIEWED,
    S.CHANGES_REQUESTED: [*_REVIEWED, S.CHANGES_REQUESTED],
    S.RESUBMITTED: [*_REVIEWED, S.CHANGES_REQUESTED, S.RESUBMITTED],
    S.AWAITING_AUTHORISATION: [*_REVIEWED, S.AWAITING_AUTHORISATION],
    S.APPROVED: [*_REVIEWED, S.APPROVED],
    S.ACTIVE: [*_REVIEWED, S.APPROVED, S.ACTIVE],
    S.COMPLETED: [*_REVIEWED, S.APPROVED, S.ACTIVE, S.COMPLETED],
    S.REJECTED: [*_REVIEWED, S.REJECTED],
    S.WITHDRAWN: [S.DRAFT, S.SUBMITTED, S.WITHDRAWN],
    S.SUSPENDED: [*_REVIEWED, S.APPROVED, S.ACTIVE, S.SUSPENDED],
}
# Half the requests wait in the pharmacy queue (submitted, resubmitted, in review, awaiting
# authorisation, approved), as in a busy hospital.
STATE_WEIGHTS: dict[str, int] = {
    S.DRAFT: 10,
    S.SUBMITTED: 10,
    S.IN_REVIEW: 10,
    S.CHANGES_REQUESTED: 5,
    S.RESUBMITTED: 5,
    S.AWAITING_AUTHORISATION: 10,
    S.APPROVED: 15,
    S.ACTIVE: 15,
    S.COMPLETED: 10,
    S.REJECTED: 5,
    S.WITHDRAWN: 3,
    S.SUSPENDED: 2,
}
BY_PHYSICIAN = {S.SUBMITTED, S.RESUBMITTED, S.WITHDRAWN}
TREATED = {S.ACTIVE, S.COMPLETED, S.SUSPENDED}
AUTHORISED = {S.APPROVED, *TREATED}
AUDIT_ACTIONS = (
    AuditAction.REQUEST_UPDATED,
    AuditAction.PATIENT_IDENTITY_READ,
    AuditAction.REQUEST_EVIDENCE_ATTACHED,
    AuditAction.CHECKLIST_ATTESTED,
    AuditAction.SAFETY_OVERRIDDEN,
    AuditAction.CONSENT_DOWNLOADED,
)


@dataclass(frozen=True)
class Cast:
    """The invented hospital and its people."""

    hospital: Hospital
    pharmacist: User
    admin: User
    physicians: list[User]


def database_prepare() -> None:
    """Tables and the data files the app needs (studies, pathway rules, label rules)."""
    call_command("migrate", verbosity=0)
    call_command("load_studies", verbosity=0)
    call_command("load_rules", verbosity=0)
    call_command("load_label_rules", verbosity=0)


def cast_create(*, name: str = "Invented Benchmark Hospital", code: str = "bench") -> Cast:
    """An invented hospital with a haematology department, six physicians, a pharmacist and an
    administrator; usernames start with ``code`` (``bench.pharmacist``)."""
    hospital = HospitalFactory.create(name=name, code=code, country="IT", city="Nowhere")
    haematology = Department.objects.create(hospital=hospital, name="Haematology (invented)")

    def user(username: str, role: Role, first: str, last: str) -> User:
        return UserFactory.create(
            username=username,
            hospital=hospital,
            department=haematology,
            role=role,
            first_name=first,
            last_name=last,
            # Unusable (the benchmark uses force_login), and stored as is: the factory hashes a
            # given password, with production's hasher here (a second or so per user).
            password=factory.Transformer.Force(make_password(None)),
        )

    physicians = [
        user(f"{code}.dr{i}", Role.PHYSICIAN, "Invented", f"Doctor {i}") for i in range(1, 7)
    ]
    return Cast(
        hospital=hospital,
        pharmacist=user(f"{code}.pharmacist", Role.PHARMACIST, "Invented", "Pharmacist"),
        admin=user(f"{code}.admin", Role.HOSPITAL_ADMIN, "Invented", "Administrator"),
        physicians=physicians,
    )


def pseudonyms_unique(rng: random.Random, taken: set[str]) -> Iterator[str]:
    """Pseudonyms shaped as the app makes them, none in ``taken`` (which grows)."""
    while True:
        code = "".join(rng.choice(PSEUDONYM_ALPHABET) for _ in range(8))
        pseudonym = f"PT-{code[:4]}-{code[4:]}"
        if pseudonym not in taken:
            taken.add(pseudonym)
            yield pseudonym


def _patient(cast: Cast, rng: random.Random, pseudonym: str, prescriber: User) -> Patient:
    return Patient(
        hospital=cast.hospital,
        pseudonym=pseudonym,
        created_by=prescriber,
        age_years=rng.randint(19, 89),
        sex=rng.choice([Patient.Sex.FEMALE, Patient.Sex.MALE]),
        weight_kg=Decimal(rng.randint(450, 1100)) / 10,
        height_cm=Decimal(rng.randint(1500, 1950)) / 10,
        aml_type=rng.choice(Patient.AmlType.values),
        disease_status=rng.choice(Patient.DiseaseStatus.values),
        prior_lines=rng.randint(1, 4),
        eln_risk=rng.choice(Patient.Eln.values),
        ecog=rng.randint(0, 3),
        hepatic_function=Patient.Hepatic.NORMAL,
    )


def requests_grow_to(cast: Cast, total: int, *, seed: int = 20260101) -> int:
    """Add requests to the hospital until it has ``total``; returns how many were added."""
    existing = OffLabelRequest.objects.filter(hospital=cast.hospital).count()
    rng = random.Random(seed + existing)  # noqa: S311 - invented data, not secrets
    taken = set(Patient.objects.filter(hospital=cast.hospital).values_list("pseudonym", flat=True))
    pseudonyms = pseudonyms_unique(rng, taken)
    versions = list(
        PathwayVersion.objects.filter(is_current=True, pathway__jurisdiction__code="IT")
        .select_related("pathway")
        .order_by("pathway__order")
    )
    studies = list(Study.objects.order_by("pk"))
    drug = drug_default()
    now = timezone.now()
    states = list(STATE_WEIGHTS)
    weights = list(STATE_WEIGHTS.values())
    added = 0
    while existing + added < total:
        size = min(BATCH, total - existing - added)
        prescribers = [rng.choice(cast.physicians) for _ in range(size)]
        patients = Patient.objects.bulk_create(
            _patient(cast, rng, next(pseudonyms), prescriber) for prescriber in prescribers
        )
        Patient.treating_physicians.through.objects.bulk_create(
            Patient.treating_physicians.through(patient_id=p.pk, user_id=p.created_by_id)
            for p in patients
        )
        plans: list[dict[str, Any]] = []
        for patient, prescriber in zip(patients, prescribers, strict=True):
            state = rng.choices(states, weights)[0]
            created = now - timedelta(days=rng.uniform(2, 365))
            times = [created]
            for _ in PATHS[state][1:]:
                times.append(times[-1] + timedelta(hours=rng.uniform(1, 72)))
            times = [min(t, now) for t in times]
            plans.append(
                {
                    "state": state,
                    "times": times,
                    "prescriber": prescriber,
                    "version": rng.choice(versions),
                    "patient": patient,
                }
            )
        requests = OffLabelRequest.objects.bulk_create(
            OffLabelRequest(
                hospital=cast.hospital,
                patient=plan["patient"],
                prescriber=plan["prescriber"],
                drug=drug,
                regimen=OffLabelRequest.Regimen.AZACITIDINE,
                ven_target_dose_mg=Decimal(400),
                ramp_up=OffLabelRequest.RampUp.HMA_3_DAY,
                cycles_planned=rng.randint(2, 6),
                clinical_rationale="Invented benchmark request; no real patient.",
                jurisdiction=OffLabelRequest.Jurisdiction.IT,
                needs_outside_authorisation=plan["version"].needs_outside_authorisation,
                status=plan["state"],
                status_changed_at=plan["times"][-1],
                submitted_at=plan["times"][1] if len(plan["times"]) > 1 else None,
            )
            for plan in plans
        )
        for request, plan in zip(requests, plans, strict=True):
            request.created_at = plan["times"][0]  # auto_now_add wrote "now"
        OffLabelRequest.objects.bulk_update(requests, ["created_at"], batch_size=500)
        _related_rows(cast, rng, requests, plans, studies)
        added += size
    return added


def _related_rows(
    cast: Cast,
    rng: random.Random,
    requests: list[OffLabelRequest],
    plans: list[dict[str, Any]],
    studies: list[Study],
) -> None:
    transitions, choices, attachments, applications, dispensations = [], [], [], [], []
    for request, plan in zip(requests, plans, strict=True):
        path, times, state = PATHS[plan["state"]], plan["times"], plan["state"]
        for i in range(1, len(path)):
            transitions.append(
                RequestTransition(
                    request=request,
                    from_status=path[i - 1],
                    to_status=path[i],
                    actor=plan["prescriber"] if path[i] in BY_PHYSICIAN else cast.pharmacist,
                    occurred_at=times[i],
                )
            )
        if state == S.DRAFT:
            continue
        version: PathwayVersion = plan["version"]
        choices.append(
            PathwayChoice(
                request=request,
                pathway_version=version,
                recommended_code=version.pathway.code,
                chosen_by=plan["prescriber"],
            )
        )
        for study in rng.sample(studies, rng.randint(1, 3)):
            attachments.append(
                EvidenceAttachment(
                    request=request,
                    study=study,
                    snapshot={"reference": study.reference},
                    attached_by=plan["prescriber"],
                )
            )
        if version.needs_outside_authorisation and state in {
            S.AWAITING_AUTHORISATION,
            *AUTHORISED,
        }:
            granted = state != S.AWAITING_AUTHORISATION
            applications.append(
                Application(
                    request=request,
                    hospital=cast.hospital,
                    body=version.authorising_body,
                    prepared_at=times[1].date(),
                    submitted_at=times[1].date(),
                    status=Application.Status.GRANTED if granted else Application.Status.SUBMITTED,
                    decided_at=times[-1].date() if granted else None,
                    created_by=cast.pharmacist,
                )
            )
        if state in TREATED:
            for cycle in range(1, rng.randint(1, 3) + 1):
                dispensations.append(
                    Dispensation(
                        request=request,
                        cycle=cycle,
                        payer=Payer.NATIONAL_SERVICE,
                        total_mg=Decimal(11200),
                        cost=Decimal("5843.20"),
                        currency="EUR",
                        dispensed_by=cast.pharmacist,
                        dispensed_at=times[-1],
                    )
                )
    RequestTransition.objects.bulk_create(transitions, batch_size=BATCH)
    PathwayChoice.objects.bulk_create(choices, batch_size=BATCH)
    EvidenceAttachment.objects.bulk_create(attachments, batch_size=BATCH)
    Application.objects.bulk_create(applications, batch_size=BATCH)
    Dispensation.objects.bulk_create(dispensations, batch_size=BATCH)


def audit_fill_to(cast: Cast, total: int, *, seed: int = 20260102) -> int:
    """Append invented events to the chain until it holds ``total``; returns how many."""
    head, _ = AuditChainHead.objects.get_or_create(pk=1)
    sequence, previous_hash = head.last_sequence, head.last_hash or GENESIS_HASH
    missing = total - AuditEvent.objects.count()
    if missing <= 0:
        return 0
    rng = random.Random(seed)  # noqa: S311 - invented data, not secrets
    request_ids = list(
        OffLabelRequest.objects.filter(hospital=cast.hospital).values_list("pk", "prescriber_id")
    )
    actors = {user.pk: user.get_username() for user in [cast.pharmacist, *cast.physicians]}
    # Spread over the past year, strictly increasing, ending before any event written now.
    last = AuditEvent.objects.order_by("-sequence").values_list("occurred_at", flat=True).first()
    end = min(last, timezone.now()) if last else timezone.now()
    step = timedelta(seconds=365 * 86400 / missing)
    moment: datetime = end - step * (missing + 1)
    written = 0
    while written < missing:
        batch: list[AuditEvent] = []
        for _ in range(min(BATCH * 5, missing - written)):
            request_id, prescriber_id = rng.choice(request_ids)
            actor_id = rng.choice([prescriber_id, cast.pharmacist.pk])
            action = rng.choice(AUDIT_ACTIONS)
            sequence += 1
            moment += step
            event = AuditEvent(
                sequence=sequence,
                occurred_at=moment,
                actor_id=actor_id,
                actor_username=actors[actor_id],
                hospital_id=cast.hospital.pk,
                action=action,
                object_type="prescriptions.offlabelrequest",
                object_id=str(request_id),
                summary=f"{request_reference(request_id)}: {action.replace('.', ' ')} (invented)",
                before={"version": sequence % 7} if action == "request.updated" else None,
                after={"version": sequence % 7 + 1, "note": "invented"}
                if action == "request.updated"
                else None,
                ip_address=f"10.20.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
                previous_hash=previous_hash,
            )
            event.event_hash = audit_event_hash(event)
            previous_hash = event.event_hash
            batch.append(event)
        AuditEvent.objects.bulk_create(batch, batch_size=BATCH)
        written += len(batch)
    AuditChainHead.objects.filter(pk=1).update(last_sequence=sequence, last_hash=previous_hash)
    return written


def pharmacist_client(cast: Cast) -> Any:
    """A test client with the pharmacist signed in as production asks (issue 16): the session
    carries a verified second factor (an authenticator app of the invented pharmacist), so the
    second-factor middleware runs its check on every request and lets the page through."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    pharmacist = cast.pharmacist
    device, _ = TOTPDevice.objects.get_or_create(
        user=pharmacist, name="benchmark phone (invented)", defaults={"confirmed": True}
    )
    client = Client()
    client.force_login(pharmacist)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client
