"""Writes: choosing a pathway (which builds the checklist), attesting, uploading, editing rules,
and tracking applications to outside bodies. Every write is audited in its transaction."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from accounts.models import User
from accounts.roles import Role, is_rule_steward, roles_of
from audit.actions import AuditAction
from audit.services import audit_record, audit_record_changes
from offlabel.dates import date_is_future
from offlabel.exceptions import ApplicationError, ConflictError
from offlabel.i18n import (
    english,
    items_translations_carried,
    localized,
    translations_carried,
)
from offlabel.uploads import pdf_validate
from pharmacy.selectors import plan_version_latest
from prescriptions.models import OffLabelRequest
from prescriptions.policies import (
    prescriber_rule_met,
    request_lock_for_change,
    require_role,
    require_same_hospital,
)
from prescriptions.services import inputs_changed
from regulatory.attestations import (
    attested_inputs,
    attested_inputs_changes_label,
    attested_inputs_digest,
    attested_inputs_summary,
)
from regulatory.models import (
    ATTESTER_LABELS,
    Application,
    ApplicationDocument,
    ChecklistItem,
    LocalChecklistItem,
    Pathway,
    PathwayChoice,
    PathwayVersion,
)
from regulatory.routing import NOT_APPLICABLE, Routing, route
from regulatory.rules import (
    MET,
    checklist_validate,
    criteria_validate,
    evaluate,
    facts_for,
    verified_on_validate,
)
from signatures.meanings import Meaning
from signatures.models import SignatureAction
from signatures.services import act_meaning


def _routing_in_english(request: OffLabelRequest, routing: Routing) -> dict[str, Any]:
    if (translation.get_language() or "en").startswith("en"):
        return routing.as_data()
    with translation.override("en"):
        return route(request).as_data()


# --- Choosing a pathway --------------------------------------------------------------------------


@transaction.atomic
def pathway_choose(
    *, actor: User, request: OffLabelRequest, pathway_code: str, reason: str = ""
) -> ChecklistItem | None:
    """Follow a pathway: the checklist is built from its current version. Choosing another
    pathway than the recommended one needs a written reason (audited)."""
    request = request_lock_for_change(actor, request, related=("patient", "drug"))
    if request.prescriber_id != actor.pk:
        raise ApplicationError(gettext("Only the prescriber chooses the pathway."))
    if not request.is_editable():
        raise ApplicationError(
            gettext("%(reference)s is '%(status)s': its pathway is fixed.")
            % {"reference": request.reference, "status": request.get_status_display()}
        )
    routing = route(request)
    chosen = routing.by_code(pathway_code)
    if chosen is None:
        raise ApplicationError(
            gettext("No pathway %(code)s in %(jurisdiction)s.")
            % {"code": repr(pathway_code), "jurisdiction": request.get_jurisdiction_display()},
            extra={"field": "pathway"},
        )
    if chosen.status == NOT_APPLICABLE:
        raise ApplicationError(
            gettext("%(pathway)s cannot apply to this request. %(why)s")
            % {"pathway": chosen.name, "why": chosen.why},
            extra={"field": "pathway"},
        )
    recommended = routing.recommended
    followed = recommended is not None and recommended.pathway_code == pathway_code
    reason = reason.strip()
    if not followed and len(reason) < 10:
        raise ApplicationError(
            (
                gettext("%(pathway)s is recommended: please write why you choose this one instead.")
                % {"pathway": recommended.name}
                if recommended
                else gettext(
                    "Another pathway is recommended: please write why you choose this one instead."
                )
            ),
            extra={"field": "reason"},
        )
    version = PathwayVersion.objects.get(pk=chosen.version_id)
    PathwayChoice.objects.filter(request=request).delete()
    request.checklist.all().delete()
    PathwayChoice.objects.create(
        request=request,
        pathway_version=version,
        recommended_code=recommended.pathway_code if recommended else "",
        followed_recommendation=followed,
        reason=reason,
        # Stored: the routing in English, whatever language the prescriber reads.
        routing_snapshot=_routing_in_english(request, routing),
        chosen_by=actor,
    )
    ChecklistItem.objects.bulk_create(
        ChecklistItem(
            request=request,
            pathway_version=version,
            order=i,
            code=item["code"],
            text=item["text"],
            kind=item["kind"],
            required=item.get("required", True),
            rule=item.get("rule"),
            attesters=item.get("attesters", []),
            document_type=item.get("document_type", ""),
            source=item.get("source", ""),
            translations=item.get("i18n") or {},
        )
        for i, item in enumerate(version.checklist, start=1)
    )
    # The hospital's own stricter items come after the national ones, always required (issue 14).
    local_items = list(
        LocalChecklistItem.objects.filter(
            hospital_id=request.hospital_id, pathway_id=version.pathway_id, active=True
        ).select_related("hospital")
    )
    ChecklistItem.objects.bulk_create(
        ChecklistItem(
            request=request,
            pathway_version=version,
            order=len(version.checklist) + i,
            code=local.code,
            text=local.text,
            kind=local.kind,
            required=True,
            attesters=local.attesters,
            document_type="local" if local.kind == LocalChecklistItem.Kind.DOCUMENT else "",
            source=f"{local.hospital.name} (local): {local.reason}"[:300],
            local_item=local,
        )
        for i, local in enumerate(local_items, start=1)
    )
    request.pathway = version.name[:60]
    request.needs_outside_authorisation = version.needs_outside_authorisation
    request.version += 1
    request.save(update_fields=["pathway", "needs_outside_authorisation", "version", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.REQUEST_PATHWAY_CHOSEN,
        target=request,
        summary=f"{request.reference}: pathway {version}"
        + (
            ""
            if followed
            # The record is English: the recommended pathway's English name, not the reader's.
            else " instead of the recommended "
            + (PathwayVersion.objects.get(pk=recommended.version_id).name if recommended else "—")
            + f": {reason}"
        ),
        after={
            "pathway": pathway_code,
            "version": version.version,
            "recommended": recommended.pathway_code if recommended else None,
            "reason": reason,
            "local_items": [local.code for local in local_items],
        },
    )
    return None


# --- Checklist -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemState:
    item: ChecklistItem
    holds: bool
    because: str


def checklist_state(request: OffLabelRequest) -> list[ItemState]:
    facts = facts_for(request)
    states = []
    for item in request.checklist.select_related("attested_by", "uploaded_by"):
        if item.kind == ChecklistItem.Kind.AUTOMATIC:
            outcome = evaluate(item.rule or {"const": False, "because": gettext("no rule")}, facts)
            states.append(ItemState(item, outcome.result == MET, outcome.because))
        elif item.kind == ChecklistItem.Kind.ATTESTATION:
            holds = item.attested_by_id is not None
            states.append(ItemState(item, holds, _attestation_state(item)))
        else:
            holds = bool(item.document)
            states.append(
                ItemState(
                    item,
                    holds,
                    gettext("%(document)s uploaded") % {"document": item.document_name}
                    if holds
                    else gettext("no document uploaded yet"),
                )
            )
    return states


def _attestation_state(item: ChecklistItem) -> str:
    """Who attested, when, and on what (issue 15); or why it is no longer attested."""
    if item.attested_by is not None and item.attested_at is not None:
        attested = gettext("attested by %(who)s on %(when)s") % {
            "who": item.attested_by.get_full_name() or item.attested_by.username,
            "when": date_format(timezone.localtime(item.attested_at), "SHORT_DATETIME_FORMAT"),
        }
        on_what = attested_inputs_summary(item.attested_inputs)
        return f"{attested} — {on_what}" if on_what else attested
    if item.withdrawn_at is not None:
        return gettext("withdrawn on %(when)s because the %(changes)s changed: attest it again") % {
            "when": date_format(timezone.localtime(item.withdrawn_at), "SHORT_DATETIME_FORMAT"),
            "changes": attested_inputs_changes_label(item.withdrawn_changes or []),
        }
    return gettext("not attested yet")


def checklist_unmet(request: OffLabelRequest) -> list[str]:
    return [
        f"{localized(s.item, 'text')} ({s.because})"  # in the reader's language, like because
        for s in checklist_state(request)
        if s.item.required and not s.holds
    ]


_ROLE_FOR_ATTESTER = {
    "physician": Role.PHYSICIAN,
    "pharmacist": Role.PHARMACIST,
    "committee_secretary": Role.COMMITTEE_SECRETARY,
}


def plan_version_number(request: Any) -> int | None:
    latest = plan_version_latest(request)
    return latest.number if latest is not None else None


@transaction.atomic
def checklist_attest(*, actor: User, item: ChecklistItem, note: str = "") -> ChecklistItem:
    item = ChecklistItem.objects.select_for_update().select_related("request").get(pk=item.pk)
    require_same_hospital(actor, item.request.hospital_id)
    if item.kind != ChecklistItem.Kind.ATTESTATION:
        raise ApplicationError(gettext("This item is not an attestation."))
    allowed = {_ROLE_FOR_ATTESTER[a] for a in item.attesters if a in _ROLE_FOR_ATTESTER}
    if not allowed & roles_of(actor):
        who = ", ".join(str(ATTESTER_LABELS.get(a, a)) for a in item.attesters)
        raise ApplicationError(
            gettext("Only a %(who)s can attest: %(item)s")
            % {"who": who, "item": localized(item, "text")}
        )
    if not prescriber_rule_met(actor, item.request, allowed):
        raise ApplicationError(gettext("Only the prescriber can attest this for the request."))
    if item.attested_by_id is not None:
        raise ConflictError(
            gettext("Already attested by %(who)s.")
            % {"who": item.attested_by.username if item.attested_by else gettext("someone")}
        )
    # The attestation is made on the request as it stands: record (or refresh) its plan version
    # first, then what it attests (issue 15): a later change to these inputs withdraws it.
    inputs_changed(actor=actor, requests=[item.request])
    item.attested_plan_version = plan_version_number(item.request)
    item.attested_inputs = attested_inputs(item.request)
    item.attested_inputs_sha256 = attested_inputs_digest(item.attested_inputs)
    item.attested_by, item.attested_at, item.note = actor, timezone.now(), note.strip()
    item.withdrawn_at, item.withdrawn_changes = None, []
    item.save(
        update_fields=[
            "attested_by",
            "attested_at",
            "note",
            "attested_plan_version",
            "attested_inputs",
            "attested_inputs_sha256",
            "withdrawn_at",
            "withdrawn_changes",
        ]
    )
    audit_record(
        actor=actor,
        action=AuditAction.CHECKLIST_ATTESTED,
        target=item.request,
        summary=f"{item.request.reference}: attested '{item.text}'"
        + (f" on plan v{item.attested_plan_version}" if item.attested_plan_version else "")
        + (
            f" ({english(lambda: attested_inputs_summary(item.attested_inputs))})"
            if item.attested_inputs
            else ""
        ),
        after={
            "item": item.code,
            "note": item.note,
            "plan_version": item.attested_plan_version,
            "inputs": item.attested_inputs,
            "inputs_sha256": item.attested_inputs_sha256,
        },
    )
    return item


@transaction.atomic
def checklist_upload(*, actor: User, item: ChecklistItem, upload: UploadedFile) -> ChecklistItem:
    item = ChecklistItem.objects.select_for_update().select_related("request").get(pk=item.pk)
    require_same_hospital(actor, item.request.hospital_id)
    if item.kind != ChecklistItem.Kind.DOCUMENT:
        raise ApplicationError(gettext("This item takes no document."))
    require_role(
        actor,
        Role.PHARMACIST,
        Role.PHYSICIAN,
        Role.COMMITTEE_SECRETARY,
        message=gettext("Your role cannot upload checklist documents."),
    )
    data = pdf_validate(upload)
    digest = hashlib.sha256(data).hexdigest()
    replaced = {"name": item.document_name, "sha256": item.document_sha256}
    old_file = item.document.name if item.document else ""
    item.document.save(f"{item.request.reference}-{item.code}.pdf", ContentFile(data), save=False)
    item.document_name, item.document_sha256 = upload.name or "document.pdf", digest
    item.uploaded_by, item.uploaded_at = actor, timezone.now()
    item.save()
    if old_file and old_file != item.document.name:
        # The replaced file leaves storage once the new one is committed (its name and hash
        # stay in the audit trail): no orphan file, and a rollback keeps the old one.
        storage = item.document.storage
        transaction.on_commit(lambda: storage.delete(old_file))
    audit_record(
        actor=actor,
        action=AuditAction.CHECKLIST_DOCUMENT_UPLOADED,
        target=item.request,
        summary=f"{item.request.reference}: uploaded '{item.document_name}' for '{item.text}'",
        before=replaced if old_file else None,
        after={"item": item.code, "sha256": digest},
    )
    return item


# --- Editing the national rules (stewards) and a hospital's local items --------------------------
# Issue 14: the national rules are shared by every hospital, so no hospital's officer edits them;
# a steward (above hospitals) does, and every hospital the change affects finds it in its own
# audit trail. A hospital adds its own stricter checklist items, which only add requirements.

EDITABLE_VERSION_FIELDS = (
    "name",
    "summary",
    "legal_source",
    "verified_on",
    "confirmed",
    "unconfirmed_note",
    "reimbursement",
    "authorising_body",
    "needs_outside_authorisation",
    "criteria",
    "checklist",
)


class NationalRulesRefused(PermissionDenied):
    """A 403. Its audit event is already committed (or in the caller's request transaction):
    a page or API view returns the refusal as a response instead of letting it propagate, so
    ``ATOMIC_REQUESTS`` does not roll the event back with the request."""


def national_rules_refusal_record(*, actor: User, pathway: Pathway, via: str) -> None:
    """The audit event of a refused attempt on the national rules, in the actor's hospital."""
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.PATHWAY_EDIT_REFUSED,
            target=pathway,
            summary=f"Refused: {actor.get_username()} tried to change the national rules of "
            f"{pathway.code} ({via}); only a national rules steward may",
            after={"pathway": pathway.code, "via": via},
        )


def national_rules_change_notify(
    *,
    actor: User | None,
    version: PathwayVersion,
    summary: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> int:
    """One audit event in each hospital the pathway applies to, so each hospital's audit trail
    (page and API, scoped to the hospital) shows the change; returns how many hospitals."""
    from regulatory.selectors import hospitals_affected_by

    hospitals = hospitals_affected_by(version.pathway)
    for hospital in hospitals:
        audit_record(
            actor=actor,
            action=AuditAction.PATHWAY_NATIONAL_RULES_CHANGED,
            target=version,
            hospital=hospital,
            summary=summary,
            before=before,
            after=after,
        )
    return len(hospitals)


def pathway_version_edit(
    *,
    actor: User,
    pathway: Pathway,
    changes: dict[str, Any],
    change_note: str,
    via: str = "service",
) -> PathwayVersion:
    """Editing a national rule creates a new version; checklists already built keep theirs.

    Only a national rules steward may; anyone else is refused with an audit event that stays
    (written in its own transaction before ``NationalRulesRefused`` is raised)."""
    if not is_rule_steward(actor):
        national_rules_refusal_record(actor=actor, pathway=pathway, via=via)
        raise NationalRulesRefused(
            gettext(
                "Only a national rules steward can change the national rules. Your hospital can "
                "add its own stricter checklist items on the rules page."
            )
        )
    return _pathway_version_create(
        actor=actor, pathway=pathway, changes=changes, change_note=change_note
    )


def _pathway_current_locked(pathway: Pathway) -> PathwayVersion:
    """The pathway's current version, with the pathway locked for the rest of the transaction
    (a rule edit, and the signed meaning that names the version it creates)."""
    return Pathway.objects.select_for_update().get(pk=pathway.pk).versions.get(is_current=True)


@transaction.atomic
def _pathway_version_create(
    *, actor: User, pathway: Pathway, changes: dict[str, Any], change_note: str
) -> PathwayVersion:
    if not change_note.strip():
        raise ApplicationError(
            gettext("Say what changed and on what source."), extra={"field": "change_note"}
        )
    unknown = set(changes) - set(EDITABLE_VERSION_FIELDS)
    if unknown:
        raise ApplicationError(
            gettext("Cannot edit %(fields)s.") % {"fields": ", ".join(sorted(unknown))}
        )
    for field, validate in (("checklist", checklist_validate), ("criteria", criteria_validate)):
        if field in changes:
            try:
                validate(changes[field])
            except ValidationError as exc:
                raise ApplicationError(
                    " ".join(exc.messages), extra={"fields": {field: exc.messages}}
                ) from None
    current = _pathway_current_locked(pathway)
    before = {k: getattr(current, k) for k in EDITABLE_VERSION_FIELDS}
    # The translations go with the new version, less those whose English the steward changed
    # (issue 15): an item the editor saved without its "i18n" gets it back where its text is
    # unchanged, and a stale Italian text never outlives the English it translated.
    changes = {
        k: items_translations_carried(before[k], v) if k in ("criteria", "checklist") else v
        for k, v in changes.items()
    }
    translations = translations_carried(before, before | changes, current.translations)
    if all(before[k] == v for k, v in changes.items()):
        raise ApplicationError(gettext("Nothing changed: no new version was saved."))
    current.is_current = False
    current.save(update_fields=["is_current"])
    new = PathwayVersion(
        pathway=pathway,
        version=current.version + 1,
        is_current=True,
        created_by=actor,
        change_note=change_note.strip(),
        translations=translations,
        **(before | changes),
    )
    try:
        new.full_clean(exclude=["pathway"])
    except ValidationError as exc:
        problems = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        raise ApplicationError(
            "; ".join(f"{k}: {' '.join(v)}" for k, v in problems.items()),
            extra={"fields": problems},
        ) from None
    try:
        verified_on_validate(new.verified_on)  # issue 15: the page and the API alike
    except ValidationError as exc:
        raise ApplicationError(
            " ".join(exc.messages), extra={"fields": {"verified_on": exc.messages}}
        ) from None
    new.save()
    after = {k: getattr(new, k) for k in EDITABLE_VERSION_FIELDS}
    event = audit_record_changes(
        actor=actor,
        action=AuditAction.PATHWAY_VERSION_CREATED,
        target=new,
        summary_prefix=f"{new} created from v{current.version}",
        before=before,
        after=after,
    )
    national_rules_change_notify(
        actor=actor,
        version=new,
        summary=f"National rules for {new.name} changed to v{new.version} by "
        f"{actor.get_full_name() or actor.get_username()}: {new.change_note}",
        before=event.before or {},
        after={**(event.after or {}), "pathway": pathway.code, "version": new.version},
    )
    return new


def _local_item_check(
    *, text: str, kind: str, attesters: list[str], reason: str
) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    if not text.strip():
        problems["text"] = [gettext("Write the requirement.")]
    if kind not in LocalChecklistItem.Kind.values:
        problems["kind"] = [gettext("A local item is an attestation or a document.")]
    if not isinstance(attesters, list) or not set(attesters) <= set(_ROLE_FOR_ATTESTER):
        problems["attesters"] = [gettext("Attesters: physician, pharmacist, committee secretary.")]
    elif kind == LocalChecklistItem.Kind.ATTESTATION and not attesters:
        problems["attesters"] = [gettext("Name who attests it.")]
    if not reason.strip():
        problems["reason"] = [gettext("Say why your hospital requires it.")]
    return problems


@transaction.atomic
def local_item_add(
    *,
    actor: User,
    pathway: Pathway,
    text: str,
    kind: str,
    reason: str,
    attesters: list[str] | None = None,
) -> LocalChecklistItem:
    """A hospital's own, stricter checklist item for a pathway (its regulatory officer only)."""
    if Role.REGULATORY_OFFICER not in roles_of(actor) or actor.hospital_id is None:
        raise ApplicationError(
            gettext("Only a regulatory officer of a hospital adds its local checklist items.")
        )
    attesters = list(attesters or [])
    if kind == LocalChecklistItem.Kind.DOCUMENT:
        attesters = []
    problems = _local_item_check(text=text, kind=kind, attesters=attesters, reason=reason)
    if problems:
        raise ApplicationError(
            "; ".join(" ".join(v) for v in problems.values()), extra={"fields": problems}
        )
    item = LocalChecklistItem(
        hospital_id=actor.hospital_id,
        pathway=pathway,
        text=text.strip(),
        kind=kind,
        attesters=attesters,
        reason=reason.strip(),
        created_by=actor,
    )
    try:
        item.full_clean()
    except ValidationError as exc:
        raise ApplicationError(" ".join(exc.messages), extra={"fields": exc.message_dict}) from None
    item.save()
    audit_record(
        actor=actor,
        action=AuditAction.PATHWAY_LOCAL_ITEM_ADDED,
        target=item,
        summary=f"Local checklist item added to {pathway.code}: '{item.text}' ({item.reason})",
        after={
            "pathway": pathway.code,
            "code": item.code,
            "text": item.text,
            "kind": item.kind,
            "attesters": item.attesters,
            "reason": item.reason,
        },
    )
    return item


@transaction.atomic
def local_item_deactivate(*, actor: User, item: LocalChecklistItem) -> LocalChecklistItem:
    """Later checklists leave it out; those already built keep it (they are snapshots)."""
    require_same_hospital(actor, item.hospital_id)
    require_role(
        actor,
        Role.REGULATORY_OFFICER,
        message=gettext(
            "Only a regulatory officer of a hospital changes its local checklist items."
        ),
    )
    claimed = LocalChecklistItem.objects.filter(pk=item.pk, active=True).update(
        active=False, deactivated_by=actor, deactivated_at=timezone.now()
    )
    if claimed != 1:
        raise ConflictError(gettext("This local item is already inactive."))
    item.refresh_from_db()
    audit_record(
        actor=actor,
        action=AuditAction.PATHWAY_LOCAL_ITEM_DEACTIVATED,
        target=item,
        summary=f"Local checklist item of {item.pathway.code} deactivated: '{item.text}'",
        before={"active": True},
        after={"active": False, "code": item.code},
    )
    return item


# --- Applications to outside bodies --------------------------------------------------------------


@dataclass(frozen=True)
class ApplicationStep:
    """A step of an application to an outside body, the shape of the request workflow's
    ``prescriptions.workflow.Transition``: from ``sources`` to ``target``, on the date recorded
    in ``date_field``."""

    name: str
    label: StrOrPromise  # in the interface language; audit rows name the step
    sources: frozenset[str]
    target: str
    date_field: str

    @property
    def audit_action(self) -> AuditAction:
        """The audit trail's action for this step: ``application.<name>``."""
        return AuditAction.family("application", self.name)


def _step(
    name: str, label: StrOrPromise, sources: Iterable[str], target: str, date_field: str
) -> ApplicationStep:
    return ApplicationStep(name, label, frozenset(sources), target, date_field)


_S = Application.Status
APPLICATION_STEPS: dict[str, ApplicationStep] = {
    s.name: s
    for s in [
        _step("submit", _("submit"), [_S.PREPARING], _S.SUBMITTED, "submitted_at"),
        _step("acknowledge", _("acknowledge"), [_S.SUBMITTED], _S.ACKNOWLEDGED, "acknowledged_at"),
        _step(
            "request_information",
            _("request information"),
            [_S.SUBMITTED, _S.ACKNOWLEDGED, _S.ANSWERED],
            _S.INFORMATION_REQUESTED,
            "information_requested_at",
        ),
        _step("answer", _("answer"), [_S.INFORMATION_REQUESTED], _S.ANSWERED, "answered_at"),
        _step(
            "grant",
            _("grant"),
            [_S.SUBMITTED, _S.ACKNOWLEDGED, _S.ANSWERED],
            _S.GRANTED,
            "decided_at",
        ),
        _step(
            "deny",
            _("deny"),
            [_S.SUBMITTED, _S.ACKNOWLEDGED, _S.ANSWERED, _S.INFORMATION_REQUESTED],
            _S.DENIED,
            "decided_at",
        ),
        _step(
            "withdraw",
            _("withdraw"),
            [_S.PREPARING, _S.SUBMITTED, _S.ACKNOWLEDGED, _S.INFORMATION_REQUESTED, _S.ANSWERED],
            _S.WITHDRAWN,
            "decided_at",
        ),
    ]
}

# Every step has its audit action: a step added without its AuditAction member fails here, at
# import (``AuditAction.family`` raises ValueError), not the first time someone records it.
APPLICATION_STEP_ACTIONS = {name: step.audit_action for name, step in APPLICATION_STEPS.items()}

# Who tracks applications (pharmacy); the refusal's sentence.
_TRACKS_APPLICATIONS = _("Only a pharmacist or the committee secretary tracks applications.")


@transaction.atomic
def application_create(
    *,
    actor: User,
    request: OffLabelRequest,
    body: str,
    prepared_at: date,
    renewal_of: Application | None = None,
    protocol_number: str = "",
) -> Application:
    require_role(actor, Role.PHARMACIST, Role.COMMITTEE_SECRETARY, message=_TRACKS_APPLICATIONS)
    request = request_lock_for_change(actor, request, related=("patient", "drug"))
    if renewal_of is not None:
        renewal_of = Application.objects.get(
            pk=renewal_of.pk
        )  # its state now, not the caller's copy
    if renewal_of is not None and (
        renewal_of.request_id != request.pk or renewal_of.status != Application.Status.GRANTED
    ):
        raise ApplicationError(
            gettext("A renewal continues a granted authorisation of the same request."),
            extra={"field": "renewal_of"},
        )
    application = Application(
        request=request,
        hospital_id=request.hospital_id,
        body=body,
        prepared_at=prepared_at,
        application_type="renewal" if renewal_of else "initial",
        renewal_of=renewal_of,
        protocol_number=protocol_number.strip(),
        created_by=actor,
    )
    application.full_clean()
    application.save()
    audit_record(
        actor=actor,
        action=AuditAction.APPLICATION_CREATED,
        target=request,
        summary=f"{request.reference}: {english(application)} prepared",
        after={"application": application.pk, "body": body, "type": application.application_type},
    )
    return application


@transaction.atomic
def application_step(
    *,
    actor: User,
    application: Application,
    step: str,
    on: date,
    note: str = "",
    protocol_number: str = "",
    valid_from: date | None = None,
    valid_until: date | None = None,
) -> Application:
    require_role(actor, Role.PHARMACIST, Role.COMMITTEE_SECRETARY, message=_TRACKS_APPLICATIONS)
    application = (
        Application.objects.select_for_update().select_related("request").get(pk=application.pk)
    )
    require_same_hospital(actor, application.hospital_id)
    if step not in APPLICATION_STEPS:
        raise ApplicationError(
            gettext("Unknown step %(step)s.") % {"step": repr(step)}, extra={"field": "step"}
        )
    transition = APPLICATION_STEPS[step]
    target, date_field = transition.target, transition.date_field
    if application.status not in transition.sources:
        raise ConflictError(
            gettext("The application is '%(status)s': '%(step)s' is not possible now.")
            % {"status": application.get_status_display(), "step": transition.label}
        )
    if date_is_future(on):
        raise ApplicationError(gettext("That date is in the future."), extra={"field": "on"})
    before = application.status
    setattr(application, date_field, on)
    application.status = target
    if protocol_number.strip():
        application.protocol_number = protocol_number.strip()
    if step == "grant":
        if valid_until is None:
            raise ApplicationError(
                gettext("A grant needs the date until which it is valid."),
                extra={"field": "valid_until"},
            )
        if valid_until < (valid_from or on):
            raise ApplicationError(
                gettext("The authorisation cannot end before it starts."),
                extra={"field": "valid_until"},
            )
        application.valid_from, application.valid_until = valid_from or on, valid_until
    if note.strip():
        application.decision_note = note.strip()
    application.version += 1
    application.full_clean()
    application.save()
    application.reminders.filter(resolved_at=None).update(resolved_at=timezone.now())
    audit_record(
        actor=actor,
        action=transition.audit_action,
        target=application.request,
        summary=f"{application.request.reference}: {english(application)} — {step} on {on:%Y-%m-%d}"
        + (f" ({note.strip()})" if note.strip() else ""),
        before={"status": before},
        after={"status": target, date_field: on, "application": application.pk},
    )
    return application


@transaction.atomic
def application_document_add(
    *, actor: User, application: Application, kind: str, upload: UploadedFile
) -> ApplicationDocument:
    require_role(actor, Role.PHARMACIST, Role.COMMITTEE_SECRETARY, message=_TRACKS_APPLICATIONS)
    require_same_hospital(actor, application.hospital_id)
    data = pdf_validate(upload)
    document = ApplicationDocument(
        application=application,
        kind=kind,
        name=upload.name or "document.pdf",
        sha256=hashlib.sha256(data).hexdigest(),
        uploaded_by=actor,
    )
    document.file.save(f"application-{application.pk}-{kind}.pdf", ContentFile(data), save=False)
    document.save()
    audit_record(
        actor=actor,
        action=AuditAction.APPLICATION_DOCUMENT_ADDED,
        target=application.request,
        summary=f"{application.request.reference}: {document.name} added to {application}",
        after={"application": application.pk, "sha256": document.sha256},
    )
    return document


def authorisation_current(request: OffLabelRequest) -> Application | None:
    """The granted, in-date authorisation of the request's pathway body, if any."""
    choice = getattr(request, "pathway_choice", None)
    if choice is None:
        return None
    body = choice.pathway_version.authorising_body
    for application in request.applications.filter(
        body=body, status=Application.Status.GRANTED
    ).order_by("-decided_at"):
        if application.is_valid_now:
            return application
    return None


def rule_edit_meaning(user: User, pathway: Pathway) -> Meaning:
    """What the steward signs to edit a national rule (issue 16): "edited rule <code> version
    N as ...", naming the version the edit creates: the pathway stays locked until the save, so
    that number cannot change in between."""
    return act_meaning(
        SignatureAction.RULE_EDIT,
        user,
        pathway=pathway.code,
        version=int(_pathway_current_locked(pathway).version) + 1,
    )
