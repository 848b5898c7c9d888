"""The treatment plan in numbers: daily VEN doses per cycle, tablets per strength, and cost.

The ramp-up steps and the tablet strengths come from the current label rules (data, with
sources). Stated on every plan: VEN once daily on every day of each cycle (days 1-28 of
28-day cycles, as in the label's AML schedules), ramp-up on the first days of cycle 1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext

from pharmacy.models import LabelRuleSet
from pharmacy.rules import label_rules_current, tablet_strengths
from prescriptions.models import DrugPrice, OffLabelRequest

_CUSTOM_STEPS = re.compile(r"^\s*(\d+(?:\.\d+)?(?:\s*/\s*\d+(?:\.\d+)?)+)\s*mg\b", re.IGNORECASE)

Tablets = dict[Decimal, int]


@dataclass
class RampUp:
    steps_mg: list[Decimal]  # every step, the last one being the dose kept afterwards
    source: str  # where the steps come from, in words

    @property
    def days_before_target(self) -> list[Decimal]:
        return self.steps_mg[:-1]


@dataclass
class CyclePlan:
    cycle: int
    days: int
    ramp_up_doses: list[Decimal]
    target_dose: Decimal
    ramp_up_tablets: Tablets
    rest_tablets: Tablets
    total_mg: Decimal

    @property
    def tablets(self) -> Tablets:
        total: Tablets = dict(self.rest_tablets)
        for strength, n in self.ramp_up_tablets.items():
            total[strength] = total.get(strength, 0) + n
        return dict(sorted(total.items(), reverse=True))


@dataclass
class Plan:
    days: int
    total_mg: Decimal
    ramp_up: RampUp | None
    tablets: Tablets = field(default_factory=dict)
    cost: Decimal | None = None
    currency: str = ""
    price_sources: list[str] = field(default_factory=list)
    missing_prices: list[Decimal] = field(default_factory=list)
    # In the interface language of whoever computes the plan (English for the PDF dossier).
    assumptions: str = field(
        default_factory=lambda: gettext(
            "VEN once daily on every day of each cycle; ramp-up on the first days of cycle 1; "
            "tablets of 100, 50 and 10 mg."
        )
    )


def ramp_up_for(request: OffLabelRequest, rules: LabelRuleSet | None = None) -> RampUp | None:
    """The ramp-up the request plans: a label schedule, or a custom one written "10/20/50/70 mg"."""
    rules = rules or label_rules_current()
    if request.ramp_up == OffLabelRequest.RampUp.CUSTOM:
        found = _CUSTOM_STEPS.match(request.ramp_up_custom or "")
        if not found:
            return None
        steps = [Decimal(s.strip()) for s in found.group(1).split("/")]
        return RampUp(
            steps,
            gettext("as written in the request: %(text)s")
            % {"text": request.ramp_up_custom.strip()},
        )
    label = rules.data["ramp_ups"].get(request.ramp_up)
    if label is None:
        return None
    return RampUp(
        [Decimal(s) for s in label["steps_mg"]],
        gettext("label rules v%(version)s: %(wording)s")
        % {"version": rules.version, "wording": label["wording"]},
    )


def tablets_for(dose: Decimal, strengths: tuple[Decimal, ...]) -> Tablets:
    """Fewest tablets for one daily dose, largest strength first. A remainder that no tablet
    makes up is rounded up with the smallest tablet (the safety checks flag such doses)."""
    left, counts = dose, {}
    for strength in strengths:
        n = int(left // strength)
        if n:
            counts[strength] = n
            left -= n * strength
    if left > 0:
        counts[strengths[-1]] = counts.get(strengths[-1], 0) + 1
    return counts


def _add(total: Tablets, more: Tablets, times: int = 1) -> None:
    for strength, n in more.items():
        total[strength] = total.get(strength, 0) + n * times


def cycle_plan(
    request: OffLabelRequest, cycle: int, rules: LabelRuleSet | None = None
) -> CyclePlan | None:
    if request.ven_target_dose_mg is None:
        return None
    rules = rules or label_rules_current()
    strengths = tablet_strengths(rules)
    target = request.ven_target_dose_mg
    days = request.cycle_length_days
    ramp_up = ramp_up_for(request, rules) if cycle == 1 else None
    ramp_doses = [min(d, target) for d in ramp_up.days_before_target][:days] if ramp_up else []
    ramp_tablets: Tablets = {}
    for dose in ramp_doses:
        _add(ramp_tablets, tablets_for(dose, strengths))
    rest_tablets: Tablets = {}
    _add(rest_tablets, tablets_for(target, strengths), days - len(ramp_doses))
    return CyclePlan(
        cycle=cycle,
        days=days,
        ramp_up_doses=ramp_doses,
        target_dose=target,
        ramp_up_tablets=dict(sorted(ramp_tablets.items(), reverse=True)),
        rest_tablets=dict(sorted(rest_tablets.items(), reverse=True)),
        total_mg=sum(ramp_doses, Decimal(0)) + target * (days - len(ramp_doses)),
    )


def prices_current(request: OffLabelRequest, on: date | None = None) -> dict[Decimal, DrugPrice]:
    """The hospital's latest price per tablet strength valid on the given day (default today)."""
    on = on or timezone.localdate()
    prices: dict[Decimal, DrugPrice] = {}
    for price in DrugPrice.objects.filter(
        hospital_id=request.hospital_id, drug_id=request.drug_id, valid_from__lte=on
    ).order_by("strength_mg", "-valid_from", "-pk"):
        prices.setdefault(price.strength_mg, price)
    return prices


def treatment_plan(request: OffLabelRequest) -> Plan | None:
    if request.ven_target_dose_mg is None or request.cycles_planned is None:
        return None
    rules = label_rules_current()
    plan = Plan(days=0, total_mg=Decimal(0), ramp_up=ramp_up_for(request, rules))
    for number in range(1, request.cycles_planned + 1):
        one = cycle_plan(request, number, rules)
        assert one is not None
        plan.days += one.days
        plan.total_mg += one.total_mg
        _add(plan.tablets, one.tablets)
    plan.tablets = dict(sorted(plan.tablets.items(), reverse=True))
    prices = prices_current(request)
    total = Decimal(0)
    for strength, n in plan.tablets.items():
        price = prices.get(strength)
        if price is None:
            plan.missing_prices.append(strength)
            continue
        total += price.price_per_unit * n
        plan.currency = price.currency
        plan.price_sources.append(
            f"{strength} mg: {price.price_per_unit} {price.currency} ({price.source})"
        )
    plan.cost = None if plan.missing_prices else total.quantize(Decimal("0.01"))
    return plan
