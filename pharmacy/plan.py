"""The treatment plan: the one place a venetoclax dose is computed.

``plan_compute(inputs, rules)`` is a pure function of the plan's inputs (request, profile,
medications with their dates, TLS first dose, remission and cytopenias from the follow-up)
and the typed label rules. It gives, for every cycle and day, the dose, its label-adjusted
maximum and the rules that set it, and the tablets per strength. The safety page, the
dispense form, the consent, the dossier, the API and the registry read this plan; none of
them computes a dose.

How a day's dose is set (each step cites a rule of ``label_rules.json`` by its code):
- requested: the request's ramp-up (a label schedule or a custom "10/20/50/70 mg"), each step
  no higher than the target dose, then the target;
- maximum: the lowest of the partner's label schedule, every inhibitor row active on that day
  (posaconazole 10/20/50/70 then 70; other strong CYP3A 10/20/50/100 then 100; moderate CYP3A
  or P-gp: half of the label step) and severe hepatic impairment (half of the label step);
- planned dose: the lower of the two, rounded down to what the tablets make. Uncertainty
  resolves toward the lower dose: a requested day above its maximum is planned at the maximum,
  and the safety checks raise a blocking finding for it.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

from pharmacy.rules import InhibitorRule, LabelRules

_CUSTOM_STEPS = re.compile(r"^\s*(\d+(?:\.\d+)?(?:\s*/\s*\d+(?:\.\d+)?)*)\s*mg\b", re.IGNORECASE)
CUSTOM = "custom"
LABEL_ADJUSTED = "label_adjusted"  # the partner's label ramp-up as the label adjusts it
STEADY_DAY = 10_000  # a ramp-up day index past every ramp-up: the steady dose

Tablets = dict[Decimal, int]


# --- Inputs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MedicationFacts:
    name: str
    recorded_class: str  # what the clinician recorded
    table_codes: tuple[str, ...]  # drugs of the classes file the name matched
    table_classes: tuple[str, ...]
    also_pgp: bool
    ongoing: bool
    started_on: date | None
    stopped_on: date | None
    class_confirmed: bool = True  # False: the table's entry for it is unconfirmed

    @property
    def classes(self) -> frozenset[str]:
        """Both the recorded and the table's classes: a mismatch never lowers the caution."""
        return frozenset({self.recorded_class, *self.table_classes})


@dataclass(frozen=True)
class CytopeniaFacts:
    term: str
    grade: int
    onset_on: date
    recovered_on: date | None  # back to grade <= 2 (or resolved)


@dataclass(frozen=True)
class LabFacts:
    """Pre-treatment laboratory values for tumour-lysis risk; None is unknown."""

    wbc: Decimal | None = None
    crcl: Decimal | None = None
    peripheral_blasts: Decimal | None = None
    marrow_blasts_percent: Decimal | None = None
    high_marrow_burden: str = "unknown"
    ldh: Decimal | None = None
    ldh_uln: Decimal | None = None
    # (analyte, value, status against the reference range)
    chemistry: tuple[tuple[str, Decimal | None, str], ...] = ()


@dataclass(frozen=True)
class TlsFacts:
    first_dose_at: datetime
    hydration: bool
    antihyperuricaemic: str
    chemistry_corrected: bool
    risk_note: str


@dataclass(frozen=True)
class PlanInputs:
    regimen: str
    ramp_up: str
    ramp_up_custom: str
    target_mg: Decimal | None
    cycles: int | None
    cycle_days: int
    bsa_m2: Decimal | None = None
    hepatic: str = "unknown"
    labs: LabFacts = LabFacts()
    medications: tuple[MedicationFacts, ...] = ()
    tls: TlsFacts | None = None
    remission_on: date | None = None
    cytopenias: tuple[CytopeniaFacts, ...] = ()
    early_window_days: int = 3

    @property
    def first_dose_on(self) -> date | None:
        return self.tls.first_dose_at.date() if self.tls else None

    def as_data(self) -> dict[str, Any]:
        """JSON-ready, for the version's hash and its stored snapshot."""

        def plain(value: Any) -> Any:
            if isinstance(value, Decimal):  # 400, 400.0 and 4E+2 are one value, one text
                return format(value.normalize(), "f")
            if isinstance(value, date | datetime):
                return value.isoformat()
            if isinstance(value, tuple | list):
                return [plain(v) for v in value]
            if isinstance(value, frozenset):
                return sorted(value)
            if hasattr(value, "__dataclass_fields__"):
                return {k: plain(getattr(value, k)) for k in value.__dataclass_fields__}
            return value

        data: dict[str, Any] = plain(self)
        return data


# --- Output ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limit:
    """Why a day's maximum is what it is: the rule code, the cap, who imposes it."""

    code: str  # "label", an inhibitor row's code, or "hepatic"
    max_mg: Decimal
    who: str
    rule_path: str


@dataclass(frozen=True)
class PlanDay:
    cycle: int
    day: int
    on: date | None
    requested_mg: Decimal
    max_mg: Decimal | None
    dose_mg: Decimal
    tablets: tuple[tuple[Decimal, int], ...]
    limits: tuple[Limit, ...] = ()

    @property
    def above_max(self) -> bool:
        return self.max_mg is not None and self.requested_mg > self.max_mg

    @property
    def binding(self) -> Limit | None:
        """The lowest limit of the day (the one that sets its maximum)."""
        return min(self.limits, key=lambda lim: lim.max_mg) if self.limits else None


@dataclass(frozen=True)
class Modification:
    """A change the plan makes for a reason: shown with the reason on every surface."""

    code: str  # an inhibitor row's code, "hepatic", "cytopenia_delay", "cytopenia_shortened"
    cycle: int | None
    starts_on: date | None
    ends_on: date | None
    detail: str  # English, with the figures
    rule_path: str


@dataclass
class PlanCycle:
    number: int
    length_days: int
    ven_days: int
    start_on: date | None
    days: list[PlanDay] = field(default_factory=list)
    waits_for: str = ""  # why the cycle cannot start yet (English), e.g. cytopenia recovery
    cytopenia_occurrences: int = 0  # grade 4 cytopenias after remission before this cycle

    @property
    def tablets(self) -> Tablets:
        total: Tablets = {}
        for day in self.days:
            for strength, n in day.tablets:
                total[strength] = total.get(strength, 0) + n
        return dict(sorted(total.items(), reverse=True))

    @property
    def total_mg(self) -> Decimal:
        return sum((d.dose_mg for d in self.days), Decimal(0))

    def earliest_dispense_on(self, early_window_days: int) -> date | None:
        return self.start_on - timedelta(days=early_window_days) if self.start_on else None

    @property
    def doses(self) -> list[Decimal]:
        return [d.dose_mg for d in self.days]

    @property
    def ramp_up_days(self) -> list[PlanDay]:
        """The first days while the dose still rises (cycle 1)."""
        out: list[PlanDay] = []
        for day in self.days:
            if out and day.dose_mg <= out[-1].dose_mg:
                break
            out.append(day)
        return out[:-1] if len(out) > 1 else []


@dataclass(frozen=True)
class PartnerDose:
    drug: str
    mg_per_m2: Decimal
    bsa_m2: Decimal
    exact_mg: Decimal
    rounded_mg: Decimal
    round_to_mg: Decimal
    days: tuple[int, int]
    route: str


@dataclass(frozen=True)
class LabTime:
    day: int
    dose_mg: Decimal
    kind: str  # "pre", "after", "final"
    earliest: datetime
    latest: datetime


@dataclass
class TreatmentPlan:
    inputs: PlanInputs
    rules: LabelRules
    requested_steps_mg: list[Decimal] | None  # the request's ramp-up as written (None: unreadable)
    cycles: list[PlanCycle] = field(default_factory=list)
    modifications: list[Modification] = field(default_factory=list)
    partner_dose: PartnerDose | None = None
    lab_times: list[LabTime] = field(default_factory=list)

    @property
    def cycle_one(self) -> PlanCycle | None:
        return self.cycles[0] if self.cycles else None

    def cycle(self, number: int) -> PlanCycle | None:
        return self.cycles[number - 1] if 0 < number <= len(self.cycles) else None

    @property
    def schedule_mg(self) -> list[Decimal]:
        """Cycle 1's doses until the first day of the steady dose: "10/20/50/70"."""
        one = self.cycle_one
        if one is None:
            return []
        ramp = one.ramp_up_days
        return [d.dose_mg for d in ramp] + [one.days[len(ramp)].dose_mg] if one.days else []

    @property
    def steady_mg(self) -> Decimal | None:
        one = self.cycle_one
        return one.days[-1].dose_mg if one and one.days else None

    @property
    def days(self) -> list[PlanDay]:
        return [d for c in self.cycles for d in c.days]

    @property
    def total_mg(self) -> Decimal:
        return sum((c.total_mg for c in self.cycles), Decimal(0))

    @property
    def tablets(self) -> Tablets:
        total: Tablets = {}
        for c in self.cycles:
            for strength, n in c.tablets.items():
                total[strength] = total.get(strength, 0) + n
        return dict(sorted(total.items(), reverse=True))

    @property
    def days_total(self) -> int:
        return sum(c.length_days for c in self.cycles)

    def schedule_data(self) -> list[dict[str, Any]]:
        """Per cycle: start, VEN days and each day's dose and tablets (stored with a version,
        printed on the consent and the dossier)."""
        return [
            {
                "cycle": c.number,
                "start_on": c.start_on.isoformat() if c.start_on else None,
                "length_days": c.length_days,
                "ven_days": c.ven_days,
                "doses_mg": [str(d.dose_mg) for d in c.days],
                "tablets": {str(s): n for s, n in c.tablets.items()},
                "total_mg": str(c.total_mg),
            }
            for c in self.cycles
        ]


# --- Computation -----------------------------------------------------------------------------


def tablets_mg(tablets: Tablets | dict[Decimal, int]) -> Decimal:
    """The milligrams a count of tablets per strength makes."""
    return sum((strength * n for strength, n in tablets.items()), Decimal(0))


def tablets_for(dose: Decimal, strengths: tuple[Decimal, ...]) -> Tablets:
    """Fewest tablets making exactly ``dose`` (largest strength first); ``dose`` must be a
    multiple of the smallest strength (the plan rounds down to one)."""
    left, counts = dose, {}
    for strength in strengths:
        n = int(left // strength)
        if n:
            counts[strength] = n
            left -= n * strength
    if left:
        raise ValueError(f"{dose} mg cannot be made from {strengths} mg tablets")
    return counts


def custom_steps(text: str) -> list[Decimal] | None:
    found = _CUSTOM_STEPS.match(text or "")
    if not found:
        return None
    return [Decimal(s.strip()) for s in found.group(1).split("/")]


def requested_steps(inputs: PlanInputs, rules: LabelRules) -> list[Decimal] | None:
    """The ramp-up the request writes (label schedule or custom); None if unreadable."""
    if inputs.ramp_up == CUSTOM:
        return custom_steps(inputs.ramp_up_custom)
    if inputs.ramp_up == LABEL_ADJUSTED:
        return label_schedule(inputs, rules) or [inputs.target_mg] if inputs.target_mg else None
    ramp = rules.ramp_ups.get(inputs.ramp_up)
    return list(ramp.steps_mg) if ramp else None


def label_schedule(inputs: PlanInputs, rules: LabelRules) -> list[Decimal] | None:
    """The partner's label ramp-up, its last step held (None: no label schedule)."""
    partner = rules.partners.get(inputs.regimen)
    return list(rules.ramp_ups[partner.ramp_up].steps_mg) if partner else None


def _step(steps: list[Decimal], ramp_day: int) -> Decimal:
    return steps[min(ramp_day, len(steps)) - 1]


def _floor_to(value: Decimal, unit: Decimal) -> Decimal:
    return (value / unit).to_integral_value(rounding=ROUND_FLOOR) * unit


def inhibitor_rules_for(med: MedicationFacts, rules: LabelRules) -> list[InhibitorRule]:
    """The dose rows that apply to one medication: its own drug row where the label has one
    (posaconazole), else its classes' rows."""
    own = [r for r in rules.inhibitors if set(r.match_drug_codes) & set(med.table_codes)]
    if own:
        return own
    return [
        r
        for r in rules.inhibitors
        if set(r.match_classes) & med.classes or (r.match_also_pgp and med.also_pgp)
    ]


def inhibitor_active(med: MedicationFacts, on: date | None, resume_after_days: int) -> bool:
    """Whether an inhibitor changes the dose on a day. Undated plans (no first dose yet) read
    the medication list as it is now. The previous dose resumes ``resume_after_days`` after
    the stop date (the later end of the label's 2-3 days)."""
    if on is None:
        return med.ongoing and (med.stopped_on is None)
    if med.started_on is not None and on < med.started_on:
        return False
    if med.stopped_on is not None:
        return on < med.stopped_on + timedelta(days=resume_after_days)
    return med.ongoing


def _day_limits(
    inputs: PlanInputs,
    rules: LabelRules,
    ramp_day: int,
    on: date | None,
    label: list[Decimal] | None,
    requested: Decimal,
) -> list[Limit]:
    base = _step(label, ramp_day) if label else requested
    limits: list[Limit] = []
    if label:
        limits.append(
            Limit("label", base, inputs.regimen, f"ramp_ups.{_label_code(inputs, rules)}")
        )
    for med in inputs.medications:
        if not inhibitor_active(med, on, rules.resume_after_days):
            continue
        for row in inhibitor_rules_for(med, rules):
            limits.append(Limit(row.code, row.max_for_day(ramp_day, base), med.name, row.rule.path))
    if inputs.hepatic in rules.hepatic_severe:
        cap = base * (100 - rules.hepatic_reduce_by_percent) / 100
        limits.append(Limit("hepatic", cap, "severe hepatic impairment", "hepatic"))
    return limits


def _label_code(inputs: PlanInputs, rules: LabelRules) -> str:
    partner = rules.partners.get(inputs.regimen)
    return partner.ramp_up if partner else ""


def _partner_dose(inputs: PlanInputs, rules: LabelRules) -> PartnerDose | None:
    partner = rules.partners.get(inputs.regimen)
    if partner is None or inputs.bsa_m2 is None:
        return None
    exact = (partner.mg_per_m2 * inputs.bsa_m2).quantize(Decimal("0.01"))
    step = partner.round_to_mg
    rounded = ((exact / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step).normalize()
    return PartnerDose(
        partner.drug,
        partner.mg_per_m2,
        inputs.bsa_m2,
        exact,
        rounded,
        step,
        partner.days,
        partner.route,
    )


def _qualifying_cytopenias(inputs: PlanInputs, rules: LabelRules) -> list[CytopeniaFacts]:
    """Grade 4 neutropenia or thrombocytopenia after remission lasting >= 7 days, or not yet
    recovered (then the next cycle waits: the safer reading)."""
    rule = rules.cytopenia
    if inputs.remission_on is None:
        return []
    found = []
    for c in sorted(inputs.cytopenias, key=lambda c: c.onset_on):
        if c.term not in rule.terms or c.grade < rule.grade or c.onset_on < inputs.remission_on:
            continue
        if c.recovered_on is not None and (c.recovered_on - c.onset_on).days < rule.lasting_days:
            continue
        found.append(c)
    return found


def plan_compute(inputs: PlanInputs, rules: LabelRules) -> TreatmentPlan | None:
    """The plan, or None when the request has no target dose or no number of cycles."""
    if inputs.target_mg is None or not inputs.cycles:
        return None
    requested_ramp = requested_steps(inputs, rules)
    label = label_schedule(inputs, rules)
    # An unreadable ramp-up is planned on the label's (or, with no label, at the target from
    # day 1 under the inhibitor limits); the checks block it until it is written readably.
    ramp = requested_ramp if requested_ramp is not None else (label or [inputs.target_mg])
    target = inputs.target_mg
    smallest = rules.strengths_mg[-1]
    plan = TreatmentPlan(inputs, rules, requested_ramp, partner_dose=_partner_dose(inputs, rules))
    episodes = _qualifying_cytopenias(inputs, rules)
    cyto = rules.cytopenia
    occurrences = 0
    for number in range(1, inputs.cycles + 1):
        cycle = PlanCycle(number, inputs.cycle_days, inputs.cycle_days, inputs.first_dose_on)
        if number > 1 and plan.cycles:
            previous = plan.cycles[-1]
            planned_start = (
                previous.start_on + timedelta(days=previous.length_days)
                if previous.start_on
                else None
            )
            cycle.start_on = planned_start
            waits = ""
            # Every episode that began by the (possibly delayed) start holds the cycle; a
            # delay can bring in an episode that began during it, so look again after each.
            while due := [
                e for e in episodes if cycle.start_on is None or e.onset_on <= cycle.start_on
            ]:
                c = due[0]
                episodes.remove(c)
                occurrences += 1
                if c.recovered_on is None:
                    waits = (
                        f"grade {c.grade} {c.term.replace('_', ' ')} since "
                        f"{c.onset_on.isoformat()}: cycle {number} waits for recovery to grade "
                        f"<= {cyto.recovered_grade}"
                    )
                    cycle.start_on = None
                elif cycle.start_on is not None and c.recovered_on > cycle.start_on:
                    plan.modifications.append(
                        Modification(
                            "cytopenia_delay",
                            number,
                            cycle.start_on,
                            c.recovered_on,
                            f"cycle {number} delayed from {cycle.start_on.isoformat()} to "
                            f"{c.recovered_on.isoformat()}: grade {c.grade} "
                            f"{c.term.replace('_', ' ')} from {c.onset_on.isoformat()}, "
                            f"recovered to grade <= {cyto.recovered_grade} on "
                            f"{c.recovered_on.isoformat()} (occurrence {occurrences})",
                            cyto.rule.path,
                        )
                    )
                    cycle.start_on = c.recovered_on
                if cycle.start_on is None and planned_start is not None:
                    break  # waiting: later episodes are placed once this one has recovered
            cycle.cytopenia_occurrences = occurrences
            cycle.waits_for = waits or previous.waits_for
            if previous.waits_for:
                cycle.start_on = None
            if occurrences >= 2:
                cycle.ven_days = max(0, inputs.cycle_days - cyto.shorten_days * (occurrences - 1))
                plan.modifications.append(
                    Modification(
                        "cytopenia_shortened",
                        number,
                        cycle.start_on,
                        None,
                        f"cycle {number}: VEN on days 1–{cycle.ven_days} of "
                        f"{inputs.cycle_days} (occurrence {occurrences} of grade 4 cytopenia "
                        f"after remission: {cyto.shorten_days} days less per later occurrence)",
                        cyto.rule.path,
                    )
                )
        for day in range(1, cycle.ven_days + 1):
            on = cycle.start_on + timedelta(days=day - 1) if cycle.start_on else None
            ramp_day = day if number == 1 else STEADY_DAY
            in_ramp_up = number == 1 and day <= len(ramp)
            requested = min(ramp[day - 1], target) if in_ramp_up else target
            limits = _day_limits(inputs, rules, ramp_day, on, label, requested)
            maximum = min((lim.max_mg for lim in limits), default=None)
            if inputs.ramp_up == LABEL_ADJUSTED and maximum is not None:
                # Asked for "the label's ramp-up, adjusted": the adjusted dose is the request.
                requested = min(requested, _floor_to(maximum, smallest))
            dose = requested if maximum is None else min(requested, maximum)
            dose = _floor_to(dose, smallest)
            cycle.days.append(
                PlanDay(
                    number,
                    day,
                    on,
                    requested,
                    maximum,
                    dose,
                    tuple(tablets_for(dose, rules.strengths_mg).items()),
                    tuple(limits),
                )
            )
        plan.cycles.append(cycle)
    plan.modifications[:0] = _dose_modifications(plan)
    plan.lab_times = _lab_times(plan)
    return plan


def modification_spans(plan: TreatmentPlan) -> dict[tuple[str, str], list[tuple[PlanDay, Limit]]]:
    """Each limit other than the label's (an inhibitor of one drug, the liver), with the days
    it applies to and its value on each: what the modifications and their findings read."""
    spans: dict[tuple[str, str], list[tuple[PlanDay, Limit]]] = {}
    for day in plan.days:
        for lim in day.limits:
            if lim.code != "label":
                spans.setdefault((lim.code, lim.who), []).append((day, lim))
    return spans


def _dose_modifications(plan: TreatmentPlan) -> list[Modification]:
    """One modification per limit other than the label's, over the days it binds."""
    out = []
    for (code, who), pairs in modification_spans(plan).items():
        first, last = pairs[0][0], pairs[-1][0]
        rule_path = pairs[0][1].rule_path
        where = (
            f"{first.on.isoformat()} to {last.on.isoformat()}"
            if first.on and last.on
            else f"cycle {first.cycle} day {first.day} to cycle {last.cycle} day {last.day}"
        )
        out.append(Modification(code, first.cycle, first.on, last.on, f"{who}: {where}", rule_path))
    return out


def _lab_times(plan: TreatmentPlan) -> list[LabTime]:
    """Blood chemistry for TLS: before and 6-8 h after each new dose of cycle 1 until the
    steady dose, and 24 h after reaching it. Day n's dose is taken at day 1's clock time."""
    tls = plan.inputs.tls
    one = plan.cycle_one
    if tls is None or one is None or not one.days:
        return []
    rules = plan.rules
    early, late = (timedelta(hours=h) for h in rules.tls_labs_hours_after_new_dose)
    steps = [*one.ramp_up_days, one.days[len(one.ramp_up_days)]]
    times = []
    for day in steps:
        taken = tls.first_dose_at + timedelta(days=day.day - 1)
        times.append(LabTime(day.day, day.dose_mg, "pre", taken, taken))
        times.append(LabTime(day.day, day.dose_mg, "after", taken + early, taken + late))
    final = (
        tls.first_dose_at
        + timedelta(days=steps[-1].day - 1)
        + timedelta(hours=rules.tls_labs_hours_after_final_dose)
    )
    times.append(LabTime(steps[-1].day + 1, steps[-1].dose_mg, "final", final, final))
    return times


def inputs_digest(inputs: PlanInputs, rules: LabelRules, classes_digest: str) -> str:
    payload = json.dumps(
        {"inputs": inputs.as_data(), "rules": rules.version, "classes": classes_digest},
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()
