"""What an attestation attests to, and what happens when that changes (issue 15).

A ticked attestation ("dosing follows the listed schedule") is a person's statement about the
request as it stood: the regimen, the dose, the ramp-up, the cycles, the daily doses the plan
computes from them, the patient's profile and the attached studies. The attestation records
those inputs (``attested_inputs`` and their hash). Every write that changes a request's inputs
calls ``prescriptions.services.inputs_changed`` in its transaction; the hook here compares the
inputs with what each attestation recorded, withdraws those that no longer match (before
approval: after it, an attestation is the record of the decision taken) with a timeline entry,
and re-evaluates the chosen pathway, recording when it stops (or starts again) to apply.
Approval needs every required attestation, so it waits until the item is attested again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from audit.actions import AuditAction
from audit.services import audit_record
from offlabel.i18n import english
from pharmacy.selectors import plan_context, plan_of, plan_version_latest
from prescriptions.models import OffLabelRequest
from prescriptions.profile import profile_as_data
from prescriptions.selectors import decimal_plain
from prescriptions.services import inputs_changed_register
from regulatory.models import ChecklistItem, PathwayChoice
from regulatory.routing import NOT_APPLICABLE, Assessment, route

# The inputs an attestation records, in the order a change is named.
ATTESTED_INPUT_LABELS = {
    "regimen": _("partner regimen"),
    "ven_target_dose_mg": _("VEN target daily dose"),
    "ramp_up": _("ramp-up"),
    "cycles": _("cycles planned"),
    "plan_doses": _("daily doses of the treatment plan"),
    "patient": _("patient profile"),
    "evidence": _("attached studies"),
    "jurisdiction": _("jurisdiction"),
}


def _plain(value: Decimal | None) -> str | None:
    return None if value is None else decimal_plain(value)


def _digest(value: Any) -> str:
    payload = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def attested_inputs(request: OffLabelRequest) -> dict[str, Any]:
    """The request's inputs as an attestation records them: readable values for what a person
    checks (regimen, dose, ramp-up, cycles, the ramp-up doses the plan computes), hashes for the
    rest (the whole plan's daily doses, the profile)."""
    plan = plan_of(request)
    profile = profile_as_data(request.patient)
    profile.pop("pseudonym", None)
    return {
        "regimen": [request.regimen, request.regimen_other.strip()],
        "ven_target_dose_mg": _plain(request.ven_target_dose_mg),
        "ramp_up": [request.ramp_up, request.ramp_up_custom.strip()],
        "cycles": [request.cycles_planned, request.cycle_length_days],
        "plan_doses": {
            "ramp_up_mg": [_plain(d) for d in plan.schedule_mg],
            "steady_mg": _plain(plan.steady_mg),
            "sha256": _digest([[_plain(d.dose_mg) for d in c.days] for c in plan.cycles]),
        }
        if plan is not None
        else None,
        "patient": _digest(profile),
        "evidence": sorted(request.attachments.values_list("study_id", flat=True)),
        "jurisdiction": request.jurisdiction,
    }


def attested_inputs_digest(inputs: dict[str, Any]) -> str:
    return _digest(inputs)


def attested_inputs_changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The inputs (keys of ``ATTESTED_INPUT_LABELS``) whose value differs."""
    return [key for key in ATTESTED_INPUT_LABELS if before.get(key) != after.get(key)]


def attested_inputs_changes_label(keys: list[str]) -> str:
    """ "VEN target daily dose, ramp-up" in the reader's language."""
    return ", ".join(str(ATTESTED_INPUT_LABELS.get(k, k)) for k in keys)


def _pair(value: Any) -> tuple[Any, Any]:
    values = [*(value or []), "", ""]
    return values[0], values[1]


def _in_english(keys: list[str]) -> str:
    return english(lambda: attested_inputs_changes_label(keys))


def attested_inputs_summary(inputs: dict[str, Any] | None) -> str:
    """What an attestation was made on, for the checklist: "VEN + azacitidine · 400 mg/day ·
    ramp-up 100/200/400 mg · 6 × 28 days"."""
    if not inputs:
        return ""
    parts = []
    regimen, regimen_other = _pair(inputs.get("regimen"))
    if regimen:
        label = str(dict(OffLabelRequest.Regimen.choices).get(regimen, regimen))
        parts.append(f"{label} ({regimen_other})" if regimen_other else label)
    if inputs.get("ven_target_dose_mg"):
        parts.append(gettext("%(dose)s mg/day") % {"dose": inputs["ven_target_dose_mg"]})
    steps = (inputs.get("plan_doses") or {}).get("ramp_up_mg") or []
    if steps:
        parts.append(gettext("ramp-up %(steps)s mg") % {"steps": "/".join(steps)})
    else:
        ramp_up, custom = _pair(inputs.get("ramp_up"))
        if custom or ramp_up:
            label = str(dict(OffLabelRequest.RampUp.choices).get(ramp_up, ramp_up))
            parts.append(custom or label)
    cycles, days = _pair(inputs.get("cycles"))
    if cycles:
        parts.append(gettext("%(cycles)s × %(days)s days") % {"cycles": cycles, "days": days})
    return " · ".join(parts)


# --- Withdrawing what no longer holds ------------------------------------------------------------


def _legacy_unchanged(request: OffLabelRequest, item: ChecklistItem) -> bool:
    """An attestation made before it recorded its inputs: unchanged while the treatment plan is
    the version it was made on and the plan's inputs still hash to it (whichever hook ran
    first)."""
    latest = plan_version_latest(request)
    if latest is None:
        return item.attested_plan_version is None and plan_context(request).plan is None
    return (
        item.attested_plan_version == latest.number
        and plan_context(request).digest == latest.inputs_hash
    )


def attestations_refresh(*, actor: User | None, request: OffLabelRequest) -> list[ChecklistItem]:
    """Withdraw the attestations whose recorded inputs no longer match the request (before
    approval), each with a timeline entry naming what changed; returns them."""
    if request.status not in OffLabelRequest.DECISION_PENDING_STATES:
        return []
    items = list(
        ChecklistItem.objects.select_for_update()
        .filter(request=request, kind=ChecklistItem.Kind.ATTESTATION, attested_by__isnull=False)
        .select_related("attested_by")
        .order_by("order")
    )
    if not items:
        return []
    current = attested_inputs(request)
    digest = attested_inputs_digest(current)
    now = timezone.now()
    withdrawn = []
    for item in items:
        if item.attested_inputs_sha256 == digest:
            continue
        if not item.attested_inputs_sha256 and _legacy_unchanged(request, item):
            item.attested_inputs, item.attested_inputs_sha256 = current, digest
            item.save(update_fields=["attested_inputs", "attested_inputs_sha256"])
            continue
        recorded = item.attested_inputs or {}
        changed = attested_inputs_changes(recorded, current) or list(ATTESTED_INPUT_LABELS)
        who = item.attested_by.get_username() if item.attested_by else ""
        note = item.note
        item.attested_by, item.attested_at, item.note = None, None, ""
        item.withdrawn_at, item.withdrawn_changes = now, changed
        item.save(
            update_fields=[
                "attested_by",
                "attested_at",
                "note",
                "withdrawn_at",
                "withdrawn_changes",
            ]
        )
        audit_record(
            actor=actor,
            action=AuditAction.CHECKLIST_ATTESTATION_WITHDRAWN,
            target=request,
            hospital=request.hospital,
            summary=f"{request.reference}: attestation '{item.text}' withdrawn: what it attested "
            f"changed ({_in_english(changed)}); it must be attested again",
            before={
                "item": item.code,
                "attested_by": who,
                "note": note,
                "inputs": {k: recorded.get(k) for k in changed},
            },
            after={
                "item": item.code,
                "changed": changed,
                "inputs": {k: current[k] for k in changed},
            },
        )
        withdrawn.append(item)
    return withdrawn


# --- The chosen pathway, re-evaluated ------------------------------------------------------------


@dataclass(frozen=True)
class PathwayRecheck:
    """The chosen pathway as routing sees the request now."""

    choice: PathwayChoice
    assessment: Assessment | None  # None: the pathway is not among the request's jurisdiction's

    @property
    def applies(self) -> bool:
        return self.assessment is not None and self.assessment.status != NOT_APPLICABLE

    @property
    def why(self) -> str:
        if self.assessment is None:
            return gettext("it is not a pathway of the request's jurisdiction")
        return "; ".join(f"{c.text} — {c.because}" for c in self.assessment.unmet)


def pathway_recheck(request: OffLabelRequest) -> PathwayRecheck | None:
    """A read: the chosen pathway against the request's current data (None: none chosen)."""
    choice = (
        PathwayChoice.objects.filter(request=request)
        .select_related("pathway_version__pathway")
        .first()
    )
    if choice is None:
        return None
    return PathwayRecheck(choice, route(request).by_code(choice.pathway_version.pathway.code))


def pathway_applies_refresh(*, actor: User | None, request: OffLabelRequest) -> bool | None:
    """Record when the chosen pathway stops applying (or applies again), with a timeline entry
    saying why; the request page shows the warning from the stored state."""
    recheck = pathway_recheck(request)
    if recheck is None:
        return None
    applies = recheck.applies
    if applies == recheck.choice.applies_now:
        return applies
    PathwayChoice.objects.filter(pk=recheck.choice.pk).update(applies_now=applies)
    name = recheck.choice.pathway_version.name
    if applies:
        summary = f"{request.reference}: the chosen pathway {name} applies again"
    else:
        with translation.override("en"):
            why = pathway_recheck(request).why  # type: ignore[union-attr]
        summary = (
            f"{request.reference}: the chosen pathway {name} no longer applies ({why}); "
            "choose the pathway again"
        )
    audit_record(
        actor=actor,
        action=AuditAction.REQUEST_PATHWAY_APPLIES_AGAIN
        if applies
        else AuditAction.REQUEST_PATHWAY_NO_LONGER_APPLIES,
        target=request,
        hospital=request.hospital,
        summary=summary,
        before={"applies": not applies},
        after={"applies": applies, "pathway": recheck.choice.pathway_version.pathway.code},
    )
    return applies


@inputs_changed_register
def _attestations_inputs_changed(*, actor: User | None, request: OffLabelRequest) -> None:
    """The one place a change of a request's inputs reaches its attestations and its pathway."""
    request = OffLabelRequest.objects.select_related("patient", "hospital", "drug").get(
        pk=request.pk
    )
    if not PathwayChoice.objects.filter(request=request).exists():
        return  # no pathway chosen: no checklist, nothing attested
    attestations_refresh(actor=actor, request=request)
    pathway_applies_refresh(actor=actor, request=request)
