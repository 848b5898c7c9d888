"""Writes for patients, requests, evidence attachments and workflow transitions.

Every write checks who may do it, runs in one transaction and records an audit event in it.
Identifying data never goes into an audit event, a log line or a list: events name the
patient by pseudonym.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import User
from accounts.roles import Role, roles_of
from audit.actions import AuditAction
from audit.services import audit_record, audit_record_changes, model_update_audited
from evidence.models import Study
from evidence.services import study_snapshot
from offlabel.exceptions import ApplicationError, ConflictError, NotVisible
from offlabel.i18n import english
from prescriptions.models import (
    ConcomitantMedication,
    Drug,
    EvidenceAttachment,
    Gene,
    OffLabelRequest,
    Patient,
    PatientIdentity,
    PatientMutation,
    RequestTransition,
)
from prescriptions.policies import (
    acts_as_prescriber,
    prescriber_rule_met,
    request_lock_for_change,
    require_role,
    require_same_hospital,
    same_hospital,
)
from prescriptions.profile import PROFILE_FIELDS, profile_as_data
from prescriptions.selectors import (
    PatientMatch,
    PickerRow,
    patient_is_treated_by,
    patient_matches,
)
from prescriptions.workflow import TRANSITIONS, requirements_unmet

REQUEST_FIELDS = (
    "regimen",
    "regimen_other",
    "ven_target_dose_mg",
    "ramp_up",
    "ramp_up_custom",
    "cycles_planned",
    "cycle_length_days",
    "clinical_rationale",
    "lay_summary",
    "jurisdiction",
)  # the pathway, and whether it needs an outside decision, are set by choosing a pathway
# What a concomitant medication row holds, in the order the API shows it.
MEDICATION_FIELD_NAMES = (
    "drug_name",
    "interaction",
    "also_pgp_inhibitor",
    "dose_text",
    "ongoing",
    "started_on",
    "stopped_on",
)
MEDICATION_FIELDS = frozenset(MEDICATION_FIELD_NAMES)
_PSEUDONYM_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no 0/O, 1/I/L: read aloud safely


# What other apps do when a request's clinical inputs change (the pharmacy records a new
# treatment plan version). Registered by those apps at start-up, so this module needs none of
# them: the dependency points from the pharmacy to the requests, never back.
InputsChanged = Callable[..., None]
_INPUTS_CHANGED: list[InputsChanged] = []


def inputs_changed_register(hook: InputsChanged) -> InputsChanged:
    _INPUTS_CHANGED.append(hook)
    return hook


def inputs_changed(*, actor: User | None, requests: Iterable[OffLabelRequest]) -> None:
    """Tell the registered apps that these requests' inputs may have changed (same transaction)."""
    for request in requests:
        for hook in _INPUTS_CHANGED:
            hook(actor=actor, request=request)


def _open_requests_of(patient: Patient) -> list[OffLabelRequest]:
    return list(
        OffLabelRequest.objects.filter(patient=patient).exclude(
            status__in=OffLabelRequest.CLOSED_STATES
        )
    )


def _pseudonym_new(hospital_id: int) -> str:
    while True:
        code = "".join(secrets.choice(_PSEUDONYM_ALPHABET) for _ in range(8))
        pseudonym = f"PT-{code[:4]}-{code[4:]}"
        if not Patient.objects.filter(hospital_id=hospital_id, pseudonym=pseudonym).exists():
            return pseudonym


# --- Patients --------------------------------------------------------------------------------


def _profile_apply(patient: Patient, profile: dict[str, Any]) -> None:
    for name, value in profile.items():
        if name not in PROFILE_FIELDS:
            raise ApplicationError(
                gettext("%(name)s is not a profile field.") % {"name": repr(name)}
            )
        setattr(patient, name, value)


def _mutations_set(patient: Patient, mutations: dict[str, str] | None) -> None:
    wanted = {gene.value: PatientMutation.Status.NOT_TESTED.value for gene in Gene}
    existing = {m.gene: m for m in patient.mutations.all()}
    wanted.update({gene: m.status for gene, m in existing.items()})
    for gene, status in (mutations or {}).items():
        if gene not in wanted:
            raise ApplicationError(
                gettext("Unknown gene %(gene)s.") % {"gene": repr(gene)},
                extra={"field": "mutations"},
            )
        if status not in PatientMutation.Status.values:
            raise ApplicationError(
                gettext("Unknown mutation status %(status)s for %(gene)s.")
                % {"status": repr(status), "gene": gene},
                extra={"field": "mutations"},
            )
        wanted[gene] = status
    for gene, status in wanted.items():
        if gene in existing:
            if existing[gene].status != status:
                existing[gene].status = status
                existing[gene].save(update_fields=["status"])
        else:
            PatientMutation.objects.create(patient=patient, gene=gene, status=status)


def _medications_set(patient: Patient, medications: list[dict[str, Any]] | None) -> None:
    if medications is None:
        return
    patient.medications.all().delete()
    for i, item in enumerate(medications):
        unknown = set(item) - MEDICATION_FIELDS
        if unknown:
            raise ApplicationError(
                gettext("%(name)s is not a medication field.")
                % {"name": ", ".join(sorted(unknown))},
                extra={"field": "medications"},
            )
        medication = ConcomitantMedication(patient=patient, **item)
        try:
            medication.full_clean(exclude=["patient"])
        except ValidationError as exc:
            raise ApplicationError(
                f"{medication.drug_name}: {' '.join(exc.messages)}",
                extra={"field": "medications", "row": i, "errors": exc.message_dict},
            ) from exc
        medication.save()


class DuplicatePatient(ConflictError):
    """The hospital already has a patient with this identity: offered instead of a second
    record (``matches``), unless the user confirms that this is a different person."""

    def __init__(self, matches: list[PatientMatch]) -> None:
        super().__init__(
            gettext(
                "A patient with the same tax / health-card number, or the same name and date "
                "of birth, is already recorded in your hospital (%(pseudonyms)s). Use that "
                "patient, or confirm that this is a different person."
            )
            % {"pseudonyms": ", ".join(m.patient.pseudonym for m in matches)},
            extra={
                "field": "identity",
                "duplicates": [
                    {
                        "patient": m.patient.pk,
                        "pseudonym": m.patient.pseudonym,
                        "matched_on": m.matched_on,
                        "treated_by_you": m.treated_by_you,
                        "draft": m.draft.pk if m.draft else None,
                    }
                    for m in matches
                ],
            },
        )
        self.matches = matches


@transaction.atomic
def patient_create(
    *,
    actor: User,
    profile: dict[str, Any],
    mutations: dict[str, str] | None = None,
    medications: list[dict[str, Any]] | None = None,
    identity: dict[str, Any] | None = None,
    check_duplicates: bool = False,
    confirm_different_person: bool = False,
) -> Patient:
    """A new patient of the actor's hospital, with the actor as treating physician.

    The page and the API require the identifying data (``identity``) and ask for
    ``check_duplicates``: a patient of the hospital with the same number, or name and date of
    birth, then raises ``DuplicatePatient`` unless the user confirmed a different person, so
    the browser's Back button, or a colleague who already recorded the patient, does not make a
    second record of one person. (Loaders of invented data, the benchmarks and the tests'
    factories create their patients directly.)"""
    require_role(actor, Role.PHYSICIAN)
    assert actor.hospital_id is not None
    matches: list[PatientMatch] = []
    if identity:
        identity = _identity_clean(identity)
        if check_duplicates:
            matches = patient_matches(user=actor, identity=identity)
        if matches and not confirm_different_person:
            raise DuplicatePatient(matches)
    patient = Patient(
        hospital_id=actor.hospital_id, created_by=actor, pseudonym=_pseudonym_new(actor.hospital_id)
    )
    _profile_apply(patient, profile)
    patient.full_clean()
    patient.save()
    patient.treating_physicians.add(actor)
    _mutations_set(patient, mutations)
    _medications_set(patient, medications)
    if identity:
        _identity_save(patient, identity)
    audit_record(
        actor=actor,
        action=AuditAction.PATIENT_CREATED,
        target=patient,
        summary=f"Created patient {patient.pseudonym}"
        + (" with identifying data" if identity else "")
        + (
            " (confirmed a different person from "
            + ", ".join(m.patient.pseudonym for m in matches)
            + ")"
            if matches
            else ""
        ),
        after={
            **profile_as_data(patient),
            **({"not_a_duplicate_of": [m.patient.pseudonym for m in matches]} if matches else {}),
        },
    )
    return patient


@transaction.atomic
def patient_treating_physician_join(
    *, actor: User, patient_id: int, identity: dict[str, Any]
) -> Patient:
    """The user chose an already recorded patient that the identity they typed matches: they
    become one of its treating physicians (audited). Only a patient that this identity
    matches: a patient id alone gives access to nobody's record."""
    require_role(actor, Role.PHYSICIAN)
    match = next(
        (
            m
            for m in patient_matches(user=actor, identity=_identity_clean(identity))
            if m.patient.pk == patient_id
        ),
        None,
    )
    if match is None:
        raise NotVisible(gettext("Not found."))
    patient = match.patient
    if not match.treated_by_you:
        patient.treating_physicians.add(actor)
        audit_record(
            actor=actor,
            action=AuditAction.PATIENT_TREATING_PHYSICIAN_ADDED,
            target=patient,
            summary=f"{actor.get_username()} added to the treating physicians of "
            f"{patient.pseudonym} (identity matched on {match.matched_on.replace('_', ' ')})",
            after={"physician": actor.get_username(), "matched_on": match.matched_on},
        )
    return patient


def patient_picker_audit(*, actor: User, rows: list[PickerRow]) -> None:
    """One audit event for a list that showed identifying data (the "One of my patients"
    picker): which patients' identities were shown, never the values."""
    shown = [row.patient.pseudonym for row in rows if row.identity is not None]
    if not shown:
        return
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.PATIENT_IDENTITY_LISTED,
            object_type=Patient._meta.label_lower,
            summary=f"Identity of {len(shown)} patient(s) shown in the patient picker",
            after={"patients": shown},
        )


def _patient_for_update(actor: User, patient_id: int) -> Patient:
    patient = Patient.objects.select_for_update().get(pk=patient_id)
    require_same_hospital(actor, patient.hospital_id)
    require_role(actor, Role.PHYSICIAN)
    if not patient_is_treated_by(patient, actor):
        raise ApplicationError(
            gettext("Only a treating physician of this patient can change the profile.")
        )
    # Under review or in treatment: neither being edited by its prescriber nor closed.
    if patient.requests.exclude(
        status__in=[*OffLabelRequest.EDITABLE_STATES, *OffLabelRequest.CLOSED_STATES]
    ).exists():
        raise ApplicationError(
            gettext(
                "This patient has a request under review or in treatment; the profile it was "
                "judged on cannot change now. Ask the pharmacist to request changes first."
            )
        )
    return patient


@transaction.atomic
def patient_update(
    *,
    actor: User,
    patient: Patient,
    profile: dict[str, Any],
    mutations: dict[str, str] | None = None,
    medications: list[dict[str, Any]] | None = None,
) -> Patient:
    patient = _patient_for_update(actor, patient.pk)
    before = profile_as_data(patient)
    _profile_apply(patient, profile)
    patient.full_clean()
    patient.save()
    _mutations_set(patient, mutations)
    _medications_set(patient, medications)
    audit_record_changes(
        actor=actor,
        action=AuditAction.PATIENT_UPDATED,
        target=patient,
        summary_prefix=f"Updated profile of {patient.pseudonym}",
        before=before,
        after=profile_as_data(patient),
    )
    inputs_changed(actor=actor, requests=_open_requests_of(patient))
    return patient


IDENTITY_FIELDS = ("given_name", "family_name", "date_of_birth", "national_id")


def _identity_clean(identity: dict[str, Any]) -> dict[str, Any]:
    return {
        name: value.strip() if isinstance(value, str) else value
        for name, value in identity.items()
        if name in IDENTITY_FIELDS
    }


def _identity_save(patient: Patient, identity: dict[str, Any]) -> PatientIdentity:
    record = PatientIdentity.objects.filter(patient=patient).first() or PatientIdentity(
        patient=patient
    )
    for name, value in _identity_clean(identity).items():
        setattr(record, name, value)
    try:
        record.full_clean()
    except ValidationError as exc:
        raise ApplicationError(
            " ".join(exc.messages),
            extra={"fields": exc.message_dict if hasattr(exc, "error_dict") else {}},
        ) from exc
    record.save()
    return record


def identity_may_read(actor: User, patient: Patient) -> bool:
    if not same_hospital(actor, patient.hospital_id):
        return False
    roles = roles_of(actor)
    if Role.PHARMACIST in roles:
        return True
    return Role.PHYSICIAN in roles and patient_is_treated_by(patient, actor)


def identity_may_correct(actor: User, patient: Patient) -> bool:
    """The patient's treating physicians (a pharmacist reads identifying data, never writes
    it)."""
    return identity_may_read(actor, patient) and Role.PHYSICIAN in roles_of(actor)


@transaction.atomic
def patient_identity_set(*, actor: User, patient: Patient, identity: dict[str, Any]) -> list[str]:
    """Record or correct a patient's identifying data; returns the names of the fields that
    changed. A correction is audited with the fields' names (never their values), and the
    consent forms that carried the old identity are superseded in the same transaction."""
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    if not identity_may_correct(actor, patient):
        raise NotVisible(
            gettext("Only the patient's treating physicians can record identifying data.")
        )
    identity = _identity_clean(identity)
    others = [
        m
        for m in patient_matches(user=actor, identity=identity, exclude_patient_id=patient.pk)
        if m.matched_on == "national_id"
    ]
    if others:
        raise ApplicationError(
            gettext(
                "Another patient of your hospital (%(pseudonyms)s) has this tax / health-card "
                "number: check the number."
            )
            % {"pseudonyms": ", ".join(m.patient.pseudonym for m in others)},
            extra={"field": "national_id"},
        )
    existing = PatientIdentity.objects.filter(patient=patient).first()
    before = {name: getattr(existing, name) for name in IDENTITY_FIELDS} if existing else {}
    record = _identity_save(patient, identity)
    changed = [name for name in IDENTITY_FIELDS if before.get(name) != getattr(record, name)]
    # The values themselves never enter the audit trail: the fields' names do.
    if existing is None:
        audit_record(
            actor=actor,
            action=AuditAction.PATIENT_IDENTITY_RECORDED,
            target=patient,
            summary=f"Identifying data of {patient.pseudonym} recorded",
        )
    elif changed:
        audit_record(
            actor=actor,
            action=AuditAction.PATIENT_IDENTITY_CORRECTED,
            target=patient,
            summary=f"Identifying data of {patient.pseudonym} corrected: "
            + ", ".join(name.replace("_", " ") for name in changed),
            after={"fields": changed},
        )
    if changed:
        # The consent forms print the name: a changed identity supersedes them in this write.
        inputs_changed(actor=actor, requests=_open_requests_of(patient))
    return changed


@dataclass(frozen=True)
class IdentityRead:
    """The answer to one attempt to read a patient's identifying data."""

    allowed: bool
    patient: Patient | None
    identity: PatientIdentity | None


def patient_identity_read(*, actor: User, patient_id: int, purpose: str = "view") -> IdentityRead:
    """Read a patient's identifying record: every read, and every refused attempt (another
    physician's patient, another hospital's, a role that may not, an id that does not exist),
    is an audit event.

    A refusal is returned, not raised: under ``ATOMIC_REQUESTS`` a raised refusal would roll
    its own audit event back. The caller answers 404 for ``allowed=False``, the same for a
    patient that exists and one that does not."""
    patient = Patient.objects.select_related("hospital").filter(pk=patient_id).first()
    allowed = patient is not None and identity_may_read(actor, patient)
    with transaction.atomic():
        if patient is None:
            audit_record(
                actor=actor,
                action=AuditAction.PATIENT_IDENTITY_READ_REFUSED,
                object_type=Patient._meta.label_lower,
                object_id=patient_id,
                summary=f"Refused access to identity of unknown patient #{patient_id} ({purpose})",
            )
        else:
            audit_record(
                actor=actor,
                target=patient,
                # The patient's hospital keeps the trail of who tried to read its patients.
                hospital=patient.hospital,
                action=AuditAction.PATIENT_IDENTITY_READ
                if allowed
                else AuditAction.PATIENT_IDENTITY_READ_REFUSED,
                summary=(
                    f"Identity of {patient.pseudonym} read ({purpose})"
                    if allowed
                    else f"Refused access to identity of {patient.pseudonym} ({purpose})"
                ),
            )
    if not allowed:
        return IdentityRead(allowed=False, patient=None, identity=None)
    return IdentityRead(
        allowed=True,
        patient=patient,
        identity=PatientIdentity.objects.filter(patient=patient).first(),
    )


# --- Requests --------------------------------------------------------------------------------


def _fields_check(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields, if each may be set on a request (else the first that may not is named)."""
    for name in fields:
        if name not in REQUEST_FIELDS:
            raise ApplicationError(
                gettext("%(name)s cannot be set on a request.") % {"name": repr(name)}
            )
    return fields


def drug_default() -> Drug:
    """Venetoclax, the product's first drug (the migration creates it; a flushed database too)."""
    return Drug.objects.get_or_create(name="venetoclax", defaults={"atc_code": "L01XX52"})[0]


@transaction.atomic
def request_create(
    *, actor: User, patient: Patient, fields: dict[str, Any] | None = None, drug: Drug | None = None
) -> OffLabelRequest:
    require_role(actor, Role.PHYSICIAN)
    require_same_hospital(actor, patient.hospital_id)
    if not patient_is_treated_by(patient, actor):
        raise ApplicationError(
            gettext("Only a treating physician of this patient can request for them.")
        )
    request = OffLabelRequest(
        hospital_id=patient.hospital_id,
        patient=patient,
        prescriber=actor,
        drug=drug or drug_default(),
    )
    for name, value in _fields_check(fields or {}).items():
        setattr(request, name, value)
    request.full_clean()
    request.save()
    audit_record(
        actor=actor,
        action=AuditAction.REQUEST_CREATED,
        target=request,
        summary=f"{request.reference} drafted for {patient.pseudonym}",
        after={k: getattr(request, k) for k in REQUEST_FIELDS},
    )
    inputs_changed(actor=actor, requests=[request])
    return request


def _version_next(request: OffLabelRequest) -> None:
    request.version += 1


@transaction.atomic
def request_update(
    *,
    actor: User,
    request: OffLabelRequest,
    fields: dict[str, Any],
    expected_version: int | None = None,
) -> OffLabelRequest:
    request = request_lock_for_change(actor, request.pk, expected_version=expected_version)
    if not acts_as_prescriber(actor, request):
        raise ApplicationError(gettext("Only the prescriber can edit this request."))
    if not request.is_editable():
        raise ApplicationError(
            gettext(
                "%(reference)s is '%(status)s': it can be edited only as a draft or when the "
                "pharmacist has requested changes."
            )
            % {"reference": request.reference, "status": request.get_status_display()}
        )
    model_update_audited(
        request,
        fields=REQUEST_FIELDS,
        data=_fields_check(fields),
        actor=actor,
        action=AuditAction.REQUEST_UPDATED,
        summary_prefix=f"{request.reference} edited",
        strip=False,
        before_save=_version_next,
    )
    inputs_changed(actor=actor, requests=[request])
    return request


@transaction.atomic
def request_transition(
    *,
    actor: User,
    request: OffLabelRequest,
    transition: str,
    reason: str = "",
    expected_version: int | None = None,
    automatic: bool = False,
) -> OffLabelRequest:
    """Move a request to its next state, or refuse with a clear message.

    The row is locked first, so of two people acting at once one wins and the other gets a
    ConflictError: never a double transition.
    """
    spec = TRANSITIONS.get(transition)
    if spec is None:
        raise ApplicationError(gettext("Unknown action %(action)s.") % {"action": repr(transition)})
    if not spec.manual and not automatic:
        raise ApplicationError(
            gettext(
                "'%(action)s' happens by itself when cycle 1 is dispensed on the pharmacy page."
            )
            % {"action": spec.label}
        )
    request = request_lock_for_change(actor, request.pk, expected_version=expected_version)
    require_role(
        actor,
        *spec.roles,
        message=gettext("You cannot %(action)s: your role does not allow it.")
        % {"action": spec.label.lower()},
    )
    if spec.prescriber_only and not prescriber_rule_met(actor, request, spec.roles):
        raise ApplicationError(
            gettext("Only the prescriber can %(action)s.") % {"action": spec.label.lower()}
        )
    if request.status not in spec.sources:
        last = request.transitions.select_related("actor").last()
        facts = {
            "action": spec.label.lower(),
            "reference": request.reference,
            "status": request.get_status_display(),
        }
        raise ConflictError(
            gettext("Cannot %(action)s: %(reference)s is now '%(status)s' by %(who)s at %(time)s.")
            % {
                **facts,
                "who": last.actor.get_username(),
                "time": f"{timezone.localtime(last.occurred_at):%H:%M}",
            }
            if last
            else gettext("Cannot %(action)s: %(reference)s is now '%(status)s'.") % facts,
            extra={"status": request.status, "version": request.version},
        )
    reason = reason.strip()
    if spec.reason_required and not reason:
        raise ApplicationError(
            gettext("Please give a reason to %(action)s.") % {"action": spec.label.lower()},
            extra={"field": "reason"},
        )
    unmet = requirements_unmet(request, transition)
    if unmet:
        raise ApplicationError(
            gettext("Cannot %(action)s yet: %(unmet)s.")
            % {"action": spec.label.lower(), "unmet": "; ".join(unmet)},
            extra={"unmet": unmet},
        )
    now = timezone.now()
    before = request.status
    request.status = spec.target
    request.status_changed_at = now
    request.version += 1
    if transition in {"submit", "resubmit"}:
        request.submitted_at = now
        request.profile_snapshot = profile_as_data(request.patient)
    request.save()
    RequestTransition.objects.create(
        request=request,
        from_status=before,
        to_status=spec.target,
        actor=actor,
        reason=reason,
        occurred_at=now,
    )
    audit_record(
        actor=actor,
        action=spec.audit_action,
        target=request,
        summary=f"{request.reference}: {english(spec.label)}" + (f" — {reason}" if reason else ""),
        before={"status": before},
        after={"status": spec.target, "reason": reason},
    )
    return request


@transaction.atomic
def request_discard(
    *, actor: User, request: OffLabelRequest, expected_version: int | None = None
) -> OffLabelRequest:
    """The prescriber throws away a draft that was never submitted: it is kept, with an audit
    event, and shown nowhere. A submitted request is withdrawn with a reason instead."""
    request = request_lock_for_change(actor, request.pk, expected_version=expected_version)
    if not acts_as_prescriber(actor, request):
        raise ApplicationError(gettext("Only the prescriber can discard this draft."))
    if not request.is_discardable():
        raise ApplicationError(
            gettext(
                "%(reference)s has been submitted: it cannot be discarded, only withdrawn with "
                "a reason."
            )
            % {"reference": request.reference}
        )
    now = timezone.now()
    claimed = OffLabelRequest.objects.filter(
        pk=request.pk,
        status=OffLabelRequest.Status.DRAFT,
        submitted_at__isnull=True,
        discarded_at__isnull=True,
    ).update(discarded_at=now, discarded_by=actor, version=request.version + 1, updated_at=now)
    if claimed != 1:
        raise ConflictError(gettext("This draft has already been discarded."))
    request.refresh_from_db()
    audit_record(
        actor=actor,
        action=AuditAction.REQUEST_DISCARDED,
        target=request,
        summary=f"{request.reference}: draft for {request.patient.pseudonym} discarded",
        before={"status": request.status},
        after={"discarded": True},
    )
    return request


# --- Evidence attachments --------------------------------------------------------------------


def _request_editable_by(actor: User, request: OffLabelRequest) -> OffLabelRequest:
    request = request_lock_for_change(actor, request.pk)
    if not acts_as_prescriber(actor, request):
        raise ApplicationError(
            gettext("Only the prescriber can change the evidence attached to this request.")
        )
    if not request.is_editable():
        raise ApplicationError(
            gettext("%(reference)s is '%(status)s': its evidence is frozen.")
            % {"reference": request.reference, "status": request.get_status_display()}
        )
    return request


@transaction.atomic
def evidence_attach(
    *,
    actor: User,
    request: OffLabelRequest,
    study: Study,
    note: str = "",
    rank: int | None = None,
    reasons: list[str] | None = None,
) -> EvidenceAttachment:
    request = _request_editable_by(actor, request)
    if request.attachments.filter(study=study).exists():
        raise ApplicationError(
            gettext("%(study)s is already attached to %(reference)s.")
            % {"study": study, "reference": request.reference},
            extra={"field": "study"},
        )
    attachment = EvidenceAttachment.objects.create(
        request=request,
        study=study,
        note=note.strip(),
        snapshot=study_snapshot(study),
        rank_when_attached=rank,
        # A record, like the audit trail: in English whatever language the physician reads
        # (a ranking's reasons keep their English words, evidence.ranking.Reason).
        reasons_when_attached=[getattr(r, "english", r) for r in reasons or []],
        attached_by=actor,
    )
    request.version += 1
    request.save(update_fields=["version", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.REQUEST_EVIDENCE_ATTACHED,
        target=request,
        summary=f"{request.reference}: attached {study}" + (f" (rank {rank})" if rank else ""),
        after={"study_id": study.pk, "note": attachment.note, "rank": rank},
    )
    inputs_changed(actor=actor, requests=[request])  # the consent form prints the evidence
    return attachment


@transaction.atomic
def evidence_detach(*, actor: User, attachment: EvidenceAttachment) -> None:
    request = _request_editable_by(actor, attachment.request)
    label = str(attachment)
    study_id = attachment.study_id
    attachment.delete()
    request.version += 1
    request.save(update_fields=["version", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.REQUEST_EVIDENCE_DETACHED,
        target=request,
        summary=f"{request.reference}: removed {label}",
        before={"study_id": study_id},
    )
    inputs_changed(actor=actor, requests=[request])  # the consent form prints the evidence
