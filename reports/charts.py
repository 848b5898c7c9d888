"""Bar charts of the report as inline SVG (matplotlib, Agg): the same pictures on the page
and in the PDF, with their words and numbers in the language they are drawn in (the PDF is
drawn in English). A chart of counts has whole-number ticks (no "2.5 requests"); a chart of
money writes each bar's amount as the locale writes money."""

from __future__ import annotations

import io
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display on a server

from django.template.defaultfilters import floatformat
from django.utils.formats import get_format, number_format
from django.utils.translation import gettext
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from offlabel.i18n import money_format
from reports.tables import pathway_names


def bar_chart_svg(
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    *,
    unit: str = "",
    counts: bool = False,
    currencies: Sequence[str] | None = None,
) -> str:
    """A horizontal bar chart with each value written at the end of its bar; ``counts``:
    whole-number ticks; ``currencies``: each bar is an amount of money in that currency."""
    height = 1.0 + 0.38 * max(len(labels), 1)
    with matplotlib.rc_context({"svg.hashsalt": "offlabel-report", "svg.fonttype": "none"}):
        figure = Figure(figsize=(6.4, height))
        axes = figure.add_subplot()
        positions = list(range(len(labels)))
        axes.barh(positions, values, color="#12324f")
        axes.set_yticks(positions, labels=list(labels))
        axes.invert_yaxis()
        top = max(values, default=0) or 1
        for y, value in zip(positions, values, strict=True):
            if currencies is not None and currencies[y]:
                number = money_format(value, currencies[y])
            elif value >= 100:
                number = floatformat(value, "0g")  # grouped: 1,234 or 1.234
            else:
                number = f"{value:g}".replace(".", get_format("DECIMAL_SEPARATOR"))
            text = f"{number}{unit}"
            axes.text(value + top * 0.01, y, text, va="center", fontsize=8)
        axes.set_xlim(0, top * 1.15)
        if counts:
            axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        # Tick numbers with the language's separators ("1.000", "0,5" in Italian).
        axes.xaxis.set_major_formatter(
            FuncFormatter(
                lambda x, _pos: number_format(
                    Decimal(str(x)).normalize() if x % 1 else int(x), force_grouping=True
                )
            )
        )
        axes.set_title(title, fontsize=10)
        axes.spines[["top", "right"]].set_visible(False)
        figure.tight_layout()
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def report_charts(report: Any) -> dict[str, str]:
    """The report's pictures, by name; a chart with nothing to show is left out."""
    charts: dict[str, str] = {}
    if report.by_state:
        charts["by_state"] = bar_chart_svg(
            gettext("Requests by state"),
            [r["label"] for r in report.by_state],
            [r["n"] for r in report.by_state],
            counts=True,
        )
    if report.by_pathway:
        names = pathway_names()
        charts["by_pathway"] = bar_chart_svg(
            gettext("Requests by pathway"),
            [
                names.get(r["code"]) or r["code"] or gettext("(none chosen)")
                for r in report.by_pathway
            ],
            [r["n"] for r in report.by_pathway],
            counts=True,
        )
    if report.dispensing:
        charts["dispensing"] = bar_chart_svg(
            gettext("Dispensed value by payer"),
            [
                f"{r['payer_label']} ({r['currency'] or gettext('no price')})"
                for r in report.dispensing
            ],
            [float(r["cost_total"]) for r in report.dispensing],
            currencies=[r["currency"] for r in report.dispensing],
        )
    if report.adverse_events:
        charts["adverse_events"] = bar_chart_svg(
            gettext("Adverse events by CTCAE grade"),
            [gettext("Grade %(grade)s") % {"grade": r["grade"]} for r in report.adverse_events],
            [r["events"] for r in report.adverse_events],
            counts=True,
        )
    return charts
