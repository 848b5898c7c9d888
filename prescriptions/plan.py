"""The treatment plan in numbers: daily VEN doses over the planned cycles, tablets, and cost.

Assumption stated on every plan: VEN daily on every day of each cycle (days 1-28 of 28-day
cycles, as in the label's AML schedules), ramp-up on the first days of cycle 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from prescriptions.models import DrugPrice, OffLabelRequest

RAMP_UP_MG = {
    OffLabelRequest.RampUp.HMA_3_DAY: [Decimal(100), Decimal(200)],  # day 3 onward: target dose
    OffLabelRequest.RampUp.LDAC_4_DAY: [Decimal(100), Decimal(200), Decimal(400)],
}
TABLET_STRENGTHS = (Decimal(100), Decimal(50), Decimal(10))  # label: 10, 50 and 100 mg tablets


@dataclass
class Plan:
    days: int
    total_mg: Decimal
    tablets: dict[Decimal, int] = field(default_factory=dict)
    cost: Decimal | None = None
    currency: str = ""
    price_sources: list[str] = field(default_factory=list)
    missing_prices: list[Decimal] = field(default_factory=list)
    assumptions: str = (
        "VEN once daily on every day of each cycle; ramp-up on the first days of cycle 1; "
        "tablets of 100, 50 and 10 mg."
    )


def _tablets_for(dose: Decimal) -> dict[Decimal, int]:
    left, counts = dose, {}
    for strength in TABLET_STRENGTHS:
        n = int(left // strength)
        if n:
            counts[strength] = n
            left -= n * strength
    if left > 0:
        counts[TABLET_STRENGTHS[-1]] = counts.get(TABLET_STRENGTHS[-1], 0) + 1
    return counts


def treatment_plan(request: OffLabelRequest) -> Plan | None:
    if request.ven_target_dose_mg is None or request.cycles_planned is None:
        return None
    days = request.cycles_planned * request.cycle_length_days
    ramp = RAMP_UP_MG.get(request.ramp_up, [])[:days]  # type: ignore[call-overload]
    doses = ramp + [request.ven_target_dose_mg] * (days - len(ramp))
    plan = Plan(days=days, total_mg=sum(doses, Decimal(0)))
    for dose in doses:
        for strength, n in _tablets_for(dose).items():
            plan.tablets[strength] = plan.tablets.get(strength, 0) + n
    prices: dict[Decimal, DrugPrice] = {}
    for price in DrugPrice.objects.filter(
        hospital_id=request.hospital_id, drug_id=request.drug_id
    ).order_by("strength_mg", "-valid_from"):
        prices.setdefault(price.strength_mg, price)
    total = Decimal(0)
    for strength, n in plan.tablets.items():
        found = prices.get(strength)
        if found is None:
            plan.missing_prices.append(strength)
            continue
        total += price.price_per_unit * n
        plan.currency = price.currency
        plan.price_sources.append(
            f"{strength} mg: {price.price_per_unit} {price.currency} ({price.source})"
        )
    plan.cost = None if plan.missing_prices else total.quantize(Decimal("0.01"))
    return plan
