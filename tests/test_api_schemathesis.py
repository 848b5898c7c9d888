"""Schemathesis against /api/schema/: every API operation, as each role, on a seeded hospital.

The schema is loaded from the Django WSGI application itself and every call goes to it in
process, on the test's database connection. Each call runs in a savepoint that is rolled back,
so a case that withdraws a request or signs a consent form does not change what the next case
sees: the seeded rows, in their states, are what every case meets, and a failing case replays
the same way. Path ids, and the ids inside bodies, are drawn from the seeded rows (and one id
that exists nowhere), so the operations reach real records instead of answering 404 to random
numbers. Each role runs every operation with valid (positive) and invalid (negative) input.

The operations are driven with hypothesis over ``operation.as_strategy()`` rather than with
``schemathesis.pytest.from_fixture``: that loader sets ``Function._nodeid``, which pytest 9.2
no longer has (AttributeError). Each operation and mode is a pytest subtest, so one failure
names its operation and the others still run.

Deeper, randomised but repeatable: OFFLABEL_API_FUZZ_EXAMPLES=100 OFFLABEL_API_FUZZ_SEED=3
(about 13 minutes on SQLite).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from knox.models import AuthToken
from schemathesis import GenerationMode

from accounts.models import User
from accounts.roles import Role
from audit.models import AuditEvent
from consent.models import ConsentDocument
from consent.services import consent_request
from evidence.models import Study
from followup.models import (
    AdverseEvent,
    FollowUp,
    PharmacovigilanceReminder,
    RenewalReport,
    ResponseAssessment,
)
from followup.report import renewal_report_request
from followup.services import adverse_event_create, followup_update, response_assessment_create
from pharmacy.rules import label_rules_load
from pharmacy.services import drug_price_add
from prescriptions.models import EvidenceAttachment, OffLabelRequest
from prescriptions.services import (
    drug_default,
    evidence_attach,
    patient_create,
    request_create,
    request_transition,
)
from regulatory.dossier import dossier_request
from regulatory.models import Application, ChecklistItem
from regulatory.services import application_create, pathway_choose
from tests.api_schema import CHECKS, api_schema_load, in_process_requests
from tests.factories import HospitalFactory, UserFactory
from tests.followup.conftest import ae_fields
from tests.pharmacy.conftest import approve, dispense_cycle_one
from tests.prescriptions.conftest import COMPLETE_PROFILE, IDENTITY, REGIMEN, checklist_complete

ROLES = [role.value for role in Role]
MISSING_ID = 987654  # an id no seeded table reaches

# Small and derandomised (the same cases every run) for CI; see the module docstring.
MAX_EXAMPLES = int(os.environ.get("OFFLABEL_API_FUZZ_EXAMPLES", "10"))
FUZZ_SEED = os.environ.get("OFFLABEL_API_FUZZ_SEED")


@dataclass
class World:
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, list[int]] = field(default_factory=dict)
    attachments: list[tuple[int, int]] = field(default_factory=list)


def _treated_patient(physician: User, **profile: Any) -> Any:
    return patient_create(
        actor=physician,
        profile={**COMPLETE_PROFILE, **profile},
        mutations={"IDH2": "present", "TP53": "absent"},
        medications=[{"drug_name": "aciclovir", "interaction": "none_known"}],
        identity=IDENTITY,
    )


def _gb_request(physician: User) -> OffLabelRequest:
    request = request_create(actor=physician, patient=_treated_patient(physician), fields=REGIMEN)
    evidence_attach(
        actor=physician,
        request=request,
        study=Study.objects.get(reference=82),
        note="IDH-mutated subgroup responded",
        rank=1,
    )
    request.refresh_from_db()
    pathway_choose(actor=physician, request=request, pathway_code="gb_gmc_off_label")
    request.refresh_from_db()
    return request


def _pks(queryset: Any) -> list[int]:
    return list(queryset.order_by("pk").values_list("pk", flat=True))


def world_seed() -> World:
    """A hospital with one user of each role and requests in the states the API acts on."""
    from evidence.services import studies_load_review
    from regulatory.loader import rules_load

    studies_load_review()
    rules_load()
    label_rules_load()
    hospital = HospitalFactory.create(name="Invented General Hospital", code="inv-gen")
    users = {
        Role.PHYSICIAN: UserFactory.create(
            username="dr.house", hospital=hospital, role=Role.PHYSICIAN
        ),
        Role.PHARMACIST: UserFactory.create(
            username="ph.rossi", hospital=hospital, role=Role.PHARMACIST
        ),
        Role.HOSPITAL_ADMIN: UserFactory.create(
            username="adm.bianchi", hospital=hospital, role=Role.HOSPITAL_ADMIN
        ),
        Role.REGULATORY_OFFICER: UserFactory.create(
            username="reg.verdi", hospital=hospital, role=Role.REGULATORY_OFFICER
        ),
        Role.COMMITTEE_SECRETARY: UserFactory.create(
            username="sec.neri", hospital=hospital, role=Role.COMMITTEE_SECRETARY
        ),
        # Above hospitals: edits the national rules (issue 14).
        Role.RULE_STEWARD: UserFactory.create(
            username="steward.neri", hospital=None, is_rule_steward=True, role=Role.RULE_STEWARD
        ),
    }
    physician, pharmacist = users[Role.PHYSICIAN], users[Role.PHARMACIST]
    today = timezone.localdate()
    for strength, price in ((10, "5.60"), (50, "28.00"), (100, "56.00")):
        drug_price_add(
            actor=pharmacist,
            drug=drug_default(),
            strength_mg=Decimal(strength),
            price_per_unit=Decimal(price),
            source="Invented tender 2026",
            valid_from=today - timedelta(days=400),
        )

    draft = _gb_request(physician)
    consent_request(actor=physician, request=draft, language="en")  # queued, not rendered
    dossier_request(actor=physician, request=draft)  # queued: no worker runs in this test

    in_review = _gb_request(physician)
    checklist_complete(in_review)  # a rendered and signed consent form
    in_review = request_transition(actor=physician, request=in_review, transition="submit")
    in_review = request_transition(
        actor=pharmacist, request=in_review, transition="start_review", reason="ok"
    )

    approved = approve(_gb_request(physician), physician, pharmacist)
    active = dispense_cycle_one(approve(_gb_request(physician), physician, pharmacist), pharmacist)
    response_assessment_create(
        actor=physician, request=active, assessed_on=today, response="cr", mrd="negative"
    )
    adverse_event_create(
        actor=physician, request=active, **ae_fields(onset_on=today, resolved_on=today)
    )
    adverse_event_create(
        actor=physician,
        request=active,
        **ae_fields(onset_on=today, serious=True, resolved_on=None, outcome="recovering"),
    )
    followup_update(actor=physician, request=active, fields={"last_contact_on": today})
    renewal_report_request(
        actor=physician, request=active, conclusion="Complete remission after one cycle."
    )

    # An Italian request with an application to the hospital drug committee.
    italian = request_create(
        actor=physician,
        patient=_treated_patient(physician, age_years=64, prior_lines=2),
        fields={**REGIMEN, "jurisdiction": "IT"},
    )
    application_create(
        actor=pharmacist, request=italian, body="hospital_drug_committee", prepared_at=today
    )

    # Another hospital's request: every id of it must answer 404.
    other = HospitalFactory.create(name="Another Invented Hospital", code="inv-other")
    foreign_doctor = UserFactory.create(username="dr.foreign", hospital=other, role=Role.PHYSICIAN)
    foreign = request_create(
        actor=foreign_doctor, patient=_treated_patient(foreign_doctor), fields=REGIMEN
    )

    requests = [draft, in_review, approved, active, italian, foreign]
    world = World()
    # knox returns the token string once, at creation; only its hash is stored.
    world.tokens = {
        str(role): AuthToken.objects.create(user=user)[1] for role, user in users.items()
    }
    world.ids = {
        "request": [r.pk for r in requests],
        "patient": [r.patient_id for r in requests],
        "study": list(Study.objects.order_by("pk").values_list("pk", flat=True)[:5]),
        "audit_event": list(
            AuditEvent.objects.order_by("-sequence").values_list("sequence", flat=True)[:5]
        ),
        "checklist_item": _pks(ChecklistItem.objects.filter(request__in=requests)),
        "application": _pks(Application.objects.all()),
        "consent": _pks(ConsentDocument.objects.all()),
        "assessment": _pks(ResponseAssessment.objects.all()),
        "adverse_event": _pks(AdverseEvent.objects.all()),
        "followup": _pks(FollowUp.objects.all()),
        "pv_reminder": _pks(PharmacovigilanceReminder.objects.all()),
        "renewal_report": _pks(RenewalReport.objects.all()),
    }
    world.attachments = list(EvidenceAttachment.objects.values_list("request_id", "pk"))
    return world


@pytest.fixture
def api_world(db: Any) -> Iterator[World]:
    with in_process_requests():
        yield world_seed()


@pytest.fixture(params=ROLES)
def role(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def api_schema_for(world: World) -> Any:
    """The schema, with path ids drawn from the world's rows (and one that exists nowhere)."""
    loaded = api_schema_load({"Authorization": f"Token {world.tokens[Role.PHYSICIAN]}"})

    @loaded.hook
    def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> Any:
        if not path_parameters:
            return st.just(path_parameters)
        path = context.operation.path
        if path.endswith("/attachments/{attachment_id}/") and all(
            isinstance(v, int) for v in path_parameters.values()
        ):
            pairs = [*world.attachments, (world.ids["request"][0], MISSING_ID)]
            return st.sampled_from(pairs).map(lambda p: {"id": p[0], "attachment_id": p[1]})
        strategies: dict[str, Any] = {}
        for name, value in path_parameters.items():
            ids = world.ids.get(_id_kind(path, name))
            if ids and isinstance(value, int):
                strategies[name] = st.sampled_from([*ids, MISSING_ID])
            else:  # a value the schema refuses (negative cases) stays as generated
                strategies[name] = st.just(value)
        return st.fixed_dictionaries(strategies)

    @loaded.hook
    def flatmap_body(context: Any, body: Any) -> Any:
        """Ids inside bodies ("request" of a follow-up record, "patient" of a new request,
        "study" of an attachment) come from the seeded rows too."""
        if not isinstance(body, dict):
            return st.just(body)
        strategies = {
            key: st.sampled_from([*world.ids[BODY_ID_KINDS[key]], MISSING_ID])
            if key in BODY_ID_KINDS and type(value) is int
            else st.just(value)
            for key, value in body.items()
        }
        return st.fixed_dictionaries(strategies)

    return loaded


BODY_ID_KINDS = {"request": "request", "patient": "patient", "study": "study"}


# The first path segment after /api/v1/ (after /followup/ for the registry) names the table.
ID_KINDS = {
    "requests": "request",
    "patients": "patient",
    "studies": "study",
    "audit-events": "audit_event",
    "checklist-items": "checklist_item",
    "applications": "application",
    "consents": "consent",
    "assessments": "assessment",
    "adverse-events": "adverse_event",
    "records": "followup",
    "pv-reminders": "pv_reminder",
    "renewal-reports": "renewal_report",
}


def _id_kind(path: str, name: str) -> str:
    segments = [s for s in path.removeprefix("/api/v1/").split("/") if s]
    if segments[0] == "followup":
        segments = segments[1:]
    return ID_KINDS.get(segments[0], "")


def _operation_run(operation: Any, mode: GenerationMode, headers: dict[str, str]) -> None:
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=FUZZ_SEED is None,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    if FUZZ_SEED is not None:
        run = seed(int(FUZZ_SEED))(run)
    run()


def test_api_conforms_to_its_schema(api_world: World, role: str, subtests: Any) -> None:
    loaded = api_schema_for(api_world)
    headers = {"Authorization": f"Token {api_world.tokens[role]}"}
    operations = [result.ok() for result in loaded.get_all_operations()]
    assert len(operations) >= 60, "the schema lost its operations"
    for operation in operations:
        # Negative cases need something to get wrong: a parameter or a body.
        negatable = bool(operation.body) or any(True for _ in operation.iter_parameters())
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)[: 1 + negatable]:
            with subtests.test(msg=f"{operation.label} ({mode.value})"):
                _operation_run(operation, mode, headers)
