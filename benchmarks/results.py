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


def readme_section(*, rows: list[Row], header: str, notes: list[str]) -> str:
    intro = (
        "`make bench` (or `python3 scripts/dev.py bench`) measures each figure against a "
        "baseline taken in the same run and rewrites this section; `--quick` runs on less "
        "data and leaves it alone, `--only pages,report,…` runs a subset."
    )
    return "\n".join(
        [
            START_MARKER,
            "### Benchmarks",
            "",
            _wrap(intro),
            "",
            _wrap(header),
            "",
            table(rows),
            "",
            *[_wrap(note) for note in notes],
            END_MARKER,
        ]
    )


def readme_rewrite(readme: Path, section: str) -> bool:
    """Replace the text between the markers (markers included); False if they are missing."""
    text = readme.read_text()
    start, end = text.find(START_MARKER), text.find(END_MARKER)
    if start < 0 or end < start:
        return False
    readme.write_text(text[:start] + section + text[end + len(END_MARKER) :])
    return True
