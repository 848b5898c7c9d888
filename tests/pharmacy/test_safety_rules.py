"""Each safety rule with the label's numbers (pharmacy/data/label_rules.json)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from pharmacy.safety import BLOCKING, INFO, WARNING, safety_check
from tests.pharmacy.conftest import FIRST_DOSE, ROME, tls_record

POSACONAZOLE = {"drug_name": "posaconazole", "interaction": "strong_cyp3a_inhibitor"}
VORICONAZOLE = {"drug_name": "voriconazole", "interaction": "strong_cyp3a_inhibitor"}
FLUCONAZOLE = {"drug_name": "fluconazole", "interaction": "moderate_cyp3a_inhibitor"}
AMIODARONE = {"drug_name": "amiodarone", "interaction": "pgp_inhibitor"}


def _by_code(request):
    return {f.code: f for f in safety_check(request).findings}


def test_the_label_dose_raises_no_dose_finding(make_request):
    findings = _by_code(make_request())  # VEN 400 mg + azacitidine, 3-day ramp-up
    assert not [f for f in findings.values() if f.severity == BLOCKING]
    assert not {"dose_above_label", "dose_below_label", "dose_adjusted"} & set(findings)
    report = safety_check(make_request())
    assert report.label_target_mg == Decimal(400) and report.max_dose_mg is None
    assert report.expected_ramp_up_mg == [Decimal(100), Decimal(200), Decimal(400)]


def test_posaconazole_plans_10_20_50_70_and_blocks_a_request_for_400(make_request):
    """USPI AML rows: "posaconazole: ramp-up day 1 10 mg, day 2 20 mg, day 3 50 mg, day 4 70
    mg; then 70 mg daily"."""
    report = safety_check(make_request([POSACONAZOLE]))
    findings = {f.code: f for f in report.findings}
    blocking = findings["dose_above_inhibitor"]
    assert blocking.severity == BLOCKING and blocking.rule == "inhibitors.posaconazole"
    assert blocking.message == (
        "cycle 1 day 1 to cycle 4 day 28: the request asks 100/200/400 mg; with posaconazole the "
        "label allows at most 10/20/50/70 mg. The plan gives the lower dose, 10/20/50/70 mg."
    )
    assert "day 4 70 mg; then 70 mg daily" in blocking.wording and "USPI" in blocking.source
    assert blocking.confirmed is True
    assert findings["strong_inhibitor_at_initiation"].severity == WARNING
    assert findings["inhibitor_resume"].message == (
        "Record the stop date of posaconazole: the plan resumes the previous venetoclax dose 3 "
        "days after it (the later end of the label's 2–3 days)."
    )
    assert report.max_dose_mg == Decimal(70)
    assert report.expected_ramp_up_mg == [Decimal(10), Decimal(20), Decimal(50), Decimal(70)]


def test_posaconazole_with_70_mg_and_its_ramp_up_is_not_blocked(make_request):
    for ramp in (
        {"ramp_up": "custom", "ramp_up_custom": "10/20/50/70 mg"},
        {"ramp_up": "label_adjusted"},
    ):
        request = make_request([POSACONAZOLE], ven_target_dose_mg=Decimal(70), **ramp)
        findings = _by_code(request)
        assert findings["dose_adjusted"].severity == INFO
        assert "dose_above_inhibitor" not in findings
        assert not safety_check(request).open_blocking


def test_another_strong_inhibitor_plans_10_20_50_100(make_request):
    """USPI AML rows: "other strong CYP3A inhibitor: day 1 10 mg, day 2 20 mg, day 3 50 mg,
    day 4 100 mg; then 100 mg"."""
    report = safety_check(make_request([VORICONAZOLE], ven_target_dose_mg=Decimal(200)))
    findings = {f.code: f for f in report.findings}
    assert findings["dose_above_inhibitor"].rule == "inhibitors.strong_cyp3a"
    assert report.expected_ramp_up_mg == [Decimal(10), Decimal(20), Decimal(50), Decimal(100)]
    ok = _by_code(make_request([VORICONAZOLE], ven_target_dose_mg=100, ramp_up="label_adjusted"))
    assert ok["dose_adjusted"].severity == INFO and "dose_above_inhibitor" not in ok


@pytest.mark.parametrize(
    ("regimen", "ramp_up", "steps"),
    [("azacitidine", "hma_3_day", [50, 100, 200]), ("ldac", "ldac_4_day", [50, 100, 200, 300])],
)
def test_a_moderate_inhibitor_halves_every_step_and_the_steady_dose(
    make_request, regimen, ramp_up, steps
):
    """USPI AML rows: "moderate CYP3A inhibitor, or P-gp inhibitor: reduce the dose by at
    least 50%, during ramp-up and at the steady daily dose"."""
    label = {"azacitidine": 400, "ldac": 600}[regimen]
    report = safety_check(
        make_request([FLUCONAZOLE], regimen=regimen, ramp_up=ramp_up, ven_target_dose_mg=label)
    )
    findings = {f.code: f for f in report.findings}
    assert findings["dose_above_inhibitor"].rule == "inhibitors.moderate_cyp3a"
    assert report.expected_ramp_up_mg == [Decimal(s) for s in steps]
    assert "strong_inhibitor_at_initiation" not in findings


def test_a_pgp_inhibitor_or_a_drug_flagged_as_one_halves_the_dose(make_request):
    report = safety_check(make_request([AMIODARONE]))
    assert {f.rule for f in report.findings if f.code == "dose_above_inhibitor"} == {
        "inhibitors.pgp"
    }
    flagged = {"drug_name": "invented-pgp", "interaction": "none_known", "also_pgp_inhibitor": True}
    findings = _by_code(make_request([flagged], ven_target_dose_mg=Decimal(200)))
    assert findings["dose_above_inhibitor"].message.startswith(
        "cycle 1 days 1–2: the request asks 100/200 mg; with invented-pgp the label allows at "
        "most 50/100 mg."
    )


def test_a_stopped_inhibitor_without_a_date_does_not_count_but_asks_for_the_date(make_request):
    stopped = {**POSACONAZOLE, "ongoing": False}
    findings = _by_code(make_request([stopped]))
    assert "dose_above_inhibitor" not in findings
    assert findings["inhibitor_stop_date_missing"].severity == WARNING


def test_severe_hepatic_impairment_halves_the_dose_and_unknown_function_warns(make_request):
    report = safety_check(make_request(profile={"hepatic_function": "severe"}))
    severe = {f.code: f for f in report.findings}
    assert severe["dose_above_hepatic"].rule == "hepatic"
    assert report.expected_ramp_up_mg == [Decimal(50), Decimal(100), Decimal(200)]
    assert "Child-Pugh C" in severe["dose_above_hepatic"].wording
    unknown = _by_code(make_request(profile={"hepatic_function": "unknown"}))
    assert unknown["hepatic_unknown"].severity == WARNING


def test_dose_above_or_below_the_partner_label_dose(make_request):
    above = _by_code(make_request(ven_target_dose_mg=Decimal(600)))
    assert above["dose_above_label"].severity == BLOCKING
    assert above["dose_above_label"].message == (
        "cycle 1 day 4 to cycle 4 day 28: the request asks 600 mg; with azacitidine the label "
        "allows at most 400 mg. The plan gives the lower dose, 400 mg."
    )
    ldac = _by_code(make_request(regimen="ldac", ramp_up="ldac_4_day", ven_target_dose_mg=600))
    assert not {"dose_above_label", "dose_below_label", "ramp_up_partner_mismatch"} & set(ldac)
    below = _by_code(make_request(ven_target_dose_mg=Decimal(300)))
    assert below["dose_below_label"].severity == WARNING


def test_a_ramp_up_that_does_not_match_the_partner_warns(make_request):
    findings = _by_code(make_request(regimen="ldac", ramp_up="hma_3_day", ven_target_dose_mg=600))
    assert findings["ramp_up_partner_mismatch"].message == (
        "The request plans the hma_3_day ramp-up, but with cytarabine (low dose) the label "
        "ramp-up is 100/200/400/600 mg."
    )


def test_partner_doses_from_bsa_with_the_rounding_shown(make_request):
    # 64 kg, 162 cm: Mosteller sqrt(162 x 64 / 3600) = 1.697 -> 1.70 m2.
    aza = safety_check(make_request()).partner_dose
    assert aza is not None and aza.bsa_m2 == Decimal("1.70")
    assert (aza.exact_mg, aza.rounded_mg, aza.days) == (Decimal("127.50"), Decimal(130), (1, 7))
    findings = _by_code(make_request())
    assert findings["partner_dose"].message == (
        "Azacitidine 75 mg/m² × BSA 1.7 m² (Mosteller) = 127.5 mg, rounded to 130 mg "
        "(nearest 5 mg, hospital rule), SC or IV days 1–7 of each cycle."
    )
    dec = safety_check(make_request(regimen="decitabine_10")).partner_dose
    assert dec is not None and (dec.exact_mg, dec.rounded_mg, dec.days) == (
        Decimal("34.00"),
        Decimal(34),
        (1, 10),
    )
    ldac = safety_check(
        make_request(regimen="ldac", ramp_up="ldac_4_day", ven_target_dose_mg=600)
    ).partner_dose
    assert ldac is not None and ldac.mg_per_m2 == 20 and ldac.route == "SC"
    assert ldac.days == (1, 10)
    no_bsa = _by_code(make_request(profile={"weight_kg": None}))
    assert no_bsa["bsa_missing"].severity == WARNING


def test_wbc_must_be_below_25_before_starting(make_request):
    high = _by_code(make_request(profile={"wbc_10e9_l": Decimal(25)}))
    assert high["wbc_too_high"].severity == BLOCKING
    assert high["wbc_too_high"].message == (
        "WBC 25 ×10⁹/L: it must be below 25 ×10⁹/L before the first dose (cytoreduce first)."
    )
    assert "wbc_too_high" not in _by_code(make_request(profile={"wbc_10e9_l": Decimal("24.9")}))
    assert _by_code(make_request(profile={"wbc_10e9_l": None}))["wbc_missing"].severity == BLOCKING


def test_st_johns_wort_inducers_and_unclassified_drugs(make_request):
    findings = _by_code(
        make_request(
            [
                {"drug_name": "Hypericum (St John's wort)", "interaction": "unknown"},
                {"drug_name": "rifampicin", "interaction": "strong_cyp3a_inducer"},
                {"drug_name": "invented-drug", "interaction": "unknown"},
            ]
        )
    )
    assert findings["contraindicated"].severity == BLOCKING
    assert findings["inducer"].severity == BLOCKING and findings["inducer"].rule == "inducers"
    assert findings["medication_unclassified"].message.startswith("invented-drug is not in")
    assert findings["medication_unclassified"].rule == "classification"


def test_a_dose_no_tablet_combination_makes_is_blocking(make_request):
    findings = _by_code(make_request(ven_target_dose_mg=Decimal(75)))
    assert findings["dose_not_in_tablets"].message == (
        "75 mg cannot be made from 100 mg, 50 mg, 10 mg tablets; the plan rounds it down."
    )


def test_tls_prophylaxis_is_a_warning_until_recorded(make_request, physician):
    request = make_request()
    assert "the first-dose time" in _by_code(request)["tls_prophylaxis"].message
    tls_record(request, physician, chemistry_corrected=False)
    assert _by_code(request)["tls_prophylaxis"].message == (
        "Not yet recorded: chemistry corrected. Required before cycle 1 is dispensed."
    )
    tls_record(request, physician)
    assert "tls_prophylaxis" not in _by_code(request)


def _times(request, first=FIRST_DOSE):
    tls_record(request, request.prescriber, first_dose_at=first)
    return [(lab.label, lab.earliest, lab.latest) for lab in safety_check(request).lab_schedule]


def test_lab_times_for_the_3_day_ramp_up(make_request):
    day = timedelta(days=1)
    six, eight = timedelta(hours=6), timedelta(hours=8)
    t = FIRST_DOSE
    assert _times(make_request()) == [
        ("Day 1 (100 mg): pre-dose", t, t),
        ("Day 1 (100 mg): 6–8 h after", t + six, t + eight),
        ("Day 2 (200 mg): pre-dose", t + day, t + day),
        ("Day 2 (200 mg): 6–8 h after", t + day + six, t + day + eight),
        ("Day 3 (400 mg): pre-dose", t + 2 * day, t + 2 * day),
        ("Day 3 (400 mg): 6–8 h after", t + 2 * day + six, t + 2 * day + eight),
        ("Day 4: 24 h after reaching 400 mg", t + 3 * day, t + 3 * day),
    ]
    # Clock times as a nurse reads them: day 1 at 15:00-17:00, the last draw on 4 December.
    assert _times(make_request())[1][1] == datetime(2026, 12, 1, 15, 0, tzinfo=ROME)
    assert _times(make_request())[-1][1] == datetime(2026, 12, 4, 9, 0, tzinfo=ROME)


def test_lab_times_for_ldac_and_for_the_posaconazole_ramp_up(make_request):
    ldac = _times(make_request(regimen="ldac", ramp_up="ldac_4_day", ven_target_dose_mg=600))
    assert [label for label, *_ in ldac][-1] == "Day 5: 24 h after reaching 600 mg"
    assert len(ldac) == 9
    posa = _times(
        make_request(
            [POSACONAZOLE], ven_target_dose_mg=70, ramp_up="custom", ramp_up_custom="10/20/50/70 mg"
        )
    )
    assert [label for label, *_ in posa][::2] == [
        "Day 1 (10 mg): pre-dose",
        "Day 2 (20 mg): pre-dose",
        "Day 3 (50 mg): pre-dose",
        "Day 4 (70 mg): pre-dose",
        "Day 5: 24 h after reaching 70 mg",
    ]
