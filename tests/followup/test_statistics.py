"""The registry's statistics against computations written out independently in the tests."""

from __future__ import annotations

from fractions import Fraction

import pytest

from followup.statistics import km_fit, km_svg, proportion_ci
from tests.followup.conftest import clopper_pearson


@pytest.mark.parametrize(
    ("k", "n"),
    [(0, 1), (1, 1), (0, 10), (1, 10), (4, 10), (9, 10), (10, 10), (7, 23), (0, 48), (23, 48)],
)
def test_confidence_interval_matches_the_beta_distribution_formula(k, n):
    expected_low, expected_high = clopper_pearson(k, n)
    result = proportion_ci(k, n)
    assert (result.k, result.n) == (k, n)
    assert result.low == pytest.approx(expected_low, abs=1e-9)
    assert result.high == pytest.approx(expected_high, abs=1e-9)
    assert result.low <= k / n <= result.high


def test_confidence_interval_matches_published_values():
    # R's binom.test help page, Mendel's peas: 682 of 925, 95 percent confidence interval
    # 0.7076683 0.7654066.
    mendel = proportion_ci(682, 925)
    assert mendel.low == pytest.approx(0.7076683, abs=5e-8)
    assert mendel.high == pytest.approx(0.7654066, abs=5e-8)
    # No event in 10: the exact upper bound solves (1 - p)^10 = 0.025, by hand 1 - 0.025^(1/10)
    # = 0.3085 (30.8%, the figure in exact-interval tables).
    none_of_ten = proportion_ci(0, 10)
    assert none_of_ten.low == 0.0
    assert none_of_ten.high == pytest.approx(1 - 0.025 ** (1 / 10), abs=1e-12)
    assert none_of_ten.high_percent is not None and round(none_of_ten.high_percent, 1) == 30.8
    # All of 10: the mirror image.
    assert proportion_ci(10, 10).low == pytest.approx(0.025 ** (1 / 10), abs=1e-12)


def test_no_treated_request_gives_no_interval():
    empty = proportion_ci(0, 0)
    assert (empty.low, empty.high, empty.percent) == (None, None, None)


def _product_limit(observations):
    """Kaplan–Meier by hand: S(t) = product over death times u <= t of (1 - d_u / n_u), with
    n_u those still followed at u (a patient censored at u counts as at risk at u)."""
    survival, curve = 1.0, {}
    for u in sorted({t for t, died in observations if died}):
        at_risk = sum(1 for t, _ in observations if t >= u)
        deaths = sum(1 for t, died in observations if t == u and died)
        survival *= 1 - deaths / at_risk
        curve[u] = survival
    return curve


SMALL = [(30, True), (60, True), (60, False), (90, True), (120, False), (150, True)]


def test_kaplan_meier_matches_the_product_limit_by_hand():
    curve = km_fit(SMALL)
    # 6 at risk at day 30 (1 death), 5 at day 60 (1 death; the one censored at 60 still at
    # risk), 3 at day 90 (1 death), 1 at day 150 (1 death).
    by_hand = {
        30: Fraction(5, 6),
        60: Fraction(5, 6) * Fraction(4, 5),
        90: Fraction(5, 6) * Fraction(4, 5) * Fraction(2, 3),
        150: Fraction(0),
    }
    assert _product_limit(SMALL) == pytest.approx({t: float(s) for t, s in by_hand.items()})
    for day, survival in by_hand.items():
        assert curve.survival_at(day) == pytest.approx(float(survival))
    assert curve.survival_at(29) == 1.0
    assert curve.survival_at(119) == pytest.approx(4 / 9)  # flat between deaths
    # The median is the first time S(t) <= 0.5: 4/9 at day 90.
    assert curve.median_days == 90
    assert (curve.n, curve.deaths, curve.censored_times) == (6, 4, (60.0, 120.0))


def test_the_median_is_the_first_time_survival_reaches_one_half():
    # S(10) = 3/4, S(20) = 3/4 x 2/3 = 1/2 exactly: the median is day 20, not "not reached".
    curve = km_fit([(10, True), (20, True), (30, False), (40, False)])
    assert curve is not None
    assert curve.survival_at(20) == pytest.approx(0.5)
    assert curve.median_days == 20


def test_median_not_reached_while_survival_stays_above_half():
    curve = km_fit([(100, True), (200, False), (300, False), (400, False)])
    assert curve.survival_at(500) == pytest.approx(3 / 4)
    assert curve.median_days is None


def test_the_curve_is_drawn_as_inline_svg():
    curve = km_fit(SMALL)
    assert curve is not None
    svg = km_svg(curve)
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert "<?xml" not in svg and "Months from the first VEN dispensation" in svg
    assert km_svg(curve) == svg  # stable output: ids do not change between renders
