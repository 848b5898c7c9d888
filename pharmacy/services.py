"""Writes of the pharmacy: safety overrides, TLS precautions, dispensing and drug prices.

Each checks who may act, runs in one transaction with the request row locked where the
request's state matters, and records an audit event that names the patient by pseudonym only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import User
from accounts.roles import Role, roles_of
from audit.actions import AuditAction
from audit.services import audit_record, model_update_audited
from offlabel.exceptions import ApplicationError, ConflictError
from offlabel.i18n import localized
from pharmacy.models import (
    Dispensation,
    DispensationLine,
    Payer,
    SafetyOverride,
    SafetySummary,
    TlsPrecautions,
    TreatmentPlanVersion,
)
from pharmacy.plan import tablets_mg
from pharmacy.rules import label_rules_current, source_name, tablet_strengths
from pharmacy.safety import BLOCKING, SafetyReport, safety_check, tls_missing
from pharmacy.selectors import dispensed_by_cycle, plan_context, plan_version_latest, prices_current
from prescriptions.models import Drug, DrugPrice, OffLabelRequest
from prescriptions.policies import acts_as_prescriber, request_lock_for_change, require_role
from prescriptions.selectors import decimal_plain
from prescriptions.services import drug_default, inputs_changed_register, request_transition

S = OffLabelRequest.Status

# What happens when a new treatment plan version is recorded (the consent forms that printed
# the old plan are superseded). Registered by the apps above the pharmacy at start-up, so this
# module needs none of them: the dependency points from consent to the pharmacy, never back.
PlanVersionCreated = Callable[[OffLabelRequest], object]
_PLAN_VERSION_CREATED: list[PlanVersionCreated] = []


def plan_version_created_register(hook: PlanVersionCreated) -> PlanVersionCreated:
    _PLAN_VERSION_CREATED.append(hook)
    return hook


def _pharmacist_only(what: str) -> str:
    return gettext("Only a pharmacist can %(action)s.") % {"action": what}


# --- Safety overrides ------------------------------------------------------------------------


@transaction.atomic
def safety_override_create(
    *, actor: User, request: OffLabelRequest, fingerprint: str, reason: str
) -> SafetyOverride:
    """A pharmacist decides to go ahead despite one blocking finding, and says why."""
    request = request_lock_for_change(actor, request)
    require_role(
        actor,
        Role.PHARMACIST,
        message=_pharmacist_only(gettext("override a blocking safety finding")),
    )
    reason = reason.strip()
    if len(reason) < 10:
        raise ApplicationError(
            gettext("Give the clinical reason for overriding (at least 10 characters)."),
            extra={"field": "reason"},
        )
    report = safety_check(request)
    finding = next(
        (f for f in report.findings if f.fingerprint == fingerprint and f.severity == BLOCKING),
        None,
    )
    if finding is None:
        raise ConflictError(
            gettext(
                "This finding no longer applies: the request, the patient's medications or the "
                "label rules changed. Reload the page to see the current findings."
            )
        )
    if not finding.overridable:
        raise ApplicationError(
            gettext(
                "'%(title)s' cannot be overridden: %(message)s Change the plan's inputs instead."
            )
            % {"title": finding.title, "message": finding.message}
        )
    if finding.override is not None:
        raise ConflictError(
            gettext("This finding was already overridden by %(who)s at %(when)s.")
            % {
                "who": finding.override.overridden_by,
                "when": f"{timezone.localtime(finding.override.overridden_at):%Y-%m-%d %H:%M}",
            }
        )
    override = SafetyOverride.objects.create(
        request=request,
        code=finding.code,
        fingerprint=fingerprint,
        message=finding.message.english,  # stored as the fingerprint reads it
        rules_version=report.rules.version,
        reason=reason,
        overridden_by=actor,
    )
    audit_record(
        actor=actor,
        action=AuditAction.SAFETY_OVERRIDDEN,
        target=request,
        summary=f"{request.reference}: blocking finding '{finding.title.english}' overridden "
        f"— {reason}",
        after={
            "code": finding.code,
            "message": finding.message.english,
            "rules_version": report.rules.version,
            "reason": reason,
        },
    )
    safety_summary_refresh(request)
    return override


# --- TLS precautions -------------------------------------------------------------------------

TLS_FIELDS = (
    "first_dose_at",
    "hydration",
    "antihyperuricaemic",
    "chemistry_corrected",
    "risk_note",
)
# A planned first dose outside these years is a typing slip (0419 for 2019). Far-off years
# also break what is computed from the date: the lab schedule adds days to it, and before
# 1900 the local time zone had second-precision offsets no ISO 8601 client parses.
FIRST_DOSE_YEARS = range(2000, 2100)


def _tls_data(tls: TlsPrecautions | None) -> dict[str, Any]:
    if tls is None:
        return {}
    return {
        k: (v.isoformat() if isinstance(v, datetime) else v)
        for k in TLS_FIELDS
        if (v := getattr(tls, k)) is not None
    }


@transaction.atomic
def tls_precautions_set(
    *, actor: User, request: OffLabelRequest, fields: dict[str, Any]
) -> TlsPrecautions:
    """Record the first-dose time and the TLS prophylaxis (the prescriber or a pharmacist)."""
    request = request_lock_for_change(actor, request)
    if Role.PHARMACIST not in roles_of(actor) and not acts_as_prescriber(actor, request):
        raise ApplicationError(
            gettext("Only the prescriber or a pharmacist can record TLS precautions.")
        )
    if request.status not in OffLabelRequest.TLS_EDITABLE_STATES:
        raise ApplicationError(
            gettext("%(reference)s is '%(status)s': TLS precautions can no longer be changed.")
            % {"reference": request.reference, "status": request.get_status_display()}
        )
    unknown = set(fields) - set(TLS_FIELDS)
    if unknown:
        raise ApplicationError(
            gettext("Unknown fields: %(fields)s.") % {"fields": ", ".join(sorted(unknown))}
        )
    first_dose_at = fields.get("first_dose_at")
    if first_dose_at is not None and first_dose_at.year not in FIRST_DOSE_YEARS:
        raise ApplicationError(
            gettext("The first dose must be planned between %(first)s and %(last)s.")
            % {"first": FIRST_DOSE_YEARS.start, "last": FIRST_DOSE_YEARS.stop - 1},
            extra={"field": "first_dose_at"},
        )
    tls = TlsPrecautions.objects.filter(request=request).first()
    if tls is None:
        if not fields.get("first_dose_at"):
            raise ApplicationError(
                gettext("Give the planned date and time of the first dose."),
                extra={"field": "first_dose_at"},
            )
        tls = TlsPrecautions(
            request=request, updated_by=actor, first_dose_at=fields["first_dose_at"]
        )
    if (
        tls.pk is not None
        and "first_dose_at" in fields
        and fields["first_dose_at"] != tls.first_dose_at
        and request.dispensations.filter(cycle=1).exists()
    ):
        raise ApplicationError(
            gettext("Cycle 1 is dispensed: the first-dose time can no longer move.")
        )
    tls.updated_by = actor
    try:
        model_update_audited(
            tls,
            fields=TLS_FIELDS,
            data=fields,
            actor=actor,
            action=AuditAction.TLS_RECORDED,
            summary_prefix=f"{request.reference}: TLS precautions",
            target=request,
            # Precautions recorded for the first time had nothing before.
            snapshot=lambda t: _tls_data(t) if t.pk is not None else {},
        )
    except ValidationError as exc:
        raise ApplicationError(
            "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items()),
            extra={"fields": exc.message_dict},
        ) from exc
    plan_version_sync(actor=actor, request=request)
    return tls


# --- Dispensing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineInput:
    strength_mg: Decimal
    quantity: int
    lot: str
    expiry: date


def payer_default(request: OffLabelRequest) -> tuple[str, str]:
    """(payer, source): from the pathway chosen, as the label rules file maps it."""
    rule_set = label_rules_current()
    data = rule_set.data
    choice = getattr(request, "pathway_choice", None)
    code = choice.pathway_version.pathway.code if choice is not None else ""
    entry = data["payer_by_pathway"].get(code) or data["default_payer"]
    # In the reader's language: a source key ("hospital") by its title, else the entry's text.
    if entry["source"] in data["sources"]:
        return entry["payer"], source_name(rule_set, entry["source"])
    return entry["payer"], localized(entry, "source")


def _tablets_text(tablets: dict[Decimal, int]) -> str:
    return (
        " + ".join(f"{n} × {decimal_plain(s)} mg" for s, n in sorted(tablets.items(), reverse=True))
        or "nothing"
    )


def _mg_text(value: Decimal) -> str:
    return f"{decimal_plain(value)} mg"


def dispense_next_cycle(request: OffLabelRequest, plan: Any) -> int:
    """The first cycle whose planned tablets are not all dispensed yet."""
    done = dispensed_by_cycle(request)
    for cycle in plan.cycles:
        given = done.get(cycle.number, {})
        # In milligrams: a cycle supplied in full stays done when a later change to the plan
        # (an inhibitor recorded afterwards) would have planned it with other tablets.
        if tablets_mg(given) < cycle.total_mg:
            return int(cycle.number)
    return len(plan.cycles) + 1


def dispense_remaining(request: OffLabelRequest, plan: Any, cycle: int) -> dict[Decimal, int]:
    """Tablets of the cycle's plan not yet dispensed (what the form pre-fills)."""
    planned = plan.cycle(cycle)
    if planned is None:
        return {}
    given = dispensed_by_cycle(request).get(cycle, {})
    left = {s: n - given.get(s, 0) for s, n in planned.tablets.items()}
    return {s: n for s, n in left.items() if n > 0}


def _cycle_held(report: SafetyReport, cycle: int) -> None:
    held = report.open_blocking_for_cycle(cycle)
    if held:
        raise ApplicationError(
            gettext("Blocking safety findings need a pharmacist's decision first: %(titles)s.")
            % {"titles": "; ".join(f"{f.title} ({f.message})" for f in held)}
        )


@transaction.atomic
def dispensation_create(
    *,
    actor: User,
    request: OffLabelRequest,
    cycle: int,
    lines: list[LineInput],
    payer: str = "",
    note: str = "",
) -> Dispensation:
    """Dispense one cycle, or part of it, locked to the treatment plan.

    Refused: a request not approved or active; a cycle other than the next one due; more
    tablets of any strength than the plan has for that cycle (so never more milligrams, and
    never a mix that does not make the plan's daily doses), whatever the note says; a cycle
    before its start less the hospital's early window; a cycle that waits for count recovery;
    open blocking findings (cycle 1: all of them; later cycles: those that hold every cycle);
    cycle 1 without the TLS precautions. Less than the plan is a partial supply: it needs a
    reason in the note, and the remainder stays due. Every refusal names the plan's figure and
    the entered one. The first dispensation moves an approved request to active."""
    request = request_lock_for_change(actor, request)
    require_role(actor, Role.PHARMACIST, message=_pharmacist_only(gettext("dispense")))
    if request.status not in OffLabelRequest.DISPENSABLE_STATES:
        raise ApplicationError(
            gettext(
                "Cannot dispense: %(reference)s is '%(status)s'. Only an approved or active "
                "request is dispensed."
            )
            % {"reference": request.reference, "status": request.get_status_display()}
        )
    version = plan_version_sync(actor=actor, request=request)
    report = safety_check(request)
    plan = report.plan
    if plan is None:
        raise ApplicationError(
            gettext("The request has no target dose or cycles: there is no plan to dispense.")
        )
    expected_cycle = dispense_next_cycle(request, plan)
    if cycle > len(plan.cycles):
        raise ApplicationError(
            gettext(
                "All %(n)s planned cycles are dispensed; a further cycle needs an amended request."
            )
            % {"n": len(plan.cycles)},
            extra={"field": "cycle"},
        )
    if cycle < expected_cycle:
        existing = request.dispensations.filter(cycle=cycle).select_related("dispensed_by").last()
        raise ConflictError(
            gettext("Cycle %(cycle)s was already dispensed in full by %(who)s at %(when)s.")
            % {
                "cycle": cycle,
                "who": existing.dispensed_by if existing else "?",
                "when": f"{timezone.localtime(existing.dispensed_at):%Y-%m-%d %H:%M}"
                if existing
                else "?",
            }
        )
    if cycle != expected_cycle:
        raise ApplicationError(
            gettext("The next cycle to dispense is cycle %(expected)s, not %(cycle)s.")
            % {"expected": expected_cycle, "cycle": cycle},
            extra={"field": "cycle"},
        )
    planned = plan.cycle(cycle)
    assert planned is not None
    _cycle_held(report, cycle)
    if cycle == 1:
        missing = tls_missing(report.tls)
        if missing:
            raise ApplicationError(
                gettext("Record the TLS precautions before cycle 1: %(missing)s.")
                % {"missing": ", ".join(missing)}
            )
    if planned.waits_for:
        raise ApplicationError(
            gettext("Cycle %(cycle)s cannot be dispensed: %(why)s.")
            % {"cycle": cycle, "why": planned.waits_for},
            extra={"field": "cycle"},
        )
    today = timezone.localdate()
    if cycle > 1:
        window = request.hospital.dispense_early_window_days
        earliest = planned.earliest_dispense_on(window)
        if earliest is None:
            raise ApplicationError(
                gettext("Cycle %(cycle)s has no start date in the plan yet.") % {"cycle": cycle}
            )
        if today < earliest:
            raise ApplicationError(
                gettext(
                    "Too early for cycle %(cycle)s: the plan starts it on %(start)s, so it can be "
                    "dispensed from %(earliest)s (%(window)s days before, the hospital's "
                    "window); today is %(today)s."
                )
                % {
                    "cycle": cycle,
                    "start": planned.start_on.isoformat() if planned.start_on else "?",
                    "earliest": earliest.isoformat(),
                    "window": window,
                    "today": today.isoformat(),
                },
                extra={"field": "cycle", "earliest": earliest.isoformat()},
            )
    if not lines:
        raise ApplicationError(
            gettext("Give at least one line: strength, quantity, lot and expiry."),
            extra={"field": "lines"},
        )
    strengths = set(tablet_strengths(label_rules_current()))
    given: dict[Decimal, int] = {}
    # "Line 1" for people; the field path counts from 0, like the JSON array it names.
    for i, line in enumerate(lines, start=1):
        if line.strength_mg not in strengths:
            raise ApplicationError(
                gettext("Line %(line)s: %(strength)s mg is not a venetoclax tablet strength.")
                % {"line": i, "strength": line.strength_mg},
                extra={"field": f"lines[{i - 1}].strength_mg"},
            )
        if line.quantity < 1:
            raise ApplicationError(
                gettext("Line %(line)s: the quantity must be at least 1.") % {"line": i},
                extra={"field": f"lines[{i - 1}].quantity"},
            )
        if not line.lot.strip():
            raise ApplicationError(
                gettext("Line %(line)s: give the lot number.") % {"line": i},
                extra={"field": f"lines[{i - 1}].lot"},
            )
        if line.expiry < today:
            raise ApplicationError(
                gettext("Line %(line)s: lot %(lot)s expired on %(expiry)s; do not dispense it.")
                % {"line": i, "lot": line.lot, "expiry": f"{line.expiry:%Y-%m-%d}"},
                extra={"field": f"lines[{i - 1}].expiry"},
            )
        given[line.strength_mg] = given.get(line.strength_mg, 0) + line.quantity
    plan_tablets = planned.tablets
    already = dispensed_by_cycle(request).get(cycle, {})
    remaining = {s: n - already.get(s, 0) for s, n in plan_tablets.items()}
    given_mg = tablets_mg(given)
    remaining_mg = tablets_mg(remaining)
    figures = {
        "cycle": cycle,
        "plan": _tablets_text(plan_tablets),
        "plan_mg": _mg_text(planned.total_mg),
        "remaining": _tablets_text({s: n for s, n in remaining.items() if n > 0}),
        "remaining_mg": _mg_text(remaining_mg),
        "entered": _tablets_text(given),
        "entered_mg": _mg_text(given_mg),
    }
    planned_data = {"planned": {str(s): n for s, n in plan_tablets.items()}}
    if given_mg > remaining_mg:
        raise ApplicationError(
            gettext(
                "Refused: %(entered_mg)s entered (%(entered)s) is more than the plan leaves for "
                "cycle %(cycle)s: %(remaining_mg)s (%(remaining)s; the whole cycle is "
                "%(plan_mg)s). A note cannot change this: to give more, change the plan."
            )
            % figures,
            extra={"field": "lines", **planned_data},
        )
    wrong = sorted(s for s, n in given.items() if n > remaining.get(s, 0))
    if wrong:
        raise ApplicationError(
            gettext(
                "Refused: the tablets entered (%(entered)s) do not make the plan's daily doses "
                "for cycle %(cycle)s, which need %(remaining)s. A note cannot change this: "
                "dispense the plan's strengths, or change the plan."
            )
            % figures,
            extra={"field": "lines", **planned_data},
        )
    partial = given_mg < remaining_mg
    if partial and not note.strip():
        raise ApplicationError(
            gettext(
                "%(entered_mg)s entered (%(entered)s) is less than the plan leaves for cycle "
                "%(cycle)s, %(remaining_mg)s (%(remaining)s): give the reason for this partial "
                "supply in the note; the remainder stays due."
            )
            % figures,
            extra={"field": "note", **planned_data},
        )
    if payer and payer not in Payer.values:
        raise ApplicationError(
            gettext("Unknown payer %(payer)s.") % {"payer": repr(payer)}, extra={"field": "payer"}
        )
    payer = payer or payer_default(request)[0]
    prices = prices_current(request)
    priced = all(line.strength_mg in prices for line in lines)
    now = timezone.now()
    dispensation = Dispensation.objects.create(
        request=request,
        cycle=cycle,
        payer=payer,
        total_mg=given_mg,
        currency=next(iter(prices.values())).currency if prices else "",
        price_sources=[
            f"{p.strength_mg} mg: {p.price_per_unit} {p.currency} ({p.source})"
            for p in prices.values()
            if p.strength_mg in given
        ],
        note=note.strip(),
        partial=partial,
        plan_version=version.number if version else None,
        dispensed_by=actor,
        dispensed_at=now,
    )
    total = Decimal(0)
    for line in lines:
        price = prices.get(line.strength_mg)
        DispensationLine.objects.create(
            dispensation=dispensation,
            strength_mg=line.strength_mg,
            quantity=line.quantity,
            lot=line.lot.strip(),
            expiry=line.expiry,
            unit_price=price.price_per_unit if price else None,
        )
        if price:
            total += price.price_per_unit * line.quantity
    dispensation.cost = total.quantize(Decimal("0.01")) if priced else None
    dispensation.save(update_fields=["cost"])
    audit_record(
        actor=actor,
        action=AuditAction.DISPENSATION_CREATED,
        target=request,
        summary=f"{request.reference}: cycle {cycle} dispensed"
        + (" (partial)" if partial else "")
        + f" ({_tablets_text(given)}; plan v{version.number if version else '?'}: "
        f"{_tablets_text(plan_tablets)})",
        after={
            "dispensation": dispensation.pk,
            "cycle": cycle,
            "payer": payer,
            "partial": partial,
            "plan_version": version.number if version else None,
            "lines": [
                {"strength_mg": str(li.strength_mg), "quantity": li.quantity, "lot": li.lot}
                for li in lines
            ],
            "cost": str(dispensation.cost) if dispensation.cost is not None else None,
        },
    )
    if request.status == S.APPROVED:
        request_transition(
            actor=actor, request=request, transition="start_dispensing", automatic=True
        )
    return dispensation


def safety_summary_refresh(request: OffLabelRequest, ctx: Any = None) -> SafetySummary:
    """Store the request's number of open blocking findings for the lists."""
    report = safety_check(request, ctx)
    summary, _ = SafetySummary.objects.update_or_create(
        request=request,
        defaults={
            "open_blocking": len(report.open_blocking),
            "rules_version": report.rules.version,
        },
    )
    return summary


# --- Treatment plan versions -----------------------------------------------------------------


def plan_version_sync(
    *, actor: User | None, request: OffLabelRequest
) -> TreatmentPlanVersion | None:
    """Record a new plan version if the plan's inputs changed since the last one (call it in
    the transaction of the change). Consent forms on the old plan are superseded (attestations
    whose inputs changed are withdrawn by regulatory.attestations, from the same
    ``inputs_changed`` call). Returns the current version."""
    ctx = plan_context(request)
    latest = plan_version_latest(request)
    safety_summary_refresh(request, ctx)
    if latest is not None and latest.inputs_hash == ctx.digest:
        return latest
    if ctx.plan is None and latest is None:
        return None
    inputs = ctx.inputs.as_data()
    changed = (
        sorted(k for k in inputs if inputs.get(k) != (latest.inputs or {}).get(k))
        if latest is not None
        else []
    )
    version = TreatmentPlanVersion.objects.create(
        request=request,
        number=(latest.number + 1) if latest else 1,
        inputs_hash=ctx.digest,
        inputs=inputs,
        schedule=ctx.plan.schedule_data() if ctx.plan else [],
        rules_version=ctx.rules.version,
        changed=changed,
        created_by=actor,
    )
    audit_record(
        actor=actor,
        action=AuditAction.PLAN_VERSION_CREATED,
        target=request,
        hospital=request.hospital,
        summary=f"{request.reference}: treatment plan v{version.number}"
        + (f" (changed: {', '.join(changed)})" if changed else ""),
        after={"version": version.number, "changed": changed},
    )
    if latest is not None:
        for hook in _PLAN_VERSION_CREATED:
            hook(request)
    return version


@inputs_changed_register
def _plan_inputs_changed(*, actor: User | None, request: OffLabelRequest) -> None:
    plan_version_sync(actor=actor, request=request)


# --- Drug prices -----------------------------------------------------------------------------


@transaction.atomic
def drug_price_add(
    *,
    actor: User,
    drug: Drug,
    strength_mg: Decimal,
    price_per_unit: Decimal,
    currency: str = "EUR",
    source: str,
    valid_from: date,
) -> DrugPrice:
    """A new price for one tablet strength; older prices stay for the cost history."""
    require_role(actor, Role.PHARMACIST, message=_pharmacist_only(gettext("record drug prices")))
    if actor.hospital_id is None:
        raise ApplicationError(gettext("Prices belong to a hospital; your account has none."))
    if strength_mg not in set(tablet_strengths(label_rules_current())):
        raise ApplicationError(
            gettext("%(strength)s mg is not a tablet strength.") % {"strength": strength_mg},
            extra={"field": "strength_mg"},
        )
    if price_per_unit <= 0:
        raise ApplicationError(
            gettext("The price must be above zero."), extra={"field": "price_per_unit"}
        )
    if not source.strip():
        raise ApplicationError(
            gettext("Say where the price comes from (tender, invoice, price list)."),
            extra={"field": "source"},
        )
    price = DrugPrice(
        hospital_id=actor.hospital_id,
        drug=drug,
        strength_mg=strength_mg,
        price_per_unit=price_per_unit,
        currency=currency.upper(),
        source=source.strip(),
        valid_from=valid_from,
        entered_by=actor,
    )
    price.full_clean()
    price.save()
    audit_record(
        actor=actor,
        action=AuditAction.DRUG_PRICE_ADDED,
        target=price,
        summary=f"{drug} {strength_mg} mg: {price_per_unit} {price.currency} from "
        f"{valid_from:%Y-%m-%d} ({price.source})",
        after={"price_per_unit": str(price_per_unit), "currency": price.currency},
    )
    return price


# Invented prices for the demo hospital only, labelled as such wherever they show.
DEMO_PRICES = (
    (Decimal(100), Decimal("48.5000")),
    (Decimal(50), Decimal("24.2500")),
    (Decimal(10), Decimal("4.8500")),
)
DEMO_PRICE_SOURCE = "Invented demo price (not a real tender or list price)"


def demo_prices_seed(*, actor: User) -> int:
    """Give the demo hospital invented tablet prices once, so cost figures show; returns how
    many were added."""
    if actor.hospital is None or not actor.hospital.is_demo:
        raise ApplicationError(gettext("Demo prices are only for the invented demo hospital."))
    added = 0
    for strength, price in DEMO_PRICES:
        if DrugPrice.objects.filter(hospital=actor.hospital, strength_mg=strength).exists():
            continue
        drug_price_add(
            actor=actor,
            drug=drug_default(),
            strength_mg=strength,
            price_per_unit=price,
            source=DEMO_PRICE_SOURCE,
            valid_from=date(2026, 1, 1),
        )
        added += 1
    return added
