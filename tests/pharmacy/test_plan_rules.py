"""One example per rule of label_rules.json and per finding code of its catalogue, with the
label's numbers. Pure: the plan and the checks are computed from typed inputs, no database.

Each test says which rules it exercises (``@cites``) and quotes their wording from the data file
in its docstring; ``test_every_rule_and_finding_code_has_an_example`` checks that nothing in the
file is left without one, and that each docstring quotes the wording of the rules it cites.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from pharmacy.plan import (
    CytopeniaFacts,
    LabFacts,
    MedicationFacts,
    Modification,
    PlanInputs,
    TlsFacts,
    TreatmentPlan,
    custom_steps,
    inputs_digest,
    plan_compute,
    tablets_for,
)
from pharmacy.rules import LABEL_RULES_FILE, RulesInvalid, label_rules_parse
from pharmacy.safety import (
    BLOCKING,
    Finding,
    SafetyReport,
    findings_compute,
    steps_text_plain,
)
from prescriptions.medication_classes import medication_classify

DATA = json.loads(LABEL_RULES_FILE.read_text(encoding="utf-8"))
RULES = label_rules_parse(DATA, 2)
SAFETY_PY = Path(__file__).resolve().parents[2] / "pharmacy" / "safety.py"
ROME = ZoneInfo("Europe/Rome")
FIRST_DOSE = datetime(2026, 12, 1, 9, 0, tzinfo=ROME)
DAY1 = FIRST_DOSE.date()
NEUTROPENIA = "neutrophil_count_decreased"
THROMBOCYTOPENIA = "platelet_count_decreased"
D = Decimal

# --- builders ---------------------------------------------------------------------------------


def med(
    name: str,
    recorded: str = "unknown",
    *,
    ongoing: bool = True,
    started_on: date | None = None,
    stopped_on: date | None = None,
    also_pgp: bool = False,
) -> MedicationFacts:
    """A medication as plan_inputs() builds it: the table's classes for the typed name."""
    table = medication_classify(name)
    return MedicationFacts(
        name=name,
        recorded_class=recorded,
        table_codes=tuple(d.code for d in table),
        table_classes=tuple(d.klass for d in table),
        also_pgp=also_pgp or any(d.also_pgp_inhibitor for d in table),
        ongoing=ongoing,
        started_on=started_on,
        stopped_on=stopped_on,
        class_confirmed=all(d.confirmed for d in table),
    )


CLEAN_LABS = LabFacts(
    wbc=D(5),
    crcl=D(90),
    peripheral_blasts=D(0),
    high_marrow_burden="no",
    ldh=D(200),
    ldh_uln=D(250),
    chemistry=(("potassium", D("4.1"), "normal"),),
)
TLS_DONE = TlsFacts(FIRST_DOSE, True, "allopurinol 300 mg", True, "")


def inputs(**changes: Any) -> PlanInputs:
    """VEN + azacitidine, 3-day ramp-up to 400 mg, one 28-day cycle, a clean profile."""
    base: dict[str, Any] = {
        "regimen": "azacitidine",
        "ramp_up": "hma_3_day",
        "ramp_up_custom": "",
        "target_mg": D(400),
        "cycles": 1,
        "cycle_days": 28,
        "bsa_m2": D("1.83"),
        "hepatic": "normal",
        "labs": CLEAN_LABS,
        "tls": TLS_DONE,
    }
    base.update(changes)
    return PlanInputs(**base)


def compute(i: PlanInputs) -> tuple[TreatmentPlan, list[Finding]]:
    plan = plan_compute(i, RULES)
    assert plan is not None
    found = findings_compute(plan, RULES, i)
    assert_cited_by_code(found)
    return plan, found


def assert_cited_by_code(found: list[Finding]) -> None:
    """Every finding cites a rule by its code (its path in the file), never a list position,
    and carries the catalogue's severity policy."""
    for f in found:
        assert f.code in RULES.findings, f.code
        assert isinstance(f.rule, str) and f.rule in RULES.rules, f.rule
        assert not re.search(r"\[\d*\]|^\d+$", f.rule), f.rule
        assert f.wording == RULES.rule(f.rule).wording
        entry = RULES.finding(f.code)
        assert (f.scope, f.overridable) == (entry.scope, entry.overridable)


def codes(found: list[Finding]) -> set[str]:
    return {f.code for f in found}


def one(found: list[Finding], code: str) -> Finding:
    matching = [f for f in found if f.code == code]
    assert len(matching) == 1, (code, [f.code for f in found])
    return matching[0]


def doses(plan: TreatmentPlan, cycle: int = 1) -> list[Decimal]:
    c = plan.cycle(cycle)
    assert c is not None
    return c.doses


def mg(*values: int) -> list[Decimal]:
    return [D(v) for v in values]


def open_blocking(found: list[Finding]) -> list[Finding]:
    return [f for f in found if f.open]


# --- which rule each test exercises --------------------------------------------------------

CITED: dict[str, list[str]] = {}  # rule path or finding code -> test names
FINDING_TESTS: dict[str, list[str]] = {}


def cites(*rule_paths: str, findings: tuple[str, ...] = ()) -> Callable[[Any], Any]:
    def mark(fn: Any) -> Any:
        for path in rule_paths:
            CITED.setdefault(path, []).append(fn.__name__)
        for code in findings:
            FINDING_TESTS.setdefault(code, []).append(fn.__name__)
        fn.cited_rules = rule_paths
        return fn

    return mark


# --- tablets and ramp-ups -------------------------------------------------------------------


@cites("tablets", "ramp_ups.hma_3_day", "partners.azacitidine")
def test_azacitidine_standard_ramp_up_is_100_200_400_then_400_from_tablets():
    """Tablets: 10 mg, 50 mg, 100 mg.
    AML ramp-up: day 1 100 mg, day 2 200 mg, day 3 400 mg; from day 4: 400 mg daily with
    azacitidine or decitabine (3-day ramp-up) … EU and the Italian 648 listing use 100/200/400 mg.
    Partner schedules in the trials (28-day cycles): azacitidine 75 mg/m2 days 1–7"""
    plan, found = compute(inputs())
    assert doses(plan) == mg(100, 200, 400) + mg(400) * 25
    assert plan.schedule_mg == mg(100, 200, 400)
    assert plan.steady_mg == D(400)
    assert plan.cycle_one.tablets == {D(100): 1 + 2 + 4 * 26}
    assert plan.cycle_one.total_mg == D(100 + 200 + 400 * 26)
    assert not open_blocking(found)
    assert not codes(found) & {"dose_above_label", "dose_below_label", "no_label_schedule"}


@cites("ramp_ups.ldac_4_day", "partners.ldac")
def test_ldac_four_day_ramp_up_to_600():
    """AML ramp-up: day 1 100 mg, day 2 200 mg, day 3 400 mg … 600 mg daily with low-dose
    cytarabine (4-day ramp-up).
    low-dose cytarabine 20 mg/m2 SC days 1–10"""
    plan, found = compute(inputs(regimen="ldac", ramp_up="ldac_4_day", target_mg=D(600)))
    assert doses(plan)[:5] == mg(100, 200, 400, 600, 600)
    assert plan.cycle_one.tablets == {D(100): 1 + 2 + 4 + 6 * 25}
    assert plan.partner_dose.days == (1, 10)
    assert plan.partner_dose.route == "SC"
    assert not open_blocking(found)


@cites("partners.decitabine_5", "partners.decitabine_10", "rounding", findings=("partner_dose",))
def test_decitabine_partner_doses_from_bsa_rounded_to_one_mg():
    """decitabine 20 mg/m2 days 1–5
    decitabine 20 mg/m2 days 1–5 (10-day decitabine in the DiNardo 2020 trial)
    Partner doses are rounded to the nearest round_to_mg (azacitidine 5 mg, others 1 mg)."""
    five, found = compute(inputs(regimen="decitabine_5", bsa_m2=D("1.83")))
    ten, _ = compute(inputs(regimen="decitabine_10", bsa_m2=D("1.83")))
    assert five.partner_dose.exact_mg == D("36.60")
    assert five.partner_dose.rounded_mg == D(37)
    assert (five.partner_dose.days, ten.partner_dose.days) == ((1, 5), (1, 10))
    assert doses(five)[:4] == doses(ten)[:4] == mg(100, 200, 400, 400)
    partner = one(found, "partner_dose")
    assert partner.severity == "info" and partner.rule == "partners.decitabine_5"
    assert "36.6 mg, rounded to 37 mg" in partner.message.english


@cites("partners.azacitidine", "rounding", findings=("partner_dose",))
def test_azacitidine_partner_dose_rounded_to_five_mg():
    """Partner schedules in the trials (28-day cycles): azacitidine 75 mg/m2 days 1–7
    Partner doses are rounded to the nearest round_to_mg (azacitidine 5 mg, others 1 mg)."""
    plan, found = compute(inputs(bsa_m2=D("1.83")))
    assert plan.partner_dose.exact_mg == D("137.25")
    assert plan.partner_dose.rounded_mg == D(135)
    assert plan.partner_dose.days == (1, 7)
    assert (
        "137.25 mg, rounded to 135 mg (nearest 5 mg" in one(found, "partner_dose").message.english
    )
    # 75 × 1.80 = 135 exactly, 75 × 1.87 = 140.25 -> 140, 75 × 1.9 = 142.5 -> 145 (half up)
    assert plan_compute(inputs(bsa_m2=D("1.87")), RULES).partner_dose.rounded_mg == D(140)
    assert plan_compute(inputs(bsa_m2=D("1.9")), RULES).partner_dose.rounded_mg == D(145)


@cites("partners.azacitidine", findings=("bsa_missing",))
def test_bsa_missing_warns_and_gives_no_partner_dose():
    """Partner schedules in the trials (28-day cycles): azacitidine 75 mg/m2 days 1–7"""
    plan, found = compute(inputs(bsa_m2=None))
    assert plan.partner_dose is None
    f = one(found, "bsa_missing")
    assert (f.severity, f.rule) == ("warning", "partners.azacitidine")
    assert "partner_dose" not in codes(found)


@cites("ramp_ups.hma_3_day", findings=("no_label_schedule",))
@pytest.mark.parametrize("regimen", ["flag_ida", "monotherapy", "dli", "other", ""])
def test_no_label_schedule_for_other_partners(regimen):
    """AML ramp-up: day 1 100 mg, day 2 200 mg, day 3 400 mg; from day 4: 400 mg daily with
    azacitidine or decitabine (3-day ramp-up) … EU and the Italian 648 listing use
    100/200/400 mg."""
    plan, found = compute(inputs(regimen=regimen, target_mg=D(400)))
    f = one(found, "no_label_schedule")
    assert (f.severity, f.rule) == ("warning", "ramp_ups.hma_3_day")
    assert (regimen or "this regimen") in f.message.english
    # the request's own ramp-up is planned, with no label maximum on any day
    assert doses(plan)[:4] == mg(100, 200, 400, 400)
    assert all(d.max_mg is None and d.limits == () for d in plan.days)
    assert plan.partner_dose is None
    assert not codes(found) & {"ramp_up_partner_mismatch", "dose_below_label", "bsa_missing"}


@cites("ramp_ups.ldac_4_day", findings=("ramp_up_partner_mismatch", "dose_above_label"))
def test_ldac_ramp_up_with_azacitidine_mismatch_and_above_label():
    """AML ramp-up: day 1 100 mg, day 2 200 mg, day 3 400 mg … 600 mg daily with low-dose
    cytarabine (4-day ramp-up)."""
    plan, found = compute(inputs(ramp_up="ldac_4_day", target_mg=D(600)))
    mismatch = one(found, "ramp_up_partner_mismatch")
    assert (mismatch.severity, mismatch.rule) == ("warning", "ramp_ups.hma_3_day")
    assert "ldac_4_day" in mismatch.message.english and "100/200/400 mg" in mismatch.message.english
    above = one(found, "dose_above_label")
    assert (above.severity, above.rule, above.open) == (BLOCKING, "ramp_ups.hma_3_day", True)
    assert "days 4–28" in above.message.english
    assert doses(plan) == mg(100, 200, 400) + mg(400) * 25  # planned at the label maximum
    assert plan.cycle_one.days[3].requested_mg == D(600)


@cites("ramp_ups.hma_3_day", findings=("dose_above_label",))
def test_target_above_label_is_planned_at_the_label_and_blocks_every_cycle():
    """AML ramp-up: day 1 100 mg, day 2 200 mg, day 3 400 mg; from day 4: 400 mg daily with
    azacitidine or decitabine (3-day ramp-up) … EU and the Italian 648 listing use
    100/200/400 mg."""
    plan, found = compute(inputs(target_mg=D(600), cycles=2))
    assert doses(plan, 2) == mg(400) * 28
    above = one(found, "dose_above_label")
    assert above.scope == "every_cycle" and above.open
    assert "cycle 1 day 4 to cycle 2 day 28" in above.message.english
    assert "600 mg" in above.message.english and "400 mg" in above.message.english


@cites("ramp_ups.hma_3_day", findings=("dose_below_label",))
def test_target_below_label_without_a_reason_warns():
    """AML ramp-up: day 1 100 mg, day 2 200 mg, day 3 400 mg; from day 4: 400 mg daily with
    azacitidine or decitabine (3-day ramp-up) … EU and the Italian 648 listing use
    100/200/400 mg."""
    plan, found = compute(inputs(target_mg=D(300)))
    assert doses(plan)[:4] == mg(100, 200, 300, 300)
    f = one(found, "dose_below_label")
    assert (f.severity, f.rule) == ("warning", "ramp_ups.hma_3_day")
    assert "300 mg is below the label's 400 mg" in f.message.english
    # the label's own dose, or a reason (an inhibitor), gives no warning
    assert "dose_below_label" not in codes(compute(inputs())[1])
    reason = inputs(target_mg=D(300), medications=(med("fluconazole"),))
    assert "dose_below_label" not in codes(compute(reason)[1])


@cites("tablets", findings=("dose_not_in_tablets",))
def test_75_mg_cannot_be_made_from_tablets_and_is_rounded_down_to_70():
    """Tablets: 10 mg, 50 mg, 100 mg."""
    plan, found = compute(inputs(target_mg=D(75)))
    assert doses(plan) == mg(70) * 28
    assert plan.cycle_one.tablets == {D(50): 28, D(10): 56}
    f = one(found, "dose_not_in_tablets")
    assert (f.severity, f.overridable, f.open) == (BLOCKING, False, True)
    assert "75 mg cannot be made from 100 mg, 50 mg, 10 mg tablets" in f.message.english
    assert "dose_not_in_tablets" not in codes(compute(inputs(target_mg=D(70)))[1])


@cites("tablets", findings=("dose_not_in_tablets",))
def test_custom_step_not_in_tablets_is_named():
    """Tablets: 10 mg, 50 mg, 100 mg."""
    plan, found = compute(inputs(ramp_up="custom", ramp_up_custom="25/50/100 mg", target_mg=D(100)))
    assert doses(plan)[:4] == mg(20, 50, 100, 100)
    f = one(found, "dose_not_in_tablets")
    assert "25 mg cannot" in f.message.english


def test_tablets_for_uses_the_fewest_tablets_and_refuses_what_they_cannot_make():
    assert tablets_for(D(370), RULES.strengths_mg) == {D(100): 3, D(50): 1, D(10): 2}
    assert tablets_for(D(0), RULES.strengths_mg) == {}
    with pytest.raises(ValueError, match="75 mg cannot be made"):
        tablets_for(D(75), RULES.strengths_mg)


# --- inhibitors ---------------------------------------------------------------------------------


@cites(
    "inhibitors.posaconazole",
    "initiation_contraindication",
    "eu_strong",
    findings=("dose_above_inhibitor", "strong_inhibitor_at_initiation", "eu_strong_inhibitor"),
)
def test_posaconazole_azacitidine_70_mg_ramp_up_10_20_50_70_and_tablets():
    """posaconazole: ramp-up day 1 10 mg, day 2 20 mg, day 3 50 mg, day 4 70 mg; then 70 mg daily
    Contraindications: strong CYP3A inhibitors at initiation and ramp-up (stated for CLL in
    USPI; posaconazole's own label for leukaemia patients)
    EU SmPC: with a strong CYP3A inhibitor reduce to <= 100 mg (or by >= 75% if already
    modified); EU ramp-up wording with inhibitors: verify against the current SmPC"""
    plan, found = compute(inputs(target_mg=D(70), medications=(med("posaconazole"),)))
    assert doses(plan) == mg(10, 20, 50, 70) + mg(70) * 24
    assert plan.schedule_mg == mg(10, 20, 50, 70)
    assert plan.cycle_one.tablets == {D(50): 26, D(10): 53}
    assert [d.max_mg for d in plan.days[:5]] == mg(10, 20, 50, 70, 70)
    assert all(d.binding.code == "posaconazole" for d in plan.days)
    # the standard ramp-up asks 70 mg on days 1-3: above the posaconazole row, blocking
    above = one(found, "dose_above_inhibitor")
    assert (above.rule, above.confirmed, above.open) == ("inhibitors.posaconazole", True, True)
    assert (
        "cycle 1 days 1–3: the request asks 70 mg; with posaconazole the label allows at most "
        "10/20/50 mg. The plan gives the lower dose, 10/20/50 mg." in above.message.english
    )
    start = one(found, "strong_inhibitor_at_initiation")
    assert (start.severity, start.rule) == ("warning", "initiation_contraindication")
    eu = one(found, "eu_strong_inhibitor")
    assert (eu.severity, eu.rule, eu.confirmed) == ("info", "eu_strong", False)


@cites("inhibitors.strong_cyp3a", findings=("dose_adjusted",))
def test_voriconazole_strong_row_10_20_50_100_then_100():
    """other strong CYP3A inhibitor: day 1 10 mg, day 2 20 mg, day 3 50 mg, day 4 100 mg; then
    100 mg"""
    plan, found = compute(inputs(medications=(med("voriconazole"),), cycles=2))
    assert doses(plan)[:5] == mg(10, 20, 50, 100, 100)
    assert doses(plan, 2) == mg(100) * 28
    above = one(found, "dose_above_inhibitor")
    assert above.rule == "inhibitors.strong_cyp3a"
    adjusted = one(found, "dose_adjusted")
    assert (adjusted.severity, adjusted.rule) == ("info", "inhibitors.strong_cyp3a")
    assert "cycle 1 day 1 to cycle 2 day 28" in adjusted.message.english
    assert "10/20/50/100 mg" in adjusted.message.english


@cites("inhibitors.strong_cyp3a")
def test_recorded_strong_class_of_an_unlisted_drug_applies_the_strong_row():
    """other strong CYP3A inhibitor: day 1 10 mg, day 2 20 mg, day 3 50 mg, day 4 100 mg; then
    100 mg"""
    plan, found = compute(inputs(medications=(med("newazole", "strong_cyp3a_inhibitor"),)))
    assert doses(plan)[:5] == mg(10, 20, 50, 100, 100)
    assert one(found, "dose_above_inhibitor").rule == "inhibitors.strong_cyp3a"
    assert "medication_unclassified" not in codes(found)


@cites("inhibitors.moderate_cyp3a")
def test_fluconazole_moderate_halves_50_100_200_with_a_200_target():
    """moderate CYP3A inhibitor, or P-gp inhibitor: reduce the dose by at least 50%, during
    ramp-up and at the steady daily dose"""
    plan, found = compute(inputs(target_mg=D(200), medications=(med("fluconazole"),)))
    assert doses(plan)[:4] == mg(50, 100, 200, 200)
    assert [d.max_mg for d in plan.days[:4]] == mg(50, 100, 200, 200)
    above = one(found, "dose_above_inhibitor")
    assert above.rule == "inhibitors.moderate_cyp3a"
    assert "days 1–2" in above.message.english


@cites("inhibitors.moderate_cyp3a", findings=("dose_adjusted",))
def test_letermovir_is_moderate_and_its_unconfirmed_class_is_flagged():
    """moderate CYP3A inhibitor, or P-gp inhibitor: reduce the dose by at least 50%, during
    ramp-up and at the steady daily dose"""
    plan, found = compute(inputs(medications=(med("letermovir"),)))
    assert doses(plan)[:4] == mg(50, 100, 200, 200)
    above = one(found, "dose_above_inhibitor")
    assert (above.rule, above.confirmed, above.open) == ("inhibitors.moderate_cyp3a", False, True)
    assert one(found, "dose_adjusted").confirmed is False
    # a confirmed table entry gives a confirmed finding (posaconazole: its own label row); an
    # entry keyed from the manufacturer's page, not the label text, is flagged "verify"
    _, confirmed = compute(inputs(medications=(med("posaconazole"),)))
    assert one(confirmed, "dose_above_inhibitor").confirmed is True
    _, hcp_page = compute(inputs(medications=(med("ciclosporin"),)))
    assert one(hcp_page, "dose_above_inhibitor").confirmed is False


@cites("inhibitors.pgp")
def test_amiodarone_pgp_halves_every_step():
    """moderate CYP3A inhibitor, or P-gp inhibitor: reduce the dose by at least 50%, during
    ramp-up and at the steady daily dose"""
    plan, found = compute(inputs(medications=(med("amiodarone"),)))
    assert doses(plan)[:4] == mg(50, 100, 200, 200)
    assert one(found, "dose_above_inhibitor").rule == "inhibitors.pgp"
    # a P-gp flag recorded on any medication applies the P-gp row too
    flagged, _ = compute(inputs(medications=(med("mystery", "none_known", also_pgp=True),)))
    assert doses(flagged)[:4] == mg(50, 100, 200, 200)


@cites("several_inhibitors", findings=("several_modifications",))
def test_two_strong_inhibitors_take_the_lower_posaconazole_and_clarithromycin_70():
    """Several inhibitors, or an inhibitor with severe hepatic impairment: the plan takes the
    lowest of the adjusted doses for each day (the product's safety principle: uncertainty
    resolves toward the lower dose)."""
    meds = (med("clarithromycin"), med("posaconazole"))
    plan, found = compute(inputs(medications=meds))
    assert doses(plan) == mg(10, 20, 50, 70) + mg(70) * 24
    several = one(found, "several_modifications")
    assert (several.severity, several.rule, several.confirmed) == (
        "info",
        "several_inhibitors",
        False,
    )
    # the order of the list does not matter
    reverse, _ = compute(inputs(medications=meds[::-1]))
    assert doses(reverse) == doses(plan)
    assert "several_modifications" not in codes(compute(inputs(medications=meds[:1]))[1])


@cites("several_inhibitors", "hepatic")
def test_strong_inhibitor_and_severe_hepatic_take_the_lower():
    """Several inhibitors, or an inhibitor with severe hepatic impairment: the plan takes the
    lowest of the adjusted doses for each day (the product's safety principle: uncertainty
    resolves toward the lower dose).
    Severe hepatic impairment (Child-Pugh C): reduce dose by 50%"""
    plan, found = compute(inputs(hepatic="severe", medications=(med("fluconazole"),)))
    # both halve the label step: 50/100/200 (not a quarter: each is a cap on the label step)
    assert doses(plan)[:4] == mg(50, 100, 200, 200)
    assert "several_modifications" in codes(found)


@cites("inhibitor_advice", findings=("inhibitor_resume",))
def test_inhibitor_stopped_full_dose_resumes_exactly_three_days_after_the_stop_date():
    """resume the previous dose 2–3 days after the inhibitor stops"""
    stop = DAY1 + timedelta(days=9)  # day 10
    plan, found = compute(
        inputs(medications=(med("voriconazole", ongoing=False, stopped_on=stop),))
    )
    by_date = {d.on: d.dose_mg for d in plan.days}
    assert by_date[stop] == D(100)
    assert by_date[stop + timedelta(days=1)] == D(100)
    assert by_date[stop + timedelta(days=2)] == D(100)  # not before the later end of 2-3 days
    assert by_date[stop + timedelta(days=3)] == D(400)
    assert doses(plan) == mg(10, 20, 50) + mg(100) * 9 + mg(400) * 16
    f = one(found, "inhibitor_resume")
    assert (f.severity, f.rule) == ("info", "inhibitor_advice")
    assert "voriconazole" in f.message.english and "3 days" in f.message.english
    assert "days 1–12" in one(found, "dose_above_inhibitor").message.english
    assert "inhibitor_stop_date_missing" not in codes(found)


@cites("inhibitor_advice", findings=("inhibitor_resume",))
def test_inhibitor_stopped_before_the_first_dose_long_ago_changes_nothing():
    """resume the previous dose 2–3 days after the inhibitor stops"""
    stop = DAY1 - timedelta(days=3)
    plan, found = compute(
        inputs(medications=(med("voriconazole", ongoing=False, stopped_on=stop),))
    )
    assert doses(plan)[:4] == mg(100, 200, 400, 400)
    assert "inhibitor_resume" not in codes(found)
    # stopped two days before: still active on day 1 only
    near = DAY1 - timedelta(days=2)
    plan, _ = compute(inputs(medications=(med("voriconazole", ongoing=False, stopped_on=near),)))
    assert doses(plan)[:3] == mg(10, 200, 400)


@cites("inhibitors.strong_cyp3a", "inhibitor_advice")
def test_inhibitor_started_mid_cycle_lowers_the_dose_from_its_start_date():
    """other strong CYP3A inhibitor: day 1 10 mg, day 2 20 mg, day 3 50 mg, day 4 100 mg; then
    100 mg
    resume the previous dose 2–3 days after the inhibitor stops"""
    start = DAY1 + timedelta(days=9)  # day 10
    plan, found = compute(inputs(medications=(med("voriconazole", started_on=start),)))
    assert doses(plan) == mg(100, 200) + mg(400) * 7 + mg(100) * 19
    assert plan.days[8].on == start - timedelta(days=1) and plan.days[8].dose_mg == D(400)
    assert plan.days[9].on == start and plan.days[9].dose_mg == D(100)
    assert "days 10–28" in one(found, "dose_above_inhibitor").message.english
    # not on the ramp-up days: no initiation warning
    assert "strong_inhibitor_at_initiation" not in codes(found)
    # from day 1 it is at initiation; from day 5 (after the ramp-up) it is not
    for day, warned in ((1, True), (5, False)):
        later = med("voriconazole", started_on=DAY1 + timedelta(days=day - 1))
        found = compute(inputs(medications=(later,)))[1]
        assert ("strong_inhibitor_at_initiation" in codes(found)) is warned, day


@cites("initiation_contraindication")
@pytest.mark.parametrize("day", [2, 3, 4])
def test_a_strong_inhibitor_started_during_the_ramp_up_is_at_initiation(day):
    """Contraindications: strong CYP3A inhibitors at initiation and ramp-up (stated for CLL in
    USPI; posaconazole's own label for leukaemia patients)"""
    later = med("voriconazole", started_on=DAY1 + timedelta(days=day - 1))
    found = compute(inputs(medications=(later,)))[1]
    assert "strong_inhibitor_at_initiation" in codes(found)


@cites("inhibitor_advice", findings=("inhibitor_stop_date_missing",))
def test_inhibitor_marked_stopped_without_a_date_warns():
    """resume the previous dose 2–3 days after the inhibitor stops"""
    plan, found = compute(inputs(medications=(med("voriconazole", ongoing=False),)))
    f = one(found, "inhibitor_stop_date_missing")
    assert (f.severity, f.rule, f.scope) == ("warning", "inhibitor_advice", "every_cycle")
    assert doses(plan)[:3] == mg(100, 200, 400)
    # a stopped non-inhibitor needs no date
    assert "inhibitor_stop_date_missing" not in codes(
        compute(inputs(medications=(med("allopurinol", ongoing=False),)))[1]
    )


def test_undated_plan_reads_the_medication_list_as_it_is_now():
    """No first dose yet: an ongoing inhibitor applies to every day, a stopped one to none."""
    ongoing, _ = compute(inputs(tls=None, medications=(med("voriconazole"),)))
    assert doses(ongoing)[:4] == mg(10, 20, 50, 100)
    assert all(d.on is None for d in ongoing.days)
    stopped = med("voriconazole", ongoing=True, stopped_on=date(2026, 11, 1))
    plan, _ = compute(inputs(tls=None, medications=(stopped,)))
    assert doses(plan)[:4] == mg(100, 200, 400, 400)


@cites("classification", findings=("medication_no_interaction",))
def test_allopurinol_has_no_interaction_and_never_cites_an_inhibitor_rule():
    """The label's drug-interaction section gives example lists of strong and moderate CYP3A
    inhibitors and of P-gp inhibitors; key the classification from it and mark anything else
    UNCONFIRMED"""
    plan, found = compute(inputs(medications=(med("allopurinol"),)))
    f = one(found, "medication_no_interaction")
    assert (f.severity, f.rule, f.confirmed) == ("info", "classification", False)
    assert not [x for x in found if x.rule.startswith("inhibitors")]
    assert doses(plan)[:4] == mg(100, 200, 400, 400)
    # a P-gp flag turns it into an inhibitor
    _, flagged = compute(inputs(medications=(med("allopurinol", also_pgp=True),)))
    assert "medication_no_interaction" not in codes(flagged)


@cites("classification", findings=("medication_unclassified",))
def test_an_unknown_name_is_unclassified_citing_classification():
    """The label's drug-interaction section gives example lists of strong and moderate CYP3A
    inhibitors and of P-gp inhibitors; key the classification from it and mark anything else
    UNCONFIRMED"""
    plan, found = compute(inputs(medications=(med("zorbamycin"),)))
    f = one(found, "medication_unclassified")
    assert (f.severity, f.rule, f.scope) == ("warning", "classification", "every_cycle")
    assert "zorbamycin" in f.message.english
    assert doses(plan)[:4] == mg(100, 200, 400, 400)
    # recorded by the clinician: classified
    _, recorded = compute(inputs(medications=(med("zorbamycin", "none_known"),)))
    assert "medication_unclassified" not in codes(recorded)


@cites("inducers", findings=("inducer",))
@pytest.mark.parametrize("name", ["rifampicin", "carbamazepine", "phenytoin", "efavirenz"])
def test_inducers_are_blocking(name):
    """avoid strong and moderate CYP3A inducers (e.g. rifampicin, carbamazepine, phenytoin, St
    John's wort)"""
    _, found = compute(inputs(medications=(med(name),)))
    f = one(found, "inducer")
    assert (f.severity, f.rule, f.open, f.scope) == (BLOCKING, "inducers", True, "every_cycle")
    assert name in f.message.english
    assert "contraindicated" not in codes(found)


@cites("inducers", "contraindicated", findings=("inducer", "contraindicated"))
def test_st_johns_wort_is_an_inducer_and_contraindicated():
    """avoid strong and moderate CYP3A inducers (e.g. rifampicin, carbamazepine, phenytoin, St
    John's wort)
    EU also St John's wort"""
    _, found = compute(inputs(medications=(med("St John's wort"),)))
    assert one(found, "inducer").open
    f = one(found, "contraindicated")
    assert (f.severity, f.rule, f.open) == (BLOCKING, "contraindicated", True)
    # stopped with a date: still checked (a blocking finding for the pharmacist to decide)
    stopped = med("hypericum", ongoing=False, stopped_on=DAY1 - timedelta(days=20))
    assert {"inducer", "contraindicated"} <= codes(compute(inputs(medications=(stopped,)))[1])
    # stopped without a date: not in force
    gone = med("hypericum", ongoing=False)
    assert not {"inducer", "contraindicated"} & codes(compute(inputs(medications=(gone,)))[1])


@cites("inducers")
def test_recorded_inducer_class_blocks():
    """avoid strong and moderate CYP3A inducers (e.g. rifampicin, carbamazepine, phenytoin, St
    John's wort)"""
    _, found = compute(inputs(medications=(med("newcillin", "strong_cyp3a_inducer"),)))
    assert one(found, "inducer").open


@cites("food", findings=("food",))
def test_food_advice_is_always_given():
    """Taken once daily with food. … avoid grapefruit, Seville oranges, starfruit"""
    _, found = compute(inputs())
    f = one(found, "food")
    assert (f.severity, f.rule) == ("info", "food")
    assert "grapefruit" in f.message.english


# --- liver and kidneys -------------------------------------------------------------------------


@cites("hepatic", findings=("dose_above_hepatic",))
def test_child_pugh_c_halves_the_dose_200_with_azacitidine():
    """Severe hepatic impairment (Child-Pugh C): reduce dose by 50%"""
    plan, found = compute(inputs(hepatic="severe"))
    assert doses(plan) == mg(50, 100) + mg(200) * 26
    f = one(found, "dose_above_hepatic")
    assert (f.rule, f.open) == ("hepatic", True)
    assert one(found, "dose_adjusted").rule == "hepatic"
    for mild in ("normal", "mild", "moderate"):
        assert doses(compute(inputs(hepatic=mild))[0])[:4] == mg(100, 200, 400, 400)


@cites("hepatic", findings=("hepatic_unknown",))
def test_hepatic_unknown_warns():
    """Severe hepatic impairment (Child-Pugh C): reduce dose by 50%"""
    plan, found = compute(inputs(hepatic="unknown"))
    f = one(found, "hepatic_unknown")
    assert (f.severity, f.rule) == ("warning", "hepatic")
    assert doses(plan)[:4] == mg(100, 200, 400, 400)
    assert "hepatic_unknown" not in codes(compute(inputs(hepatic="normal"))[1])


@cites("renal", findings=("renal_severe",))
def test_crcl_25_is_severe_renal_impairment_warning():
    """Severe renal impairment (CrCl < 30 mL/min): no recommended dose (not studied)"""
    labs = LabFacts(**{**CLEAN_LABS.__dict__, "crcl": D(25)})
    _, found = compute(inputs(labs=labs))
    f = one(found, "renal_severe")
    assert (f.severity, f.rule, f.scope) == ("warning", "renal", "every_cycle")
    assert "CrCl 25 mL/min, below 30" in f.message.english
    at_limit = LabFacts(**{**CLEAN_LABS.__dict__, "crcl": D(30)})
    assert "renal_severe" not in codes(compute(inputs(labs=at_limit))[1])


@cites("renal", findings=("renal_unknown",))
def test_crcl_missing_warns():
    """Severe renal impairment (CrCl < 30 mL/min): no recommended dose (not studied)"""
    labs = LabFacts(**{**CLEAN_LABS.__dict__, "crcl": None})
    _, found = compute(inputs(labs=labs))
    f = one(found, "renal_unknown")
    assert (f.severity, f.rule) == ("warning", "renal")
    assert "renal_severe" not in codes(found)


# --- tumour lysis ----------------------------------------------------------------------------


@cites("tls.wbc", findings=("wbc_too_high",))
def test_wbc_30_blocks_and_cannot_be_overridden():
    """TLS prophylaxis (AML): WBC < 25x10^9/L before starting (cytoreduce if needed)"""
    labs = LabFacts(**{**CLEAN_LABS.__dict__, "wbc": D(30)})
    _, found = compute(inputs(labs=labs))
    f = one(found, "wbc_too_high")
    assert (f.severity, f.overridable, f.rule, f.open) == (BLOCKING, False, "tls.wbc", True)
    at_limit = LabFacts(**{**CLEAN_LABS.__dict__, "wbc": D(25)})
    assert "wbc_too_high" in codes(compute(inputs(labs=at_limit))[1])
    below = LabFacts(**{**CLEAN_LABS.__dict__, "wbc": D("24.9")})
    assert "wbc_too_high" not in codes(compute(inputs(labs=below))[1])


@cites("tls.wbc", findings=("wbc_missing",))
def test_wbc_missing_blocks():
    """TLS prophylaxis (AML): WBC < 25x10^9/L before starting (cytoreduce if needed)"""
    labs = LabFacts(**{**CLEAN_LABS.__dict__, "wbc": None})
    _, found = compute(inputs(labs=labs))
    f = one(found, "wbc_missing")
    assert (f.severity, f.overridable, f.rule) == (BLOCKING, True, "tls.wbc")


RISK_FACTORS = [
    ("circulating blasts", {"peripheral_blasts": D("0.5")}, {"peripheral_blasts": None}),
    ("high marrow burden", {"high_marrow_burden": "yes"}, {"high_marrow_burden": "unknown"}),
    ("elevated LDH", {"ldh": D(300)}, {"ldh_uln": None}),
    ("reduced renal function", {"crcl": D(60)}, {"crcl": None}),
]


@cites("tls.risk", "tls_reduced_renal", findings=("tls_risk_factors",))
@pytest.mark.parametrize(
    ("factor", "present", "unknown"), RISK_FACTORS, ids=[r[0] for r in RISK_FACTORS]
)
def test_each_tls_risk_factor(factor, present, unknown):
    """USPI: assess patient-specific risk factors — circulating blasts, high burden of leukaemia
    in the bone marrow, elevated pre-treatment LDH, reduced renal function — and use additional
    measures (increased laboratory monitoring, a lower starting dose) for patients with them
    Reduced renal function as a TLS risk factor: the brief gives no threshold; this hospital
    default counts CrCl below 80 mL/min. Change it in this file for your hospital."""
    assert "tls_risk_factors" not in codes(compute(inputs())[1])
    labs = LabFacts(**{**CLEAN_LABS.__dict__, **present})
    _, found = compute(inputs(labs=labs))
    f = one(found, "tls_risk_factors")
    assert (f.severity, f.rule) == ("warning", "tls.risk")
    assert f"Present: {factor}. Not recorded (counted as possible): none." in f.message.english
    labs = LabFacts(**{**CLEAN_LABS.__dict__, **unknown})
    _, found = compute(inputs(labs=labs))
    assert (
        f"Present: none. Not recorded (counted as possible): {factor}."
        in one(found, "tls_risk_factors").message.english
    )
    # measures recorded in the TLS precautions: information only
    measured = TlsFacts(FIRST_DOSE, True, "allopurinol", True, "labs every 6 h")
    _, found = compute(inputs(labs=LabFacts(**{**CLEAN_LABS.__dict__, **present}), tls=measured))
    assert one(found, "tls_risk_factors").severity == "info"


def test_tls_risk_factor_thresholds():
    """Blasts > 0, LDH above the ULN (not equal), CrCl below 80 (not equal)."""

    def risk(**labs: Any) -> bool:
        facts = LabFacts(**{**CLEAN_LABS.__dict__, **labs})
        return "tls_risk_factors" in codes(compute(inputs(labs=facts))[1])

    assert not risk(ldh=D(250))
    assert risk(ldh=D(251))
    assert not risk(crcl=D(80))
    assert risk(crcl=D("79.9"))
    assert not risk(high_marrow_burden="no")


@cites("tls.prophylaxis", findings=("tls_chemistry_uncorrected",))
def test_abnormal_potassium_without_correction_blocks():
    """hydration and anti-hyperuricaemic before the first dose and through ramp-up; correct
    pre-existing chemistry abnormalities (potassium, phosphate, uric acid, calcium) first"""
    labs = LabFacts(**{**CLEAN_LABS.__dict__, "chemistry": (("potassium", D("5.9"), "high"),)})
    uncorrected = TlsFacts(FIRST_DOSE, True, "allopurinol", False, "")
    _, found = compute(inputs(labs=labs, tls=uncorrected))
    f = one(found, "tls_chemistry_uncorrected")
    assert (f.severity, f.overridable, f.rule, f.open) == (BLOCKING, False, "tls.prophylaxis", True)
    assert "potassium" in f.message.english
    assert "tls_chemistry_uncorrected" in codes(compute(inputs(labs=labs, tls=None))[1])
    assert "tls_chemistry_uncorrected" not in codes(compute(inputs(labs=labs))[1])  # corrected
    low = LabFacts(**{**CLEAN_LABS.__dict__, "chemistry": (("calcium", D(1), "low"),)})
    assert "tls_chemistry_uncorrected" in codes(compute(inputs(labs=low, tls=uncorrected))[1])
    normal = LabFacts(**{**CLEAN_LABS.__dict__, "chemistry": (("calcium", None, "unknown"),)})
    assert "tls_chemistry_uncorrected" not in codes(
        compute(inputs(labs=normal, tls=uncorrected))[1]
    )


@cites("tls.prophylaxis", findings=("tls_prophylaxis",))
def test_tls_prophylaxis_not_recorded_warns():
    """hydration and anti-hyperuricaemic before the first dose and through ramp-up; correct
    pre-existing chemistry abnormalities (potassium, phosphate, uric acid, calcium) first"""
    _, found = compute(inputs(tls=None))
    f = one(found, "tls_prophylaxis")
    assert (f.severity, f.rule) == ("warning", "tls.prophylaxis")
    assert "the first-dose time, hydration, the anti-hyperuricaemic, chemistry" in f.message.english
    partial = TlsFacts(FIRST_DOSE, False, " ", False, "")
    f = one(compute(inputs(tls=partial))[1], "tls_prophylaxis")
    assert "hydration, the anti-hyperuricaemic, chemistry corrected" in f.message.english
    assert "tls_prophylaxis" not in codes(compute(inputs())[1])


@cites("tls.labs")
def test_lab_times_pre_dose_6_8_h_and_24_h_after_final_from_the_new_doses():
    """blood chemistry pre-dose, 6–8 h after each new dose, and 24 h after reaching the final
    dose"""
    plan, _ = compute(inputs(target_mg=D(70), medications=(med("posaconazole"),)))
    rows = [(t.day, t.dose_mg, t.kind, t.earliest, t.latest) for t in plan.lab_times]
    expected = []
    for day, dose in zip((1, 2, 3, 4), mg(10, 20, 50, 70), strict=True):
        taken = FIRST_DOSE + timedelta(days=day - 1)
        expected.append((day, dose, "pre", taken, taken))
        expected.append(
            (day, dose, "after", taken + timedelta(hours=6), taken + timedelta(hours=8))
        )
    final = FIRST_DOSE + timedelta(days=3, hours=24)
    expected.append((5, D(70), "final", final, final))
    assert rows == expected
    assert compute(inputs(tls=None))[0].lab_times == []


@cites("tls.labs")
def test_lab_times_for_the_standard_ramp_up():
    """blood chemistry pre-dose, 6–8 h after each new dose, and 24 h after reaching the final
    dose"""
    plan, _ = compute(inputs())
    assert [(t.day, t.dose_mg, t.kind) for t in plan.lab_times] == [
        (1, D(100), "pre"),
        (1, D(100), "after"),
        (2, D(200), "pre"),
        (2, D(200), "after"),
        (3, D(400), "pre"),
        (3, D(400), "after"),
        (4, D(400), "final"),
    ]
    assert plan.lab_times[-1].earliest == FIRST_DOSE + timedelta(days=3)


# --- custom and label-adjusted ramp-ups ---------------------------------------------------------


@cites("inhibitors.posaconazole")
def test_label_adjusted_ramp_up_with_posaconazole_gives_10_20_50_70_without_dose_above():
    """posaconazole: ramp-up day 1 10 mg, day 2 20 mg, day 3 50 mg, day 4 70 mg; then 70 mg daily"""
    plan, found = compute(
        inputs(ramp_up="label_adjusted", target_mg=D(400), medications=(med("posaconazole"),))
    )
    assert doses(plan) == mg(10, 20, 50, 70) + mg(70) * 24
    assert plan.requested_steps_mg == mg(100, 200, 400)
    assert not codes(found) & {"dose_above_label", "dose_above_inhibitor", "dose_above_hepatic"}
    assert one(found, "dose_adjusted").rule == "inhibitors.posaconazole"


@cites("ramp_ups.hma_3_day")
def test_label_adjusted_ramp_up_is_not_a_partner_mismatch():
    """AML ramp-up: day 1 100 mg, day 2 200 mg, day 3 400 mg; from day 4: 400 mg daily with
    azacitidine or decitabine (3-day ramp-up) … EU and the Italian 648 listing use
    100/200/400 mg."""
    _, found = compute(inputs(ramp_up="label_adjusted", medications=(med("posaconazole"),)))
    assert "ramp_up_partner_mismatch" not in codes(found)


def test_label_adjusted_without_a_partner_schedule_plans_the_target_under_the_limits():
    plan, _ = compute(inputs(regimen="flag_ida", ramp_up="label_adjusted", target_mg=D(200)))
    assert plan.requested_steps_mg == mg(200)
    assert doses(plan)[:2] == mg(200, 200)
    plan, found = compute(
        inputs(
            regimen="flag_ida",
            ramp_up="label_adjusted",
            target_mg=D(200),
            medications=(med("voriconazole"),),
        )
    )
    assert doses(plan)[:5] == mg(10, 20, 50, 100, 100)
    assert "dose_above_inhibitor" not in codes(found)


@cites("inhibitors.posaconazole")
def test_custom_ramp_up_10_20_50_70_with_posaconazole_has_no_open_blocking_from_the_dose():
    """posaconazole: ramp-up day 1 10 mg, day 2 20 mg, day 3 50 mg, day 4 70 mg; then 70 mg daily"""
    plan, found = compute(
        inputs(
            ramp_up="custom",
            ramp_up_custom="10/20/50/70 mg",
            target_mg=D(70),
            medications=(med("posaconazole"),),
        )
    )
    assert doses(plan) == mg(10, 20, 50, 70) + mg(70) * 24
    assert plan.requested_steps_mg == mg(10, 20, 50, 70)
    assert open_blocking(found) == []
    assert "ramp_up_partner_mismatch" not in codes(found)


@cites("tls.labs", findings=("ramp_up_not_computable",))
def test_unreadable_custom_ramp_up_blocks_and_plans_the_label_ramp_up():
    """blood chemistry pre-dose, 6–8 h after each new dose, and 24 h after reaching the final
    dose"""
    plan, found = compute(inputs(ramp_up="custom", ramp_up_custom="as usual, slowly"))
    f = one(found, "ramp_up_not_computable")
    assert (f.severity, f.rule, f.open, f.scope) == (BLOCKING, "tls.labs", True, "every_cycle")
    assert plan.requested_steps_mg is None
    assert doses(plan)[:4] == mg(100, 200, 400, 400)
    # with no label schedule: the target from day 1, under the inhibitor limits
    plan, found = compute(
        inputs(regimen="flag_ida", ramp_up="custom", ramp_up_custom="", target_mg=D(200))
    )
    assert doses(plan)[:2] == mg(200, 200)
    assert "ramp_up_not_computable" in codes(found)


def test_custom_steps_parsing():
    assert custom_steps("10/20/50/70 mg") == mg(10, 20, 50, 70)
    assert custom_steps(" 100 / 200 / 400 MG daily") == mg(100, 200, 400)
    assert custom_steps("12.5/25 mg") == [D("12.5"), D(25)]
    assert custom_steps("10/20/50/70") is None  # no unit
    assert custom_steps("mg 10") is None
    assert custom_steps("") is None


def test_no_target_or_no_cycles_gives_no_plan():
    assert plan_compute(inputs(target_mg=None), RULES) is None
    assert plan_compute(inputs(cycles=None), RULES) is None
    assert plan_compute(inputs(cycles=0), RULES) is None
    i = inputs(target_mg=None, ramp_up="custom", ramp_up_custom="nonsense")
    found = findings_compute(None, RULES, i)
    assert_cited_by_code(found)
    assert "ramp_up_not_computable" not in codes(found)
    assert "cytopenia_delay" not in codes(found)
    i = inputs(cycles=None, ramp_up="custom", ramp_up_custom="nonsense")
    assert "ramp_up_not_computable" in codes(findings_compute(None, RULES, i))


def test_findings_are_sorted_blocking_first():
    _, found = compute(inputs(hepatic="unknown", medications=(med("rifampicin"),)))
    order = {"blocking": 0, "warning": 1, "info": 2}
    assert [order[f.severity] for f in found] == sorted(order[f.severity] for f in found)
    assert found[0].severity == BLOCKING and found[-1].severity == "info"


# --- cytopenias --------------------------------------------------------------------------------

REMISSION = DAY1 + timedelta(days=20)  # cycle 2 is planned for day 29 (2026-12-29)


def episode(onset_day: int, recovered_day: int | None, term: str = NEUTROPENIA, grade: int = 4):
    """An episode by days after the first dose."""
    onset = DAY1 + timedelta(days=onset_day)
    recovered = DAY1 + timedelta(days=recovered_day) if recovered_day is not None else None
    return CytopeniaFacts(term, grade, onset, recovered)


@cites("cytopenia", findings=("cytopenia_modification",))
def test_cytopenia_after_cr_first_occurrence_delays_to_recovery_at_the_same_dose():
    """Cytopenias (AML): before remission usually do not interrupt; after remission lasting
    >= 7 days, grade 4 neutropenia or thrombocytopenia -> delay the next cycle; first occurrence
    resume at the same dose once grade 1–2; later occurrences shorten VEN by 7 days per cycle
    (e.g. 21 of 28)"""
    plan, found = compute(inputs(cycles=3, remission_on=REMISSION, cytopenias=(episode(21, 35),)))
    two, three = plan.cycle(2), plan.cycle(3)
    assert two.start_on == DAY1 + timedelta(days=35)
    assert (two.ven_days, two.doses) == (28, mg(400) * 28)
    assert three.start_on == two.start_on + timedelta(days=28)
    f = one(found, "cytopenia_modification")
    assert (f.severity, f.rule) == ("info", "cytopenia")
    assert "cycle 2 delayed from 2026-12-29 to 2027-01-05" in f.message.english
    assert "(occurrence 1)" in f.message.english
    assert "cytopenia_delay" not in codes(found)
    # recovered before the planned start: no delay
    plan, found = compute(inputs(cycles=2, remission_on=REMISSION, cytopenias=(episode(21, 28),)))
    assert plan.cycle(2).start_on == DAY1 + timedelta(days=28)
    assert "cytopenia_modification" not in codes(found)


@cites("cytopenia", findings=("cytopenia_modification", "cytopenia_beyond_label"))
def test_cytopenia_occurrences_shorten_to_21_then_14_then_beyond_label():
    """Cytopenias (AML): before remission usually do not interrupt; after remission lasting
    >= 7 days, grade 4 neutropenia or thrombocytopenia -> delay the next cycle; first occurrence
    resume at the same dose once grade 1–2; later occurrences shorten VEN by 7 days per cycle
    (e.g. 21 of 28)"""
    episodes = (
        episode(21, 35),  # before cycle 2 (delayed to day 36 = 2027-01-05)
        episode(50, 62, THROMBOCYTOPENIA),  # in cycle 2, before cycle 3 (2027-02-02)
        episode(80, 90),  # in cycle 3, before cycle 4 (2027-03-02)
        episode(109, 119),  # in cycle 4, before cycle 5 (2027-03-30)
    )
    plan, found = compute(inputs(cycles=6, remission_on=REMISSION, cytopenias=episodes[:1]))
    assert [c.ven_days for c in plan.cycles] == [28] * 6
    plan, found = compute(inputs(cycles=6, remission_on=REMISSION, cytopenias=episodes[:2]))
    assert [c.ven_days for c in plan.cycles] == [28, 28, 21, 21, 21, 21]
    assert doses(plan, 3) == mg(400) * 21
    assert plan.cycle(3).total_mg == D(400 * 21)
    assert "cycle 3: VEN on days 1–21 of 28 (occurrence 2" in " ".join(
        f.message.english for f in found
    )
    plan, found = compute(inputs(cycles=6, remission_on=REMISSION, cytopenias=episodes[:3]))
    assert [c.ven_days for c in plan.cycles] == [28, 28, 21, 14, 14, 14]
    assert "cytopenia_beyond_label" not in codes(found)
    plan, found = compute(inputs(cycles=6, remission_on=REMISSION, cytopenias=episodes))
    assert [c.ven_days for c in plan.cycles] == [28, 28, 21, 14, 7, 7]
    beyond = one(found, "cytopenia_beyond_label")
    assert (beyond.severity, beyond.rule, beyond.open) == (BLOCKING, "cytopenia", True)
    assert "From cycle 5 VEN would run 7 days" in beyond.message.english
    # a fifth occurrence: the finding still names the first cycle beyond the label
    fifth = (*episodes, episode(137, 147))
    plan, found = compute(inputs(cycles=6, remission_on=REMISSION, cytopenias=fifth))
    assert [c.ven_days for c in plan.cycles] == [28, 28, 21, 14, 7, 0]
    assert (
        "From cycle 5 VEN would run 7 days" in one(found, "cytopenia_beyond_label").message.english
    )
    # the cycles still start every 28 days after the delay
    assert [c.start_on for c in plan.cycles][1:] == [
        date(2027, 1, 5) + timedelta(days=28 * k) for k in range(5)
    ]


@cites("cytopenia", findings=("cytopenia_delay",))
def test_unrecovered_cytopenia_after_remission_holds_the_next_cycles():
    """Cytopenias (AML): before remission usually do not interrupt; after remission lasting
    >= 7 days, grade 4 neutropenia or thrombocytopenia -> delay the next cycle; first occurrence
    resume at the same dose once grade 1–2; later occurrences shorten VEN by 7 days per cycle
    (e.g. 21 of 28)"""
    plan, found = compute(inputs(cycles=3, remission_on=REMISSION, cytopenias=(episode(21, None),)))
    assert plan.cycle(1).waits_for == ""
    assert plan.cycle(2).start_on is None and plan.cycle(3).start_on is None
    assert "cycle 2 waits for recovery to grade <= 2" in plan.cycle(2).waits_for
    assert plan.cycle(3).waits_for == plan.cycle(2).waits_for
    assert all(d.on is None for d in plan.cycle(2).days)
    f = one(found, "cytopenia_delay")
    assert (f.severity, f.overridable, f.rule, f.scope) == (
        BLOCKING,
        False,
        "cytopenia",
        "every_cycle",
    )
    assert "since 2026-12-22" in f.message.english


@cites("cytopenia")
def test_cytopenia_before_remission_changes_nothing():
    """Cytopenias (AML): before remission usually do not interrupt; after remission lasting
    >= 7 days, grade 4 neutropenia or thrombocytopenia -> delay the next cycle; first occurrence
    resume at the same dose once grade 1–2; later occurrences shorten VEN by 7 days per cycle
    (e.g. 21 of 28)"""
    plain, _ = compute(inputs(cycles=3))
    for i in (
        inputs(cycles=3, remission_on=REMISSION, cytopenias=(episode(19, None),)),
        inputs(cycles=3, remission_on=None, cytopenias=(episode(21, None),)),
        inputs(cycles=3, remission_on=REMISSION, cytopenias=(episode(21, 27),)),  # 6 days
        inputs(cycles=3, remission_on=REMISSION, cytopenias=(episode(21, None, grade=3),)),
        inputs(cycles=3, remission_on=REMISSION, cytopenias=(episode(21, None, "anaemia"),)),
    ):
        plan, found = compute(i)
        assert plan.schedule_data() == plain.schedule_data()
        assert not codes(found) & {"cytopenia_delay", "cytopenia_modification"}
    # the boundaries: onset on the remission date counts, 7 days counts
    on_remission = inputs(cycles=2, remission_on=REMISSION, cytopenias=(episode(20, None),))
    assert compute(on_remission)[0].cycle(2).waits_for
    seven = inputs(cycles=2, remission_on=REMISSION, cytopenias=(episode(21, 35 - 7),))
    assert compute(seven)[0].cycle(2).start_on == DAY1 + timedelta(days=28)
    seven = inputs(cycles=2, remission_on=REMISSION, cytopenias=(episode(22, 29),))
    assert compute(seven)[0].cycle(2).start_on == DAY1 + timedelta(days=29)


@cites("cytopenia")
def test_grade_4_lasting_6_days_changes_nothing():
    """Cytopenias (AML): before remission usually do not interrupt; after remission lasting
    >= 7 days, grade 4 neutropenia or thrombocytopenia -> delay the next cycle; first occurrence
    resume at the same dose once grade 1–2; later occurrences shorten VEN by 7 days per cycle
    (e.g. 21 of 28)"""
    plan, found = compute(inputs(cycles=2, remission_on=REMISSION, cytopenias=(episode(25, 31),)))
    assert plan.cycle(2).start_on == DAY1 + timedelta(days=28)
    assert plan.cycle(2).ven_days == 28
    assert not codes(found) & {"cytopenia_delay", "cytopenia_modification"}


@cites("cytopenia")
def test_a_delayed_cycle_does_not_start_during_a_second_unrecovered_cytopenia():
    """Cytopenias (AML): before remission usually do not interrupt; after remission lasting
    >= 7 days, grade 4 neutropenia or thrombocytopenia -> delay the next cycle; first occurrence
    resume at the same dose once grade 1–2; later occurrences shorten VEN by 7 days per cycle
    (e.g. 21 of 28)"""
    episodes = (
        episode(21, 40),  # neutropenia: cycle 2 (planned day 29) delayed to day 41
        episode(30, None, THROMBOCYTOPENIA),  # from day 31, not recovered
    )
    plan, found = compute(inputs(cycles=2, remission_on=REMISSION, cytopenias=episodes))
    two = plan.cycle(2)
    assert two.start_on is None and two.waits_for
    assert "cytopenia_delay" in codes(found)


# --- dispensing window, digest -----------------------------------------------------------------


@cites("dispensing")
def test_a_cycle_may_be_dispensed_three_days_before_it_starts():
    """A cycle may be dispensed at most this many days before it starts; each hospital sets its
    own window (default 3 days)."""
    plan, _ = compute(inputs(cycles=2))
    assert RULES.early_window_days_default == 3
    assert plan.cycle(2).earliest_dispense_on(RULES.early_window_days_default) == date(2026, 12, 26)
    assert compute(inputs(tls=None))[0].cycle_one.earliest_dispense_on(3) is None


def test_schedule_data_and_digest():
    plan, _ = compute(inputs(cycles=2, target_mg=D(70), medications=(med("posaconazole"),)))
    data = plan.schedule_data()
    assert data[0]["doses_mg"][:5] == ["10", "20", "50", "70", "70"]
    assert data[0]["tablets"] == {"50": 26, "10": 53}
    assert data[0]["total_mg"] == str(10 + 20 + 50 + 70 * 25)
    assert data[1]["start_on"] == "2026-12-29" and data[1]["ven_days"] == 28
    assert plan.tablets == {D(50): 26 + 28, D(10): 53 + 56}
    assert plan.total_mg == D(10 + 20 + 50 + 70 * 25 + 70 * 28)
    assert plan.days_total == 56
    assert steps_text_plain(doses(plan)) == "10/20/50/70x25"
    a = inputs_digest(inputs(), RULES, "x")
    assert a == inputs_digest(inputs(), RULES, "x")
    assert a != inputs_digest(inputs(target_mg=D(300)), RULES, "x")
    assert a != inputs_digest(inputs(), RULES, "y")
    assert inputs(medications=(med("fluconazole"),)).as_data()["medications"][0]["name"] == (
        "fluconazole"
    )


# --- the rules file is refused when malformed ----------------------------------------------------


def _broken(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    data = copy.deepcopy(DATA)
    change(data)
    return data


MALFORMED = [
    ("missing source", lambda d: d["inhibitors"][0].pop("source"), "inhibitors.posaconazole"),
    (
        "unknown source",
        lambda d: d["ramp_ups"]["hma_3_day"].update(source="blog"),
        "ramp_ups.hma_3_day: source 'blog'",
    ),
    (
        "unknown severity",
        lambda d: d["findings"]["codes"]["inducer"].update(severity="fatal"),
        "findings.inducer: severity 'fatal'",
    ),
    (
        "unknown scope",
        lambda d: d["findings"]["codes"]["inducer"].update(scope="sometimes"),
        "findings.inducer: scope 'sometimes'",
    ),
    (
        "finding cites a missing rule",
        lambda d: d["findings"]["codes"]["inducer"].update(rule="inducerz"),
        "findings.inducer: rule 'inducerz' is not in the file",
    ),
    (
        "decreasing ramp-up",
        lambda d: d["ramp_ups"]["hma_3_day"].update(steps_mg=[100, 400, 200]),
        "ramp_ups.hma_3_day: ramp-up steps must not decrease",
    ),
    (
        "decreasing inhibitor ramp-up",
        lambda d: d["inhibitors"][1].update(ramp_up_steps_mg=[10, 50, 20, 100]),
        "inhibitors.strong_cyp3a: ramp-up steps must not decrease",
    ),
    (
        "steady dose not the last step",
        lambda d: d["inhibitors"][0].update(steady_mg=100),
        "inhibitors.posaconazole: the last ramp-up step must be the steady dose",
    ),
    (
        "both steady and reduction",
        lambda d: d["inhibitors"][2].update(steady_mg=100),
        "inhibitors.moderate_cyp3a: give either",
    ),
    (
        "neither steady nor reduction",
        lambda d: d["inhibitors"][2].pop("reduce_by_percent"),
        "inhibitors.moderate_cyp3a: give either",
    ),
    (
        "reduction of 100%",
        lambda d: d["inhibitors"][2].update(reduce_by_percent=100),
        "inhibitors.moderate_cyp3a: reduce_by_percent must be between 0 and 100",
    ),
    (
        "reduction of 0%",
        lambda d: d["inhibitors"][3].update(reduce_by_percent=0),
        "inhibitors.pgp: reduce_by_percent must be between 0 and 100",
    ),
    (
        "duplicate inhibitor code",
        lambda d: d["inhibitors"][3].update(code="moderate_cyp3a"),
        "inhibitors: codes must be unique",
    ),
    (
        "not a number",
        lambda d: d["hepatic"].update(severe_reduce_by_percent="half"),
        "hepatic: 'half' is not a number",
    ),
    (
        "a boolean is not a number",
        lambda d: d["renal"].update(severe_below_ml_min=True),
        "renal: True is not a number",
    ),
    (
        "negative number",
        lambda d: d["tls"].update(max_wbc_10e9_l=-1),
        "tls: -1 is not a non-negative number",
    ),
    (
        "infinite number",
        lambda d: d["tls"].update(max_wbc_10e9_l="Infinity"),
        "tls: 'Infinity' is not a non-negative number",
    ),
    (
        "not a whole number",
        lambda d: d["cytopenia"].update(grade=4.5),
        "cytopenia: 4.5 is not a non-negative whole number",
    ),
    (
        "empty wording",
        lambda d: d["renal"].update(wording="  "),
        "renal: the wording is empty",
    ),
    (
        "confirmed not a boolean",
        lambda d: d["renal"].update(confirmed="yes"),
        "renal: 'confirmed' must be true or false",
    ),
    (
        "partner with an undefined ramp-up",
        lambda d: d["partners"]["ldac"].update(ramp_up="ldac_5_day"),
        "partners.ldac: ramp-up 'ldac_5_day' is not defined",
    ),
    (
        "no tablet strengths",
        lambda d: d["tablets"].update(strengths_mg=[]),
        "tablets.strengths_mg: needs positive strengths",
    ),
    (
        "a zero strength",
        lambda d: d["tablets"].update(strengths_mg=[100, 0]),
        "tablets.strengths_mg: needs positive strengths",
    ),
    (
        "empty ramp-up",
        lambda d: d["ramp_ups"]["ldac_4_day"].update(steps_mg=[]),
        "ramp_ups.ldac_4_day: needs a non-empty list of doses",
    ),
    (
        "resume at the earlier day",
        lambda d: d["inhibitor_advice"].update(plan_resume_after_days=2),
        "inhibitor_advice: the plan must resume at the later, safer day",
    ),
    (
        "missing tls wording",
        lambda d: d["tls"].pop("risk_wording"),
        "tls.risk: 'risk_wording' is missing",
    ),
    ("missing top-level rule", lambda d: d.pop("eu_strong"), "file: 'eu_strong' is missing"),
    ("missing sources", lambda d: d.pop("sources"), "file: 'sources' is missing"),
    (
        "missing finding field",
        lambda d: d["findings"]["codes"]["food"].pop("overridable"),
        "findings.food: 'overridable' is missing",
    ),
]


@pytest.mark.parametrize(("case", "change", "place"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_label_rules_parse_refuses_malformed_data_naming_the_place(case, change, place):
    with pytest.raises(RulesInvalid) as refused:
        label_rules_parse(_broken(change), 3)
    assert place in str(refused.value), (case, str(refused.value))


def test_a_finding_may_cite_a_rule_group():
    """'partners' and 'inhibitors' name groups of rules: allowed, a prefix of a rule's path."""
    data = _broken(lambda d: d["findings"]["codes"]["food"].update(rule="ramp_ups"))
    assert label_rules_parse(data).finding("food").rule_path == "ramp_ups"
    data = _broken(lambda d: d["findings"]["codes"]["food"].update(rule="ramp"))
    with pytest.raises(RulesInvalid, match="rule 'ramp' is not in the file"):
        label_rules_parse(data)


def test_parsed_rules_carry_the_label_numbers():
    assert RULES.version == 2
    assert RULES.verified_on == date(2026, 12, 6)
    assert RULES.strengths_mg == (D(100), D(50), D(10))
    assert RULES.resume_after_days == 3
    assert RULES.hepatic_severe == ("severe",)
    assert RULES.hepatic_reduce_by_percent == D(50)
    assert RULES.renal_severe_below == D(30)
    assert RULES.tls_max_wbc == D(25)
    assert RULES.tls_labs_hours_after_new_dose == (6, 8)
    assert RULES.tls_labs_hours_after_final_dose == 24
    assert RULES.tls_reduced_renal_below == D(80)
    assert RULES.inducer_classes == ("strong_cyp3a_inducer", "moderate_cyp3a_inducer")
    assert RULES.contraindicated_codes == ("st_johns_wort",)
    assert RULES.food_classes == ("food_avoid",)
    cyto = RULES.cytopenia
    assert (cyto.grade, cyto.lasting_days, cyto.recovered_grade, cyto.shorten_days) == (4, 7, 2, 7)
    assert cyto.after_responses == ("cr", "cri", "crh")
    posa = RULES.inhibitor("posaconazole")
    assert posa.ramp_up_steps_mg == (D(10), D(20), D(50), D(70)) and posa.steady_mg == D(70)
    assert posa.match_drug_codes == ("posaconazole",)
    strong = RULES.inhibitor("strong_cyp3a")
    assert strong.ramp_up_steps_mg == (D(10), D(20), D(50), D(100))
    assert strong.max_for_day(4, D(400)) == D(100) and strong.max_for_day(5, D(400)) == D(100)
    assert strong.max_for_day(1, D(100)) == D(10)
    moderate = RULES.inhibitor("moderate_cyp3a")
    assert moderate.reduce_by_percent == D(50) and moderate.steady_mg is None
    assert moderate.max_for_day(2, D(200)) == D(100)
    pgp = RULES.inhibitor("pgp")
    assert pgp.match_also_pgp is True and moderate.match_also_pgp is False
    assert RULES.ramp_ups["ldac_4_day"].target_mg == D(600)
    assert RULES.partners["ldac"].round_to_mg == D(1)


# --- completeness ----------------------------------------------------------------------------


def _emitted_codes() -> set[str]:
    """The codes the checker passes to self.add( in pharmacy/safety.py."""
    text = SAFETY_PY.read_text(encoding="utf-8")
    found = set(re.findall(r'self\.add\(\s*"([a-z_]+)"', text))
    found |= set(re.findall(r'"(dose_above_[a-z]+)"', text))
    return found


def test_every_finding_code_the_checker_emits_is_in_the_catalogue():
    emitted = _emitted_codes()
    assert len(emitted) >= 25
    assert emitted <= set(RULES.findings), emitted - set(RULES.findings)
    # and the catalogue lists nothing the checker can never emit
    assert set(RULES.findings) <= emitted, set(RULES.findings) - emitted


def _folded(text: str) -> str:
    return " ".join(text.replace("\u2019", "'").split())


def test_every_rule_and_finding_code_has_an_example():
    """Each rule of the file and each finding code has a test above, whose docstring quotes the
    wording of every rule it cites."""
    assert set(RULES.rules) - set(CITED) == set()
    assert set(CITED) <= set(RULES.rules)
    assert set(RULES.findings) - set(FINDING_TESTS) == set()
    tests = {name: obj for name, obj in globals().items() if name.startswith("test_")}
    unquoted = []
    for name, fn in tests.items():
        for path in getattr(fn, "cited_rules", ()):
            wording = _folded(RULES.rule(path).wording)
            doc = _folded(fn.__doc__ or "")
            if not all(part.strip(" .") in doc for part in wording.split("…")):
                unquoted.append(f"{name} does not quote {path}: {wording!r}")
    assert unquoted == []


# --- the plan's values ------------------------------------------------------------------------


def test_plan_inputs_and_days_are_frozen_values():
    """The inputs are hashed into the version's digest and the days are shared by every
    surface: none of them can be changed after the plan is computed."""
    plan, _ = compute(
        inputs(
            cycles=2,
            medications=(med("fluconazole"),),
            remission_on=REMISSION,
            cytopenias=(episode(21, 35),),
        )
    )
    day = plan.days[0]
    values: list[Any] = [
        plan.inputs,
        plan.inputs.medications[0],
        plan.inputs.labs,
        plan.inputs.tls,
        plan.inputs.cytopenias[0],
        day,
        day.limits[0],
        plan.modifications[0],
        plan.partner_dose,
        plan.lab_times[0],
    ]
    for value in values:
        with pytest.raises(dataclasses.FrozenInstanceError):
            value.__setattr__(next(iter(value.__dataclass_fields__)), None)
        assert hash(value) == hash(copy.copy(value))
    assert PlanInputs("azacitidine", "hma_3_day", "", D(400), 1, 28).early_window_days == 3
    assert PlanInputs("azacitidine", "hma_3_day", "", D(400), 1, 28).hepatic == "unknown"
    assert MedicationFacts("x", "unknown", (), (), False, True, None, None).class_confirmed


def test_a_ramp_up_with_one_rise_has_one_ramp_up_day():
    plan, _ = compute(inputs(ramp_up="custom", ramp_up_custom="100/200 mg", target_mg=D(200)))
    assert [d.day for d in plan.cycle_one.ramp_up_days] == [1]
    assert plan.schedule_mg == mg(100, 200)
    assert [(t.day, t.kind) for t in plan.lab_times] == [
        (1, "pre"),
        (1, "after"),
        (2, "pre"),
        (2, "after"),
        (3, "final"),
    ]
    flat, _ = compute(inputs(target_mg=D(100)))
    assert flat.cycle_one.ramp_up_days == [] and flat.schedule_mg == mg(100)


def test_the_steady_dose_is_cycle_ones_last_day():
    """An inhibitor started on day 28: the last day is the adjusted one."""
    start = DAY1 + timedelta(days=27)
    plan, _ = compute(inputs(medications=(med("voriconazole", started_on=start),)))
    assert doses(plan)[-2:] == mg(400, 100)
    assert plan.steady_mg == D(100)


@cites("cytopenia")
def test_short_cycles_shortened_past_zero_give_no_ven_days():
    """Cytopenias (AML): before remission usually do not interrupt; after remission lasting
    >= 7 days, grade 4 neutropenia or thrombocytopenia -> delay the next cycle; first occurrence
    resume at the same dose once grade 1–2; later occurrences shorten VEN by 7 days per cycle
    (e.g. 21 of 28)"""
    # 14-day cycles from 2026-12-01; remission on day 2; four 7-day episodes before cycle 2
    episodes = (episode(2, 9), episode(3, 10, THROMBOCYTOPENIA), episode(4, 11), episode(5, 12))
    plan, found = compute(
        inputs(cycles=2, cycle_days=14, remission_on=DAY1 + timedelta(days=2), cytopenias=episodes)
    )
    assert plan.cycle(2).ven_days == 0
    assert plan.cycle(2).days == [] and plan.cycle(2).total_mg == 0
    assert "cycle 2: VEN on days 1–0 of 14 (occurrence 4" in " ".join(
        f.message.english for f in found
    )


@cites("cytopenia")
def test_a_fourth_cytopenia_in_14_day_cycles_is_beyond_the_label():
    """Cytopenias (AML): before remission usually do not interrupt; after remission lasting
    >= 7 days, grade 4 neutropenia or thrombocytopenia -> delay the next cycle; first occurrence
    resume at the same dose once grade 1–2; later occurrences shorten VEN by 7 days per cycle
    (e.g. 21 of 28)"""
    episodes = (episode(2, 9), episode(3, 10, THROMBOCYTOPENIA), episode(4, 11), episode(5, 12))
    _, found = compute(
        inputs(cycles=2, cycle_days=14, remission_on=DAY1 + timedelta(days=2), cytopenias=episodes)
    )
    assert "cytopenia_beyond_label" in codes(found)


@cites("cytopenia")
def test_an_unrecovered_cytopenia_beginning_on_the_planned_start_day_holds_that_cycle():
    """Cytopenias (AML): before remission usually do not interrupt; after remission lasting
    >= 7 days, grade 4 neutropenia or thrombocytopenia -> delay the next cycle; first occurrence
    resume at the same dose once grade 1–2; later occurrences shorten VEN by 7 days per cycle
    (e.g. 21 of 28)"""
    plan, _ = compute(inputs(cycles=2, remission_on=REMISSION, cytopenias=(episode(28, None),)))
    assert plan.cycle(2).start_on is None and plan.cycle(2).waits_for


def test_modifications_name_each_limit_other_than_the_label_over_its_days():
    plan, _ = compute(inputs(medications=(med("fluconazole"),)))
    assert plan.modifications == [
        Modification(
            "moderate_cyp3a",
            1,
            DAY1,
            date(2026, 12, 28),
            "fluconazole: 2026-12-01 to 2026-12-28",
            "inhibitors.moderate_cyp3a",
        )
    ]
    undated, _ = compute(inputs(tls=None, hepatic="severe", cycles=2))
    assert [(m.code, m.detail) for m in undated.modifications] == [
        ("hepatic", "severe hepatic impairment: cycle 1 day 1 to cycle 2 day 28")
    ]
    assert compute(inputs())[0].modifications == []


def test_the_digest_is_sha256_of_the_sorted_inputs_rules_version_and_classes():
    """Stored versions compare digests across releases: the payload's form must not change."""
    i = inputs(medications=(med("fluconazole"),))
    payload = json.dumps({"inputs": i.as_data(), "rules": 2, "classes": "c"}, sort_keys=True)
    assert inputs_digest(i, RULES, "c") == hashlib.sha256(payload.encode()).hexdigest()


# --- the safety report's figures (pure: no stored rule set needed) ------------------------------


def report(i: PlanInputs) -> SafetyReport:
    plan, found = compute(i)
    return SafetyReport(rules=None, plan=plan, findings=found)  # type: ignore[arg-type]


def test_safety_report_figures_from_the_plan():
    r = report(inputs(target_mg=D(70), medications=(med("posaconazole"),), hepatic="unknown"))
    assert r.label_target_mg == D(400)
    assert r.max_dose_mg == D(70)
    assert r.expected_ramp_up_mg == mg(10, 20, 50, 70)
    assert r.partner_dose.rounded_mg == D(135)
    assert r.counts() == {
        "blocking": 1,
        "warning": 2,
        "info": sum(1 for f in r.findings if f.severity == "info"),
    }
    assert [f.code for f in r.open_blocking] == ["dose_above_inhibitor"]
    assert [f.code for f in r.open_blocking_for_cycle(2)] == ["dose_above_inhibitor"]
    labs = [(row.label, row.earliest, row.latest) for row in r.lab_schedule]
    assert labs[0] == ("Day 1 (10 mg): pre-dose", FIRST_DOSE, FIRST_DOSE)
    assert labs[1][0] == "Day 1 (10 mg): 6–8 h after"
    assert labs[1][2] == FIRST_DOSE + timedelta(hours=8)
    assert labs[-1][0] == "Day 5: 24 h after reaching 70 mg"
    # without a modification there is no adjusted maximum; without a partner no label target
    plain = report(
        inputs(regimen="flag_ida", labs=LabFacts(**{**CLEAN_LABS.__dict__, "wbc": D(30)}))
    )
    assert plain.max_dose_mg is None and plain.label_target_mg is None
    assert [f.code for f in plain.open_blocking] == ["wbc_too_high"]
    assert plain.open_blocking_for_cycle(2) == []  # an initiation finding holds cycle 1 only
    assert report(inputs()).max_dose_mg is None
    empty = SafetyReport(rules=None, plan=None)  # type: ignore[arg-type]
    assert (empty.label_target_mg, empty.max_dose_mg, empty.partner_dose) == (None, None, None)
    assert (empty.expected_ramp_up_mg, empty.lab_schedule) == ([], [])
    no_days = report(inputs(cycle_days=0, medications=(med("fluconazole"),)))
    assert no_days.plan.days == [] and no_days.max_dose_mg is None


def test_tablets_are_listed_largest_strength_first():
    plan, _ = compute(inputs(target_mg=D(160), cycles=2))
    assert list(plan.cycle_one.tablets) == [D(100), D(50), D(10)]
    assert list(plan.tablets) == [D(100), D(50), D(10)]
    assert plan.schedule_data()[0]["tablets"] == {"100": 1 + 27, "50": 27, "10": 27}


def test_the_reports_maximum_is_cycle_ones_last_day():
    """An inhibitor started on day 28: the last day's adjusted maximum is the report's."""
    start = DAY1 + timedelta(days=27)
    assert report(inputs(medications=(med("voriconazole", started_on=start),))).max_dose_mg == 100


# --- pinned by mutation testing ------------------------------------------------------------------


def test_a_plan_without_cycles_has_an_empty_schedule():
    """A plan built with no cycles (never by plan_compute) reads an empty schedule, no steady
    dose and no lab times rather than failing."""
    empty = TreatmentPlan(inputs(), RULES, mg(100, 200, 400))
    assert empty.cycle_one is None and empty.cycle(1) is None
    assert empty.schedule_mg == [] and empty.steady_mg is None
    assert empty.days == [] and empty.total_mg == 0 and empty.tablets == {}


def test_severe_hepatic_impairment_caps_each_day_at_half_the_label_step():
    """The hepatic cap is the label step less 50%: 50/100/200 mg, not merely a dose that rounds
    down to it."""
    plan, found = compute(inputs(hepatic="severe"))
    assert [d.max_mg for d in plan.days[:4]] == mg(50, 100, 200, 200)
    assert all(d.binding.code == "hepatic" for d in plan.days)
    assert (
        "the label allows at most 50/100/200 mg" in one(found, "dose_above_hepatic").message.english
    )


def test_initiation_lasts_as_long_as_the_longest_strong_inhibitor_ramp_up():
    """The initiation warning covers the longest strong-inhibitor ramp-up of the rules file (or
    the requested one, if longer): with a 5-step posaconazole row, a strong inhibitor started on
    day 5 is still at initiation."""
    longer = label_rules_parse(
        _broken(lambda d: d["inhibitors"][0].update(ramp_up_steps_mg=[10, 20, 30, 50, 70])), 2
    )
    assert len(longer.inhibitor("posaconazole").ramp_up_steps_mg) == 5
    assert len(longer.inhibitor("strong_cyp3a").ramp_up_steps_mg) == 4

    def warned(rules: Any, day: int) -> bool:
        i = inputs(medications=(med("voriconazole", started_on=DAY1 + timedelta(days=day - 1)),))
        plan = plan_compute(i, rules)
        return "strong_inhibitor_at_initiation" in codes(findings_compute(plan, rules, i))

    assert [warned(longer, day) for day in (4, 5, 6)] == [True, True, False]
    assert [warned(RULES, day) for day in (4, 5)] == [True, False]


@cites("cytopenia")
def test_one_ven_day_left_is_not_beyond_the_label():
    """Cytopenias (AML): before remission usually do not interrupt; after remission lasting
    >= 7 days, grade 4 neutropenia or thrombocytopenia -> delay the next cycle; first occurrence
    resume at the same dose once grade 1–2; later occurrences shorten VEN by 7 days per cycle
    (e.g. 21 of 28)"""
    # 8-day cycles; two 7-day episodes before cycle 2: VEN on day 1 only, still within the label
    episodes = (episode(1, 8), episode(2, 9, THROMBOCYTOPENIA))
    plan, found = compute(inputs(cycles=2, cycle_days=8, remission_on=DAY1, cytopenias=episodes))
    assert plan.cycle(2).cytopenia_occurrences == 2
    assert plan.cycle(2).ven_days == 1 and doses(plan, 2) == mg(400)
    assert "cytopenia_beyond_label" not in codes(found)


def test_parsed_rule_objects_are_frozen():
    """The typed rules are cached per process and shared by every plan: none can be changed."""
    rules = label_rules_parse(DATA, 2)
    values: list[Any] = [
        rules,
        rules.rule("renal"),
        rules.ramp_ups["hma_3_day"],
        rules.partners["azacitidine"],
        rules.inhibitor("pgp"),
        rules.finding("food"),
        rules.cytopenia,
    ]
    for value in values:
        with pytest.raises(dataclasses.FrozenInstanceError):
            value.__setattr__(next(iter(value.__dataclass_fields__)), None)


def test_label_rules_parse_defaults_and_inclusive_bounds():
    """What the file may leave out, and the edges of what it may say."""
    rules = label_rules_parse(DATA, 2)
    # match_also_pgp defaults to false: only the P-gp row matches a P-gp flag
    assert [r.code for r in rules.inhibitors if r.match_also_pgp] == ["pgp"]
    assert "match_also_pgp" not in DATA["inhibitors"][1]
    # a rule without "confirmed" is confirmed
    data = _broken(lambda d: d["renal"].pop("confirmed", None))
    assert label_rules_parse(data).rule("renal").confirmed is True
    # a held ramp-up step is not a decrease
    data = _broken(lambda d: d["ramp_ups"]["hma_3_day"].update(steps_mg=[100, 200, 200, 400]))
    assert label_rules_parse(data).ramp_ups["hma_3_day"].steps_mg == (
        D(100),
        D(200),
        D(200),
        D(400),
    )
    # reduce_by_percent is strictly between 0 and 100: 1 and 99 are accepted
    for percent in (1, 99):

        def reduce(d: dict[str, Any], p: int = percent) -> None:
            d["inhibitors"][3].update(reduce_by_percent=p)

        data = _broken(reduce)
        assert label_rules_parse(data).inhibitor("pgp").reduce_by_percent == D(percent)
    # whole numbers are non-negative: 0 is accepted, -1 is not
    data = _broken(lambda d: d["cytopenia"].update(recovered_grade=0))
    assert label_rules_parse(data).cytopenia.recovered_grade == 0
    with pytest.raises(RulesInvalid, match="cytopenia: -1 is not a non-negative whole number"):
        label_rules_parse(_broken(lambda d: d["cytopenia"].update(recovered_grade=-1)))
    # numbers may be written as text; 0 is a non-negative number
    data = _broken(lambda d: d["hepatic"].update(severe_reduce_by_percent="50"))
    assert label_rules_parse(data).hepatic_reduce_by_percent == D(50)
    data = _broken(lambda d: d["renal"].update(severe_below_ml_min=0))
    assert label_rules_parse(data).renal_severe_below == D(0)
    with pytest.raises(RulesInvalid, match=r"renal: \[30\] is not a number"):
        label_rules_parse(_broken(lambda d: d["renal"].update(severe_below_ml_min=[30])))


def test_stored_rule_set_helpers_read_its_data():
    """A stored version's digest (stable across releases: a reload of the same file must match
    it), its tablet strengths largest first, a source's name, and its typed rules parsed once."""
    from pharmacy.models import LabelRuleSet
    from pharmacy.rules import _digest, label_rules_typed, source_name, tablet_strengths

    # sorted keys, non-ASCII kept as is
    assert _digest({"b": "è", "a": 1}) == (
        "098f500240b82abb80ce09b2b442f9b934fb88c63451a2c65996c7a60c435380"
    )
    rule_set = LabelRuleSet(version=7, data=DATA, data_hash="pure-test-" + "0" * 54)
    unsorted = LabelRuleSet(data={"tablets": {"strengths_mg": [10, 100, 50]}, "sources": {}})
    assert tablet_strengths(unsorted) == (D(100), D(50), D(10))
    assert source_name(rule_set, "uspi") == DATA["sources"]["uspi"]
    assert source_name(unsorted, "blog") == "blog"
    typed = label_rules_typed(rule_set)
    assert typed.version == 7 and typed.strengths_mg == RULES.strengths_mg
    assert label_rules_typed(rule_set) is typed


def _classes_data(*drugs: dict[str, Any], **top: Any) -> dict[str, Any]:
    def drug(code: str, **changes: Any) -> dict[str, Any]:
        return {"code": code, "class": "none_known", "source": "s", "wording": "w", **changes}

    return {
        "version": 4,
        "sources": {"s": "Source title"},
        "drugs": [drug(**d) for d in drugs],
        **top,
    }


def test_classes_parse_reads_each_drug_with_its_defaults():
    """The classes file: a drug's name defaults to its code, its P-gp flag and 'confirmed' to
    false; aliases (and the code) match whole words, accents folded, longest alias first."""
    from prescriptions.medication_classes import Classes, DrugClass, classes_parse

    data = _classes_data(
        {"code": "zorbazole", "class": "strong_cyp3a_inhibitor", "aliases": ["Zorbà", " "]},
        {
            "code": "mixocin",
            "name": "Mixocin",
            "class": "moderate_cyp3a_inhibitor",
            "also_pgp_inhibitor": True,
            "confirmed": True,
            "aliases": ["mixo cin forte"],
        },
    )
    parsed = classes_parse(data)
    assert parsed.version == 4
    assert parsed.digest == hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
    zorba, mixo = parsed.drugs
    assert zorba == DrugClass(
        "zorbazole", "zorbazole", "strong_cyp3a_inhibitor", False, "Source title", "w", False
    )
    assert (mixo.name, mixo.also_pgp_inhibitor, mixo.confirmed) == ("Mixocin", True, True)
    assert [alias for alias, _ in parsed.aliases] == [
        "mixo cin forte",
        "zorbazole",
        "mixocin",
        "zorba",
    ]
    assert medication_classify("ZORBA 5 mg", parsed) == (zorba,)
    assert medication_classify("zorbazole + Mixo Cin Forte", parsed) == (mixo, zorba)
    assert classes_parse({"sources": {"s": "S"}, "drugs": [data["drugs"][0]]}).version == 0
    for value in (parsed, zorba):
        with pytest.raises(dataclasses.FrozenInstanceError):
            value.__setattr__(next(iter(value.__dataclass_fields__)), None)
    assert isinstance(parsed, Classes)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_classes_data({"code": "a", "class": "weak"}), "drugs[0] (a): class 'weak' is unknown"),
        (_classes_data({"code": "a", "source": "blog"}), "drugs[0] (a): source 'blog' is unknown"),
        (_classes_data({"code": "a", "wording": "  "}), "drugs[0] (a): the wording is empty"),
        (
            _classes_data({"code": "a"}, {"code": "b", "aliases": ["A"]}),
            "drugs[1] (b): alias 'A' also names a",
        ),
        (_classes_data(), "the file lists no drugs"),
        ({}, "the file lists no drugs"),
        ({"drugs": [{"code": "a", "class": "none_known", "source": "s"}]}, "source 's' is unknown"),
    ],
)
def test_classes_parse_refuses_malformed_entries_naming_them(data, message):
    from prescriptions.medication_classes import ClassesInvalid, classes_parse

    with pytest.raises(ClassesInvalid) as refused:
        classes_parse(data)
    assert message in str(refused.value)


def test_classes_parse_accepts_a_drugs_own_code_repeated_as_an_alias():
    from prescriptions.medication_classes import classes_parse

    parsed = classes_parse(_classes_data({"code": "a", "aliases": ["A", "a"]}))
    assert [alias for alias, _ in parsed.aliases] == ["a"]
