"""The grades CTCAE v5.0 defines for each term, as sourced data (``data/ctcae_v5_grades.json``).

Not every term has five grades: febrile neutropenia starts at grade 3, nausea stops at grade
3, bacteremia has grade 2 only. The file is parsed once into typed, validated objects; a term
of :class:`~followup.models.CtcaeTerm` without an entry (or an entry without a term) fails at
load time, so the choices and the data cannot drift apart.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.utils.translation import gettext

DATA_FILE = Path(__file__).resolve().parent / "data" / "ctcae_v5_grades.json"
ALL_GRADES = frozenset({1, 2, 3, 4, 5})


@dataclass(frozen=True)
class TermGrades:
    code: str
    term: str
    grades: tuple[int, ...]
    confirmed: bool

    def allows(self, grade: int) -> bool:
        return grade in self.grades

    @property
    def grades_text(self) -> str:
        """``3–5``, ``2``, ``1, 3–5``: the defined grades as runs."""
        runs: list[list[int]] = []
        for grade in self.grades:
            if runs and grade == runs[-1][-1] + 1:
                runs[-1].append(grade)
            else:
                runs.append([grade])
        return ", ".join(f"{r[0]}–{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)


@dataclass(frozen=True)
class CtcaeGrades:
    source: str
    version: str
    terms: dict[str, TermGrades]

    def for_term(self, code: str) -> TermGrades:
        return self.terms[code]


def _parse(raw: dict[str, object], known_codes: set[str]) -> CtcaeGrades:
    source, version, entries = raw.get("source"), raw.get("version"), raw.get("terms")
    if not isinstance(source, str) or not source or not isinstance(version, str):
        raise ValueError(f"{DATA_FILE.name}: a source and a version are required")
    if not isinstance(entries, list):
        raise ValueError(f"{DATA_FILE.name}: 'terms' is a list")
    terms: dict[str, TermGrades] = {}
    for entry in entries:
        code = entry["code"]
        grades = tuple(entry["grades"])
        if code in terms:
            raise ValueError(f"{DATA_FILE.name}: {code} twice")
        if not grades or list(grades) != sorted(set(grades)) or not set(grades) <= ALL_GRADES:
            raise ValueError(f"{DATA_FILE.name}: {code}: grades are distinct, sorted, 1 to 5")
        if not isinstance(entry["confirmed"], bool) or not entry["term"]:
            raise ValueError(f"{DATA_FILE.name}: {code}: a term and 'confirmed' are required")
        terms[code] = TermGrades(code, str(entry["term"]), grades, entry["confirmed"])
    if set(terms) != known_codes:
        raise ValueError(
            f"{DATA_FILE.name} and CtcaeTerm differ: missing {sorted(known_codes - set(terms))}, "
            f"unknown {sorted(set(terms) - known_codes)}"
        )
    return CtcaeGrades(source=source, version=version, terms=terms)


@cache
def ctcae_grades() -> CtcaeGrades:
    from followup.models import CtcaeTerm

    with DATA_FILE.open(encoding="utf-8") as handle:
        return _parse(json.load(handle), {str(c) for c in CtcaeTerm.values})


def grade_problem(term: str, grade: int | None) -> str | None:
    """Why ``grade`` is impossible for ``term`` in CTCAE v5.0 (naming the grades it defines),
    or None when it is possible. An unknown term is the choice field's business, not this."""
    data = ctcae_grades()
    if grade is None or term not in data.terms:
        return None
    entry = data.for_term(term)
    if entry.allows(grade):
        return None
    from followup.models import CtcaeTerm

    template = (
        gettext(
            "%(source)s defines '%(term)s' at grade %(grades)s only: grade %(grade)s does not "
            "exist for this term."
        )
        if len(entry.grades) == 1
        else gettext(
            "%(source)s defines '%(term)s' at grades %(grades)s only: grade %(grade)s does not "
            "exist for this term."
        )
    )
    return template % {
        "source": data.source,
        "term": CtcaeTerm(term).label,
        "grades": entry.grades_text,
        "grade": grade,
    } + ("" if entry.confirmed else " " + gettext("(Range not yet verified against the table.)"))
