"""The study database built from the review: loading, export, and traceability to the source."""

import csv
import io
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command

from audit.models import AuditEvent
from evidence.models import Design, Outcome, Study
from evidence.services import REVIEW_DATA_FILE, studies_load_review

ROOT = Path(__file__).resolve().parents[2]
REVIEW_TEXT = (ROOT / "evidence" / "data" / "venetoclax-rr-aml-review.txt").read_text()
KEY = list(csv.DictReader((ROOT / "tests" / "fixtures" / "table1_independent_key.csv").open()))


def _squash(text: str) -> str:
    """Compare text across the PDF's line breaks and hyphenation."""
    return re.sub(r"[\s\-\u2013\u2212]+", "", text).lower()


SQUASHED_REVIEW = _squash(REVIEW_TEXT)


def _export() -> list[dict]:
    out = io.StringIO()
    call_command("export_studies", stdout=out)
    return json.loads(out.getvalue())


def test_the_review_text_stored_with_the_data_is_the_seed_review():
    seed = ROOT.parent / "shared" / "seed" / "venetoclax-rr-aml-review.txt"
    if seed.exists():
        assert seed.read_text() == REVIEW_TEXT


def test_loader_creates_the_32_studies_of_table_1(db):
    report = studies_load_review()
    assert len(report.created) == 32 and not report.updated
    assert Study.objects.filter(origin=Study.Origin.REVIEW).count() == 32
    assert AuditEvent.objects.filter(action="study.loaded").count() == 32


def test_loading_twice_changes_nothing(db):
    studies_load_review()
    counts = (Study.objects.count(), Outcome.objects.count(), AuditEvent.objects.count())
    hashes = dict(Study.objects.values_list("reference", "content_hash"))
    out = io.StringIO()
    call_command("load_studies", stdout=out)
    assert "0 created, 0 updated, 32 unchanged" in out.getvalue()
    assert (Study.objects.count(), Outcome.objects.count(), AuditEvent.objects.count()) == counts
    assert dict(Study.objects.values_list("reference", "content_hash")) == hashes


def test_changed_data_file_refreshes_only_the_changed_row(db, tmp_path):
    studies_load_review()
    data = json.loads(REVIEW_DATA_FILE.read_text())
    data["studies"][0]["notes"] = "corrected in a later version"
    changed = tmp_path / "studies.json"
    changed.write_text(json.dumps(data))
    report = studies_load_review(path=changed)
    assert len(report.updated) == 1 and len(report.unchanged) == 31
    assert AuditEvent.objects.filter(action="study.reloaded").count() == 1


def test_export_matches_the_independently_keyed_table(studies):
    """Reference, author, year, design, N and ORR against a second, independent keying."""
    exported = {row["reference"]: row for row in _export()}
    assert len(KEY) == 32 and set(exported) == {int(k["reference"]) for k in KEY}
    for key in KEY:
        row = exported[int(key["reference"])]
        where = f"[{key['reference']}] {key['first_author']}"
        assert row["first_author"] == key["first_author"], where
        assert row["year"] == (int(key["year"]) if key["year"] else None), where
        assert row["design"] == key["design"], where
        assert row["n_patients"] == int(key["n_patients"]), where
        expected_orr = float(key["orr_percent"]) if key["orr_percent"] else None
        assert row["orr_percent"] == expected_orr, where


def test_export_fields_have_the_promised_types(studies):
    rows = _export()
    assert len(rows) == 32
    for row in rows:
        assert isinstance(row["reference"], int)
        assert isinstance(row["first_author"], str) and row["first_author"]
        assert row["year"] is None or isinstance(row["year"], int)
        assert row["design"] in Design.values
        assert isinstance(row["n_patients"], int) and row["n_patients"] > 0
        assert row["n_rr_aml"] is None or isinstance(row["n_rr_aml"], int)
        assert row["orr_percent"] is None or isinstance(row["orr_percent"], int | float)
        for name in ("regimens", "settings", "outcomes", "mutation_findings", "safety"):
            assert isinstance(row[name], list)
        assert row["source_passage"]


def test_the_first_and_last_rows_of_table_1(studies):
    konopleva = Study.objects.get(reference=46)
    assert (konopleva.first_author, konopleva.year, konopleva.design) == (
        "Konopleva",
        2016,
        "phase_2",
    )
    assert (konopleva.n_patients, konopleva.n_rr_aml, konopleva.orr_percent) == (
        32,
        30,
        Decimal("19"),
    )
    assert Study.objects.filter(first_author="Andreani", year=2019).exists()


def test_a_study_without_a_year_in_the_review_stores_null_and_says_so(studies):
    zappasodi = Study.objects.get(first_author="Zappasodi")
    assert zappasodi.year is None
    assert zappasodi.year_note


def test_every_figure_quotes_the_review_verbatim(studies):
    """Each number shown to a clinician traces to a passage that is really in the review."""
    missing = []
    for study in Study.objects.prefetch_related("outcomes", "mutation_findings", "safety_findings"):
        assert _squash(study.source_passage)[:60] in SQUASHED_REVIEW, study
        wordings = [
            *(o.wording for o in study.outcomes.all()),
            *(m.wording for m in study.mutation_findings.all()),
            *(s.wording for s in study.safety_findings.all()),
        ]
        missing += [f"{study}: {w!r}" for w in wordings if _squash(w) not in SQUASHED_REVIEW]
    assert not missing, "\n".join(missing)


_UNITS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def _spelled(number: int) -> set[str]:
    """How the review writes small whole numbers in words ("Twenty-three", "None of")."""
    if number < 20:
        words = {_UNITS[number]}
    elif number < 100:
        tens, unit = divmod(number, 10)
        words = {_TENS[tens - 2] + (f"-{_UNITS[unit]}" if unit else "")}
    else:
        words = set()
    if number == 0:
        words |= {"none", "no "}
    return words


def test_every_outcome_value_appears_in_its_own_wording(studies):
    """A stored number must be the number the quoted words state (no computed figures)."""
    wrong = []
    for outcome in Outcome.objects.exclude(value=None).select_related("study"):
        value = outcome.value
        assert value is not None
        number = format(value.normalize(), "f")
        wording = outcome.wording.replace(",", ".").lower()
        as_words = _spelled(int(value)) if value == int(value) else set()
        if number not in wording and not any(w in wording for w in as_words):
            wrong.append(f"{outcome.study}: {number} not in {outcome.wording!r}")
    assert not wrong, "\n".join(wrong)


def test_text_only_facts_are_attached_to_their_studies(studies):
    dinardo_2020 = Study.objects.get(reference=63)
    assert dinardo_2020.outcomes.filter(source="text").exists()
    stahl = Study.objects.get(first_author="Stahl")
    assert stahl.outcomes.filter(source="text").exists() or stahl.text_passages


@pytest.mark.parametrize("field", ["first_author", "design", "source_passage", "citation"])
def test_no_study_lacks_a_core_field(studies, field):
    assert not Study.objects.filter(**{field: ""}).exists()
