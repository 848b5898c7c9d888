"""What a benchmark reports, how it is printed, and the README table between the markers."""

from __future__ import annotations

import statistics
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

START_MARKER = "<!-- bench:start -->"
END_MARKER = "<!-- bench:end -->"
# The --scale run's own section, right after the table of the normal run.
SCALE_START_MARKER = "<!-- bench-scale:start -->"
SCALE_END_MARKER = "<!-- bench-scale:end -->"


@dataclass(frozen=True)
class Row:
    """One line of the table: a figure against its baseline from the same run."""

    what: str
    baseline: str
    measured: str
    ratio: str
    target: str = ""
    met: bool | None = None  # None: no target, the figure is informative

    @property
    def verdict(self) -> str:
        return {None: "", True: "met", False: "**not met**"}[self.met]


def seconds(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def paired_medians(
    first: Callable[[], object], second: Callable[[], object], *, runs: int, warmup: int
) -> tuple[float, float]:
    """Median seconds of each, alternating which goes first so drift hits both alike."""
    for _ in range(warmup):
        first()
        second()
    a: list[float] = []
    b: list[float] = []
    for i in range(runs):
        if i % 2:
            b.append(seconds(second))
            a.append(seconds(first))
        else:
            a.append(seconds(first))
            b.append(seconds(second))
    return statistics.median(a), statistics.median(b)


def ms(value: float) -> str:
    return f"{value * 1000:.1f} ms" if value < 0.1 else f"{value * 1000:.0f} ms"


def ratio(value: float) -> str:
    return f"{value:.2f}x"


def table(rows: list[Row]) -> str:
    lines = [
        "| benchmark | baseline (same run) | measured | ratio | target |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        target = f"{row.target} ({row.verdict})" if row.target and row.verdict else row.target
        lines.append(
            f"| {row.what} | {row.baseline} | {row.measured} | {row.ratio} | {target or '—'} |"
        )
    return "\n".join(lines)


def _wrap(paragraph: str) -> str:
    """Prose wrapped like the rest of the README (a list item's lines indented under it)."""
    indent = "  " if paragraph.startswith("- ") else ""
    return textwrap.fill(
        paragraph,
        width=95,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )


def _section(
    markers: tuple[str, str],
    title: str,
    intro: str,
    *,
    rows: list[Row],
    header: str,
    notes: list[str],
) -> str:
    """A README section between its markers: title, intro, the run's header, table, notes."""
    start, end = markers
    body = [title, "", _wrap(intro), "", _wrap(header), "", table(rows), ""]
    return "\n".join([start, *body, *[_wrap(note) for note in notes], end])


def readme_section(*, rows: list[Row], header: str, notes: list[str]) -> str:
    intro = (
        "`make bench` (or `python3 scripts/dev.py bench`) measures each figure against a "
        "baseline taken in the same run and rewrites this section; `--quick` runs on less "
        "data and leaves it alone, `--only pages,report,…` runs a subset. `--scale` "
        "(PostgreSQL) is a run of its own, with its section below."
    )
    return _section(
        (START_MARKER, END_MARKER), "### Benchmarks", intro, rows=rows, header=header, notes=notes
    )


def readme_scale_section(*, rows: list[Row], header: str, notes: list[str]) -> str:
    intro = (
        "`make bench BENCH_ARGS=--scale` (PostgreSQL only) copies the database with one "
        "hospital at 10,000 requests, bulk-loads a region of 1,000,000 requests and 10,000,000 "
        "audit events around that hospital with `COPY`, measures its pages and report on both "
        "databases in alternating rounds and rewrites this section."
    )
    return _section(
        (SCALE_START_MARKER, SCALE_END_MARKER),
        "#### At a million requests (`--scale`)",
        intro,
        rows=rows,
        header=header,
        notes=notes,
    )


def readme_rewrite(
    readme: Path, section: str, *, start: str = START_MARKER, end: str = END_MARKER
) -> bool:
    """Replace the text between the markers (markers included); False if they are missing."""
    text = readme.read_text()
    first, last = text.find(start), text.find(end)
    if first < 0 or last < first:
        return False
    readme.write_text(text[:first] + section + text[last + len(end) :])
    return True
