"""Behaviour the mutation run of followup/ctcae.py and followup/statistics.py found unpinned.

The CTCAE ranges are quoted from ``followup/data/ctcae_v5_grades.json`` (source "CTCAE v5.0
(NCI, 27 Nov 2017)"); the statistics are checked against figures worked out by hand here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import translation

from followup import ctcae
from followup.ctcae import ctcae_grades, grade_problem
from followup.models import CtcaeTerm
from followup.statistics import DAYS_PER_MONTH, km_fit, km_svg, proportion_ci

# --- CTCAE v5.0: which grades each term defines -------------------------------------------------


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def test_every_grade_the_table_defines_for_a_term_is_accepted_and_every_other_is_refused():
    """ctcae_v5_grades.json: e.g. febrile neutropenia [3, 4, 5], sepsis [4, 5], bacteremia [2],
    hyperuricemia [1, 3, 4, 5]; a grade outside the term's list does not exist for the term."""
    raw = json.loads(ctcae.DATA_FILE.read_text(encoding="utf-8"))
    for entry in raw["terms"]:
        for grade in range(0, 7):
            problem = grade_problem(entry["code"], grade)
            if grade in entry["grades"]:
                assert problem is None, (entry["code"], grade)
            else:
                assert problem is not None, (entry["code"], grade)
                assert f"grade {grade} does not exist for this term" in problem


def test_febrile_neutropenia_at_grade_2_is_refused_naming_grades_3_to_5_of_ctcae_v5():
    """ctcae_v5_grades.json: "Febrile neutropenia", grades [3, 4, 5], confirmed."""
    assert grade_problem("febrile_neutropenia", 2) == (
        "CTCAE v5.0 (NCI, 27 Nov 2017) defines 'Febrile neutropenia' at grades 3–5 only: "
        "grade 2 does not exist for this term."
    )


def test_bacteremia_at_grade_3_is_refused_naming_its_single_grade():
    """ctcae_v5_grades.json: "Bacteremia", grades [2] ("bacteremia has grade 2 only")."""
    assert grade_problem("bacteremia", 3) == (
        "CTCAE v5.0 (NCI, 27 Nov 2017) defines 'Bacteremia' at grade 2 only: "
        "grade 3 does not exist for this term."
    )


def test_an_unverified_range_is_still_applied_and_says_it_is_not_yet_verified():
    """ctcae_v5_grades.json: "Hyperuricemia", grades [1, 3, 4, 5], "confirmed": false ("the app
    applies every range either way, and names an unconfirmed one as not yet verified")."""
    problem = grade_problem("hyperuricemia", 2)
    assert problem is not None
    assert "'Hyperuricemia' at grades 1, 3–5 only" in problem
    assert problem.endswith(" (Range not yet verified against the table.)")
    assert grade_problem("hyperuricemia", 1) is None
    confirmed = grade_problem("sepsis", 3)
    assert confirmed is not None and "not yet verified" not in confirmed


def test_no_grade_and_an_unknown_term_are_not_a_grade_problem():
    assert grade_problem("febrile_neutropenia", None) is None
    assert grade_problem("not_a_ctcae_term", 9) is None


@pytest.mark.parametrize(
    ("code", "text"),
    [
        ("bacteremia", "2"),
        ("sepsis", "4–5"),
        ("febrile_neutropenia", "3–5"),
        ("nausea", "1–3"),
        ("creatinine_increased", "1–4"),
        ("lung_infection", "2–5"),
        ("hyperuricemia", "1, 3–5"),
        ("other", "1–5"),
    ],
)
def test_the_grades_of_a_term_read_as_runs(code, text):
    """ctcae_v5_grades.json: bacteremia [2], sepsis [4, 5], nausea [1, 2, 3], hyperuricemia
    [1, 3, 4, 5], ..."""
    assert ctcae_grades().for_term(code).grades_text == text


@pytest.fixture
def grades_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Point ctcae_grades() at an edited copy of the data file (its cache cleared around)."""
    raw = json.loads(ctcae.DATA_FILE.read_text(encoding="utf-8"))

    def load(edit: Any) -> Any:
        data = json.loads(json.dumps(raw))
        edit(data)
        path = tmp_path / "ctcae_v5_grades.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        monkeypatch.setattr(ctcae, "DATA_FILE", path)
        ctcae_grades.cache_clear()
        return ctcae_grades()

    ctcae_grades.cache_clear()
    yield load
    monkeypatch.undo()
    ctcae_grades.cache_clear()


def _term(data: dict[str, Any], code: str) -> dict[str, Any]:
    return next(t for t in data["terms"] if t["code"] == code)


def test_the_shipped_grades_file_loads_and_names_its_source(grades_file):
    loaded = grades_file(lambda data: None)
    assert (loaded.source, loaded.version) == ("CTCAE v5.0 (NCI, 27 Nov 2017)", "5.0")
    assert loaded.for_term("sepsis").grades == (4, 5)
    assert loaded.for_term("sepsis").confirmed is True


@pytest.mark.parametrize(
    ("grades", "message"),
    [
        ([], "grades are distinct, sorted, 1 to 5"),
        ([4, 3], "grades are distinct, sorted, 1 to 5"),
        ([3, 3, 4], "grades are distinct, sorted, 1 to 5"),
        ([0, 1], "grades are distinct, sorted, 1 to 5"),
        ([5, 6], "grades are distinct, sorted, 1 to 5"),
    ],
)
def test_a_grade_range_that_is_not_ctcae_grades_1_to_5_fails_at_load_time(
    grades_file, grades, message
):
    def edit(data):
        _term(data, "sepsis")["grades"] = grades

    with pytest.raises(ValueError, match=message):
        grades_file(edit)


def test_a_term_listed_twice_fails_at_load_time(grades_file):
    def edit(data):
        data["terms"].append(dict(_term(data, "sepsis")))

    with pytest.raises(ValueError, match="sepsis twice"):
        grades_file(edit)


@pytest.mark.parametrize(
    ("field", "value"),
    [("confirmed", "yes"), ("confirmed", None), ("term", ""), ("term", None)],
)
def test_a_term_without_a_name_or_a_yes_no_confirmed_fails_at_load_time(grades_file, field, value):
    def edit(data):
        _term(data, "sepsis")[field] = value

    with pytest.raises(ValueError, match="a term and 'confirmed' are required"):
        grades_file(edit)


def test_a_term_missing_from_the_file_or_unknown_to_the_app_fails_at_load_time(grades_file):
    """ "a term of CtcaeTerm without an entry (or an entry without a term) fails at load time"."""

    def drop(data):
        data["terms"] = [t for t in data["terms"] if t["code"] != "sepsis"]

    with pytest.raises(ValueError, match=r"missing \['sepsis'\], unknown \[\]"):
        grades_file(drop)

    def add(data):
        data["terms"].append({**_term(data, "sepsis"), "code": "hiccups", "term": "Hiccups"})

    with pytest.raises(ValueError, match=r"missing \[\], unknown \['hiccups'\]"):
        grades_file(add)


@pytest.mark.parametrize(
    "edit",
    [
        lambda data: data.pop("source"),
        lambda data: data.update(source=""),
        lambda data: data.update(source=5),
        lambda data: data.pop("version"),
        lambda data: data.update(version=5.0),
    ],
)
def test_a_grades_file_without_its_source_or_version_fails_at_load_time(grades_file, edit):
    with pytest.raises(ValueError, match="a source and a version are required"):
        grades_file(edit)


def test_a_grades_file_whose_terms_are_not_a_list_fails_at_load_time(grades_file):
    def edit(data):
        data["terms"] = {t["code"]: t for t in data["terms"]}

    with pytest.raises(ValueError, match="'terms' is a list"):
        grades_file(edit)


def test_every_term_of_the_app_has_its_grades():
    assert set(ctcae_grades().terms) == {str(c) for c in CtcaeTerm.values}


# --- Registry statistics ------------------------------------------------------------------------


def test_a_proportion_reads_as_a_percentage_with_its_interval_in_percent():
    """Clopper–Pearson for 0 of 10: 0% to 1 - 0.025^(1/10) = 30.85% (exact-interval tables)."""
    none_of_ten = proportion_ci(0, 10)
    assert none_of_ten.value == 0.0 and none_of_ten.percent == 0.0
    assert none_of_ten.low_percent == 0.0
    assert none_of_ten.high_percent == pytest.approx(100 * (1 - 0.025 ** (1 / 10)))
    three_of_four = proportion_ci(3, 4)
    assert three_of_four.value == 0.75 and three_of_four.percent == 75.0
    assert three_of_four.low_percent is not None and three_of_four.high_percent is not None
    assert three_of_four.low_percent < 75.0 < three_of_four.high_percent < 100.0
    nobody = proportion_ci(0, 0)
    assert (nobody.value, nobody.low_percent, nobody.high_percent) == (None, None, None)


def test_no_observation_gives_no_survival_curve():
    assert km_fit([]) is None


def test_the_median_survival_in_months_uses_the_mean_month_of_365_25_over_12_days():
    """S(90) = 4/9 <= 1/2: the median is day 90, 90 / (365.25 / 12) = 2.957 months."""
    curve = km_fit([(30, True), (60, True), (60, False), (90, True), (120, False), (150, True)])
    assert curve is not None and curve.median_days == 90
    assert pytest.approx(30.4375) == DAYS_PER_MONTH
    assert curve.median_months == pytest.approx(90 / 30.4375)
    not_reached = km_fit([(100, True), (200, False), (300, False)])
    assert not_reached is not None and not_reached.median_months is None


def test_survival_is_read_at_the_day_of_a_death_as_after_that_death():
    """Product limit: S(t) includes the deaths at t; before the first death S = 1."""
    curve = km_fit([(10, True), (20, False), (30, True), (40, False)])
    assert curve is not None
    assert curve.survival_at(9.5) == 1.0
    assert curve.survival_at(10) == pytest.approx(3 / 4)
    assert curve.survival_at(30) == pytest.approx(3 / 4 * 1 / 2)
    assert curve.survival_at(1000) == pytest.approx(3 / 4 * 1 / 2)
    assert (curve.n, curve.deaths, curve.censored_times) == (4, 2, (20.0, 40.0))


def test_a_curve_that_stays_just_above_one_half_has_no_median():
    """3 of 5 alive at the end: S = 0.6 > 0.5, the median is not reached."""
    curve = km_fit([(10, True), (20, True), (30, False), (40, False), (50, False)])
    assert curve is not None
    assert curve.survival_at(50) == pytest.approx(0.6)
    assert curve.median_days is None


def _title(svg: str) -> str:
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    return next(t for t in texts if "n = " in t)


def test_the_survival_picture_counts_deaths_and_time_on_treatment_counts_events():
    curve = km_fit([(30, True), (60, False), (90, True)])
    assert curve is not None
    survival = km_svg(curve)
    assert "Overall survival (n = 3, deaths = 2; | censored)" in _title(survival)
    assert "Probability of survival" in survival
    on_treatment = km_svg(curve, title="Time on treatment", ylabel="Still on treatment")
    assert "Time on treatment (n = 3, events = 2; | censored)" in _title(on_treatment)
    assert "Still on treatment" in on_treatment and "deaths =" not in on_treatment


def test_the_survival_picture_runs_in_months_from_the_first_dispensation():
    """A year of follow-up is about 12 months on the axis (365.25 / 12 days a month)."""
    curve = km_fit([(91, True), (182, False), (365, True)])
    assert curve is not None
    svg = km_svg(curve)
    ticks = [float(t) for t in re.findall(r"<text[^>]*>(\d+(?:\.\d+)?)</text>", svg)]
    assert ticks and max(ticks) <= 14


def test_the_survival_picture_marks_the_median_only_when_it_is_reached():
    """The median (first time S(t) <= 1/2) is drawn as a red dotted line; "not reached" draws
    none."""
    reached = km_fit([(30, True), (60, False), (90, True)])
    not_reached = km_fit([(100, True), (200, False), (300, False)])
    assert reached is not None and reached.median_days == 90
    assert not_reached is not None and not_reached.median_days is None
    assert "#b60000" in km_svg(reached)
    assert "#b60000" not in km_svg(not_reached)


def test_the_survival_picture_shows_probabilities_0_to_1_from_month_0():
    """A survival probability lies between 0 and 1, and the first month (early deaths) is on
    the chart: the x axis starts at month 0."""
    curve = km_fit([(91, True), (182, False), (365, True)])
    assert curve is not None
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", km_svg(curve))
    x_label = texts.index("Months from the first VEN dispensation")
    y_label = texts.index("Probability of survival")
    assert texts[0] == "0"
    assert texts[x_label + 1 : y_label] == ["0", "0.2", "0.4", "0.6", "0.8", "1"]
