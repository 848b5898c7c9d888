"""The registry's statistics, from well-kept libraries rather than hand-rolled estimators.

Proportions carry Clopper–Pearson exact 95% intervals (``scipy.stats.binomtest``); overall
survival is the Kaplan–Meier product-limit estimate (``scipy.stats.ecdf`` on censored data),
drawn with matplotlib as an SVG picture that the page inlines.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # no display on a server; set before anything imports pyplot

from django.utils import formats
from django.utils.translation import gettext
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter
from scipy import stats

CONFIDENCE = 0.95
DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class Proportion:
    """k of n, with its exact confidence interval (None when n is 0)."""

    k: int
    n: int
    low: float | None
    high: float | None

    @property
    def value(self) -> float | None:
        return self.k / self.n if self.n else None

    @property
    def percent(self) -> float | None:
        return None if self.value is None else 100 * self.value

    @property
    def low_percent(self) -> float | None:
        return None if self.low is None else 100 * self.low

    @property
    def high_percent(self) -> float | None:
        return None if self.high is None else 100 * self.high


def proportion_ci(k: int, n: int, confidence: float = CONFIDENCE) -> Proportion:
    """Clopper–Pearson exact interval: conservative, right for the small numbers of one
    hospital (a Wald interval would run below 0% or above 100% here)."""
    if n == 0:
        return Proportion(k, n, None, None)
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=confidence, method="exact")
    return Proportion(k, n, float(ci.low), float(ci.high))


@dataclass(frozen=True)
class SurvivalCurve:
    """The Kaplan–Meier estimate: S(t) after each time at which someone died or was censored."""

    n: int
    deaths: int  # events: deaths for survival, ends of treatment for time on treatment
    times: tuple[float, ...]
    survival: tuple[float, ...]
    censored_times: tuple[float, ...]
    median_days: float | None  # None: the curve never falls to 50% ("not reached")

    @property
    def median_months(self) -> float | None:
        return None if self.median_days is None else self.median_days / DAYS_PER_MONTH

    def survival_at(self, days: float) -> float:
        """S(days), read from the fitted step function (1 before the first time)."""
        value = 1.0
        for time, probability in zip(self.times, self.survival, strict=True):
            if time > days:
                break
            value = probability
        return value


def km_fit(observations: Sequence[tuple[float, bool]]) -> SurvivalCurve | None:
    """``observations``: (days from treatment start, died) per patient; a patient alive is
    censored at that time. None without observations."""
    if not observations:
        return None
    deaths = [days for days, died in observations if died]
    censored = [days for days, died in observations if not died]
    result = stats.ecdf(stats.CensoredData(uncensored=deaths, right=censored))
    times = tuple(float(t) for t in result.sf.quantiles)
    survival = tuple(float(p) for p in result.sf.probabilities)
    # The median is the first time the survival function is at or below one half (the usual
    # convention, as in R's survival package); it is not reached if the curve stays above.
    median = next((t for t, p in zip(times, survival, strict=True) if p <= 0.5), None)
    return SurvivalCurve(
        n=len(observations),
        deaths=len(deaths),
        times=times,
        survival=survival,
        censored_times=tuple(sorted(float(t) for t in censored)),
        median_days=median,
    )


def km_svg(curve: SurvivalCurve, *, title: str | None = None, ylabel: str | None = None) -> str:
    """The curve as an inline ``<svg>`` element (text kept as text, ids stable between runs),
    labelled and numbered in the interface language."""
    title = title or gettext("Overall survival")
    months = [0.0, *(t / DAYS_PER_MONTH for t in curve.times)]
    survival = [1.0, *curve.survival]
    with matplotlib.rc_context({"svg.hashsalt": "offlabel-km", "svg.fonttype": "none"}):
        figure = Figure(figsize=(6.4, 3.6))
        axes = figure.add_subplot()
        axes.step(months, survival, where="post", color="#12324f", linewidth=1.6)
        censor_x = [t / DAYS_PER_MONTH for t in curve.censored_times]
        censor_y = [curve.survival_at(t) for t in curve.censored_times]
        axes.plot(censor_x, censor_y, linestyle="none", marker="|", markersize=9, color="#12324f")
        axes.axhline(0.5, color="#999999", linewidth=0.8, linestyle="--")
        if curve.median_months is not None:
            axes.axvline(curve.median_months, color="#b60000", linewidth=0.8, linestyle=":")
        axes.set_ylim(-0.02, 1.02)
        axes.set_xlim(left=0)
        axes.set_xlabel(gettext("Months from the first VEN dispensation"))
        axes.set_ylabel(ylabel or gettext("Probability of survival"))
        axes.set_title(
            (
                gettext("%(title)s (n = %(n)s, deaths = %(deaths)s; | censored)")
                if ylabel is None
                else gettext("%(title)s (n = %(n)s, events = %(deaths)s; | censored)")
            )
            % {"title": title, "n": curve.n, "deaths": curve.deaths}
        )
        # Tick labels with the decimal separator of the interface language (0,5 in Italian).
        local = FuncFormatter(lambda value, _position: formats.number_format(f"{value:g}"))
        axes.xaxis.set_major_formatter(local)
        axes.yaxis.set_major_formatter(local)
        axes.grid(alpha=0.3)
        figure.tight_layout()
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # drop the XML declaration and DOCTYPE to inline it
