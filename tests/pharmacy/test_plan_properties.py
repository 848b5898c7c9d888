"""Property tests of the treatment plan and its safety checks: hypothesis over random partners,
ramp-ups, targets, cycles, livers, medication lists with dates, first doses, remissions and
cytopenias. Each invariant is one test, named after it. Pure: no database.
"""

from __future__ import annotations

import itertools
import os
import re
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pharmacy.plan import (
    CUSTOM,
    LABEL_ADJUSTED,
    CytopeniaFacts,
    MedicationFacts,
    PlanInputs,
    TlsFacts,
    TreatmentPlan,
    plan_compute,
)
from pharmacy.safety import BLOCKING, Finding, findings_compute, steps_text_plain
from prescriptions.medication_classes import classes_current
from tests.pharmacy.test_plan_rules import (
    CLEAN_LABS,
    FIRST_DOSE,
    RULES,
    assert_cited_by_code,
    med,
)

D = Decimal
# OFFLABEL_HYPOTHESIS_EXAMPLES lowers the example count for mutation runs only (default 300).
PROPERTY = settings(
    max_examples=int(os.environ.get("OFFLABEL_HYPOTHESIS_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
DAY1 = FIRST_DOSE.date()
REGIMENS = [*RULES.partners, "flag_ida", "dli", "monotherapy", "other", ""]
LABEL_RAMP_UPS = list(RULES.ramp_ups)
NAMES = [d.name for d in classes_current().drugs] + [
    "Noxafil 300 mg",
    "lopinavir/ritonavir",
    "paracetamol",
    "zorbamycin",
    "",
]
RECORDED = [
    "unknown",
    "none_known",
    "strong_cyp3a_inhibitor",
    "moderate_cyp3a_inhibitor",
    "pgp_inhibitor",
    "strong_cyp3a_inducer",
]
STRONG = {"strong_cyp3a_inhibitor"}
MODERATE_OR_PGP = {"moderate_cyp3a_inhibitor", "pgp_inhibitor"}
ABOVE = {"dose_above_label", "dose_above_inhibitor", "dose_above_hepatic"}

# --- strategies -------------------------------------------------------------------------------

targets = st.one_of(st.integers(1, 120).map(lambda n: D(n * 10)), st.integers(10, 1200).map(D))
step_numbers = st.one_of(
    st.integers(1, 1200).map(str),
    st.decimals(min_value=1, max_value=800, places=1).map(str),
)
custom_texts = st.one_of(
    st.lists(step_numbers, min_size=1, max_size=6).map(lambda s: "/".join(s) + " mg"),
    st.text(max_size=20),
)
offsets = st.none() | st.integers(-40, 200)


@st.composite
def medications(draw: Any) -> MedicationFacts:
    name = draw(st.sampled_from(NAMES))
    started = draw(offsets)
    stopped = draw(st.none() | st.integers(0, 120))
    start_on = DAY1 + timedelta(days=started) if started is not None else None
    stop_on = None
    if stopped is not None:
        stop_on = (start_on or DAY1 - timedelta(days=30)) + timedelta(days=stopped)
    return med(
        name,
        draw(st.sampled_from(RECORDED)),
        ongoing=draw(st.booleans()),
        started_on=start_on,
        stopped_on=stop_on,
        also_pgp=draw(st.booleans()),
    )


@st.composite
def cytopenias(draw: Any) -> CytopeniaFacts:
    onset = DAY1 + timedelta(days=draw(st.integers(-10, 220)))
    lasting = draw(st.none() | st.integers(1, 40))
    return CytopeniaFacts(
        draw(st.sampled_from([*RULES.cytopenia.terms, "anaemia"])),
        draw(st.sampled_from([3, 4, 4, 4])),
        onset,
        onset + timedelta(days=lasting) if lasting is not None else None,
    )


@st.composite
def plan_inputs(draw: Any, regimens: list[str] = REGIMENS) -> PlanInputs:
    ramp_up = draw(st.sampled_from([*LABEL_RAMP_UPS, LABEL_ADJUSTED, CUSTOM]))
    dated = draw(st.booleans())
    remission = draw(st.none() | st.integers(0, 120))
    return PlanInputs(
        regimen=draw(st.sampled_from(regimens)),
        ramp_up=ramp_up,
        ramp_up_custom=draw(custom_texts) if ramp_up == CUSTOM else "",
        target_mg=draw(targets),
        cycles=draw(st.integers(1, 6)),
        cycle_days=draw(st.integers(14, 42)),
        bsa_m2=draw(st.none() | st.decimals(min_value="1.2", max_value="2.5", places=2)),
        hepatic=draw(st.sampled_from(["normal", "mild", "moderate", "severe", "unknown"])),
        labs=CLEAN_LABS,
        medications=tuple(draw(st.lists(medications(), max_size=4))),
        tls=TlsFacts(FIRST_DOSE, True, "allopurinol", True, "") if dated else None,
        remission_on=DAY1 + timedelta(days=remission) if remission is not None else None,
        cytopenias=tuple(draw(st.lists(cytopenias(), max_size=4))),
    )


def compute(inputs: PlanInputs) -> tuple[TreatmentPlan, list[Finding]]:
    plan = plan_compute(inputs, RULES)
    assert plan is not None
    found = findings_compute(plan, RULES, inputs)
    assert_cited_by_code(found)
    return plan, found


def active_every_day(m: MedicationFacts) -> bool:
    return m.ongoing and m.stopped_on is None and (m.started_on is None or m.started_on <= DAY1)


def label_step(inputs: PlanInputs, cycle: int, day: int) -> Decimal:
    steps = RULES.ramp_ups[RULES.partners[inputs.regimen].ramp_up].steps_mg
    return steps[-1] if cycle > 1 else steps[min(day, len(steps)) - 1]


# --- invariants -------------------------------------------------------------------------------


@PROPERTY
@given(plan_inputs())
def test_no_planned_dose_above_the_adjusted_maximum_and_a_request_above_it_blocks(inputs):
    """No planned day's dose is above its label-adjusted maximum; where the request asked more,
    an open blocking dose_above_* finding exists."""
    plan, found = compute(inputs)
    blocking = {f.code for f in found if f.open}
    for day in plan.days:
        if day.max_mg is not None:
            assert day.dose_mg <= day.max_mg
        assert day.dose_mg <= day.requested_mg
        if day.max_mg is not None and day.requested_mg > day.max_mg:
            assert blocking & ABOVE, (day, blocking)
    if not any(d.above_max for d in plan.days):
        assert not {f.code for f in found} & ABOVE


@PROPERTY
@given(plan_inputs())
def test_tablets_times_strengths_equal_each_dose_and_the_cycle_tablets_their_sum(inputs):
    """Tablets × strengths equal the day's dose on every day; a cycle's tablets are the sum of
    its days'; the plan's the sum of its cycles'."""
    plan, _ = compute(inputs)
    for cycle in plan.cycles:
        summed: dict[Decimal, int] = {}
        for day in cycle.days:
            assert sum((s * n for s, n in day.tablets), D(0)) == day.dose_mg
            assert all(n > 0 and s in RULES.strengths_mg for s, n in day.tablets)
            for s, n in day.tablets:
                summed[s] = summed.get(s, 0) + n
        assert cycle.tablets == summed
    total: dict[Decimal, int] = {}
    for cycle in plan.cycles:
        for s, n in cycle.tablets.items():
            total[s] = total.get(s, 0) + n
    assert plan.tablets == total


@PROPERTY
@given(
    plan_inputs(), st.sampled_from(["voriconazole", "clarithromycin", "newazole", "posaconazole"])
)
def test_a_strong_cyp3a_inhibitor_on_every_day_keeps_every_day_at_most_100_mg(inputs, name):
    """With any strong CYP3A inhibitor active on every day, no day exceeds 100 mg."""
    strong = med(name, "strong_cyp3a_inhibitor")
    plan, _ = compute(replace(inputs, medications=(*inputs.medications, strong)))
    assert all(d.dose_mg <= 100 for d in plan.days)
    # and whatever class list already held one
    if any(m.classes & STRONG and active_every_day(m) for m in inputs.medications):
        assert all(d.dose_mg <= 100 for d in compute(inputs)[0].days)


@PROPERTY
@given(plan_inputs())
def test_posaconazole_keeps_every_day_at_most_70_and_starts_10_20_50_70(inputs):
    """With posaconazole, no day exceeds 70 mg; cycle 1 starts 10/20/50/70 when the target is
    >= 70 (label ramp-ups, no halving rule in force)."""
    i = replace(inputs, medications=(*inputs.medications, med("posaconazole")))
    plan, _ = compute(i)
    assert all(d.dose_mg <= 70 for d in plan.days)
    halving = i.hepatic in RULES.hepatic_severe or any(
        (m.classes & MODERATE_OR_PGP or m.also_pgp) and (m.ongoing or m.stopped_on)
        for m in i.medications
    )
    if i.target_mg >= 70 and i.ramp_up != CUSTOM and not halving and i.cycle_days >= 4:
        assert plan.cycle_one.doses[:4] == [D(10), D(20), D(50), D(70)]


@PROPERTY
@given(
    plan_inputs(regimens=list(RULES.partners)),
    st.sampled_from(["fluconazole", "letermovir", "amiodarone", "ciclosporin"]),
)
def test_a_moderate_or_pgp_inhibitor_keeps_every_day_at_most_half_the_label_step(inputs, name):
    """A moderate CYP3A or P-gp inhibitor on every day: every day is at most half the label step
    (partners with a label schedule)."""
    plan, _ = compute(replace(inputs, medications=(*inputs.medications, med(name))))
    for day in plan.days:
        assert day.dose_mg <= label_step(inputs, day.cycle, day.day) / 2


@PROPERTY
@given(plan_inputs(), medications())
def test_adding_a_medication_never_raises_any_days_dose(inputs, extra):
    """Monotonicity: more inhibitors (any added medication) give lower or equal doses."""
    before, _ = compute(inputs)
    after, _ = compute(replace(inputs, medications=(*inputs.medications, extra)))
    assert len(before.days) == len(after.days)
    for a, b in zip(before.days, after.days, strict=True):
        assert (a.cycle, a.day) == (b.cycle, b.day)
        assert b.dose_mg <= a.dose_mg
        if a.max_mg is not None:
            assert b.max_mg is not None and b.max_mg <= a.max_mg


@PROPERTY
@given(plan_inputs())
def test_a_cycle_total_is_the_sum_of_its_days_and_never_above_target_times_ven_days(inputs):
    """A cycle's total_mg equals the sum of its days and never exceeds target × VEN days."""
    plan, _ = compute(inputs)
    for cycle in plan.cycles:
        assert len(cycle.days) == cycle.ven_days <= cycle.length_days
        assert cycle.total_mg == sum((d.dose_mg for d in cycle.days), D(0))
        assert cycle.total_mg <= inputs.target_mg * cycle.ven_days
        assert all(d.dose_mg >= 0 and d.dose_mg % RULES.strengths_mg[-1] == 0 for d in cycle.days)
    assert plan.total_mg == sum((c.total_mg for c in plan.cycles), D(0))


@PROPERTY
@given(plan_inputs())
def test_cytopenia_ven_days_never_increase_once_shortened(inputs):
    """The number of VEN days never increases from one cycle to the next once shortened, and it
    is only shortened after a post-remission episode."""
    plan, _ = compute(inputs)
    ven = [c.ven_days for c in plan.cycles]
    for a, b in itertools.pairwise(ven):
        if a < inputs.cycle_days:
            assert b <= a
    assert ven[0] == inputs.cycle_days
    if inputs.remission_on is None:
        assert ven == [inputs.cycle_days] * len(ven)
        assert all(c.waits_for == "" for c in plan.cycles)


def _qualifying_unrecovered(inputs: PlanInputs) -> list[CytopeniaFacts]:
    rule = RULES.cytopenia
    if inputs.remission_on is None:
        return []
    return [
        c
        for c in inputs.cytopenias
        if c.recovered_on is None
        and c.term in rule.terms
        and c.grade >= rule.grade
        and c.onset_on >= inputs.remission_on
    ]


@PROPERTY
@given(plan_inputs())
def test_a_cycle_after_an_unrecovered_cytopenia_waits_with_a_blocking_cytopenia_delay(inputs):
    """A cycle after an unrecovered post-remission grade 4 episode has waits_for set, no start
    date, and a blocking cytopenia_delay finding exists; later cycles wait too."""
    plan, found = compute(inputs)
    planned_two = DAY1 + timedelta(days=inputs.cycle_days) if inputs.tls else None
    before_two = [
        c
        for c in _qualifying_unrecovered(inputs)
        if planned_two is None or c.onset_on < planned_two
    ]
    if before_two and inputs.cycles >= 2:
        assert all(c.waits_for and c.start_on is None for c in plan.cycles[1:])
    waiting = [c for c in plan.cycles if c.waits_for]
    if waiting:
        first = waiting[0].number
        assert first > 1
        assert all(c.waits_for and c.start_on is None for c in plan.cycles[first - 1 :])
        delay = [f for f in found if f.code == "cytopenia_delay"]
        assert len(delay) == 1 and delay[0].severity == BLOCKING and delay[0].open
    else:
        assert "cytopenia_delay" not in {f.code for f in found}


_RUN = re.compile(r"^(\d+(?:\.\d+)?)(?:x(\d+))?$")


def parse_steps_plain(text: str) -> list[Decimal]:
    """'10/20/50/70x25' -> ten, twenty, fifty, then 25 days of seventy."""
    out: list[Decimal] = []
    for part in text.split("/") if text else []:
        found = _RUN.match(part)
        assert found, part
        out += [D(found.group(1))] * int(found.group(2) or 1)
    return out


@PROPERTY
@given(plan_inputs())
def test_the_consent_schedule_text_round_trips_to_the_plans_doses(inputs):
    """The consent's schedule equals the plan's: steps_text_plain(cycle.doses) parses back to
    exactly cycle.doses."""
    plan, _ = compute(inputs)
    for cycle in plan.cycles:
        text = steps_text_plain(cycle.doses)
        assert parse_steps_plain(text) == cycle.doses
        assert "E" not in text
