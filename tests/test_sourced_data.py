"""The loader base of the versioned, sourced data files (``offlabel.sourced_data``): the hash of
a file's content, its version, an idempotent reload, a changed file as the new current version.

The stored rows are label rule sets (``LabelRuleSet.objects``), the smallest model with
``version``, ``is_current`` and ``data_hash``; the loader below is the base used as the three
real loaders use it (the label rules, the pathways, the review's studies have their own tests).
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import strategies as st

from offlabel.sourced_data import SourcedFile, SourcedVersions, content_hash, untranslated
from pharmacy.models import LabelRuleSet

# --- The hash -------------------------------------------------------------------------------

_keys = st.text(min_size=1, max_size=8).filter(lambda k: k != "i18n")
_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=12)
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=12,
)
_translations = st.dictionaries(st.sampled_from(["it", "fr"]), st.text(max_size=8), max_size=2)


def _reordered(value: Any) -> Any:
    """The same content with every object's keys in reverse order."""
    if isinstance(value, dict):
        return {k: _reordered(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reordered(v) for v in value]
    return value


def _translated(value: Any, translations: dict[str, str]) -> Any:
    """The same content with an "i18n" beside every object's own keys."""
    if isinstance(value, dict):
        return {k: _translated(v, translations) for k, v in value.items()} | {"i18n": translations}
    if isinstance(value, list):
        return [_translated(v, translations) for v in value]
    return value


@given(_json)
def test_the_hash_does_not_depend_on_the_order_of_keys(content: Any) -> None:
    assert content_hash(_reordered(content)) == content_hash(content)


@given(_json)
def test_the_hash_is_the_sha256_of_the_sorted_json_with_its_text_as_written(content: Any) -> None:
    """The stored hashes (studies' ``content_hash``, versions' ``data_hash``) were computed so;
    a different canonical form would make every row look changed on the next load."""
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False)
    assert content_hash(content) == hashlib.sha256(canonical.encode()).hexdigest()


def test_a_known_content_keeps_its_known_hash() -> None:
    # Non-ASCII text is hashed as written ("è", not "\u00e8").
    assert (
        content_hash({"version": 2, "record": {"name": "Venetoclax è", "n": 55}})
        == hashlib.sha256(
            '{"record": {"n": 55, "name": "Venetoclax è"}, "version": 2}'.encode()
        ).hexdigest()
    )


@given(_json, _translations)
def test_a_new_translation_is_no_new_content(content: Any, translations: dict[str, str]) -> None:
    assert untranslated(_translated(content, translations)) == untranslated(content)
    assert content_hash(untranslated(_translated(content, translations))) == content_hash(
        untranslated(content)
    )


@given(st.dictionaries(_keys, _json, min_size=1, max_size=4), st.data())
def test_a_changed_value_changes_the_hash(content: dict[str, Any], data: Any) -> None:
    key = data.draw(st.sampled_from(sorted(content)))
    changed = content | {key: [content[key], "changed"]}
    assert content_hash(changed) != content_hash(content)


# --- A file, its version, the stored versions -------------------------------------------------


def _write(path: Path, content: dict[str, Any]) -> Path:
    path.write_text(json.dumps(content, ensure_ascii=False), encoding="utf-8")
    return path


def _file(version: int = 1, dose: int = 100, title: str = "Label") -> dict[str, Any]:
    return {
        "version": version,
        "sources": {"label": title},
        "i18n": {"it": {"sources": {"label": f"{title} (it)"}}},
        "dose_mg": dose,
    }


def _load(path: Path) -> tuple[LabelRuleSet, bool]:
    """A loader written on the base, as ``pharmacy.rules.label_rules_load`` is."""
    source = SourcedFile.read(path)
    digest = content_hash(untranslated(source.data))
    versions = SourcedVersions(LabelRuleSet.objects)
    stored = versions.with_hash(digest)
    if stored is not None:
        if not stored.is_current:
            versions.make_current(stored)
        return stored, False
    row, _previous = versions.add_current(
        dataset_version=source.version,
        verified_on=date(2026, 1, 15),
        data=source.data,
        data_hash=digest,
    )
    return row, True


def test_the_file_says_its_version(tmp_path: Path) -> None:
    source = SourcedFile.read(_write(tmp_path / "rules.json", _file(version=3)))
    assert source.version == 3
    assert source.data["dose_mg"] == 100


def test_loading_the_same_file_again_writes_nothing(db: Any, tmp_path: Path) -> None:
    path = _write(tmp_path / "rules.json", _file())
    first, created = _load(path)
    assert created and first.version == 1 and first.is_current
    with CaptureQueriesContext(connection) as queries:
        again, created_again = _load(path)
    assert not created_again and again.pk == first.pk
    assert all(q["sql"].lstrip().upper().startswith("SELECT") for q in queries.captured_queries)
    assert LabelRuleSet.objects.count() == 1


def test_a_new_translation_alone_is_the_same_version(db: Any, tmp_path: Path) -> None:
    first, _ = _load(_write(tmp_path / "v1.json", _file()))
    translated = _file()
    translated["i18n"]["fr"] = {"sources": {"label": "Étiquette"}}
    same, created = _load(_write(tmp_path / "v1-fr.json", translated))
    assert not created and same.pk == first.pk


def test_a_changed_file_becomes_the_only_current_version(db: Any, tmp_path: Path) -> None:
    first, _ = _load(_write(tmp_path / "v1.json", _file(version=1)))
    second, created = _load(_write(tmp_path / "v2.json", _file(version=2, dose=70)))
    assert created and second.version == 2 and second.dataset_version == 2
    assert list(LabelRuleSet.objects.filter(is_current=True)) == [second]
    first.refresh_from_db()
    assert first.is_current is False


def test_a_changed_file_that_kept_its_version_number_is_a_new_version(
    db: Any, tmp_path: Path
) -> None:
    """The content decides, not the number the file gives itself: no loader refuses it."""
    first, _ = _load(_write(tmp_path / "v1.json", _file(version=1)))
    changed, created = _load(_write(tmp_path / "v1-changed.json", _file(version=1, dose=70)))
    assert created and changed.version == 2 and changed.dataset_version == 1
    assert changed.data_hash != first.data_hash
    assert LabelRuleSet.objects.get(is_current=True) == changed


def test_a_file_back_to_an_earlier_content_makes_that_version_current_again(
    db: Any, tmp_path: Path
) -> None:
    first, _ = _load(_write(tmp_path / "v1.json", _file(version=1)))
    _load(_write(tmp_path / "v2.json", _file(version=2, dose=70)))
    back, created = _load(tmp_path / "v1.json")
    assert not created and back.pk == first.pk
    assert LabelRuleSet.objects.get(is_current=True).pk == first.pk
    assert LabelRuleSet.objects.count() == 2


def test_numbers_follow_the_latest_version_and_the_last_loaded_one_has_a_hash(db: Any) -> None:
    versions = SourcedVersions(LabelRuleSet.objects)
    assert versions.last_loaded() is None
    fields = {"dataset_version": 1, "verified_on": date(2026, 1, 15), "data": {}}
    loaded, previous = versions.add_current(data_hash="a" * 64, **fields)
    assert (loaded.version, previous) == (1, None)
    by_hand, previous = versions.add_current(data_hash="", **fields)  # edited by hand
    assert (by_hand.version, previous) == (2, 1)
    assert versions.last_loaded() == loaded
    assert versions.with_hash("a" * 64) == loaded
    assert versions.with_hash("b" * 64) is None
    assert LabelRuleSet.objects.get(is_current=True) == by_hand


@pytest.mark.parametrize("shipped", ["evidence", "pharmacy", "regulatory"])
def test_the_shipped_files_say_their_version(shipped: str) -> None:
    names = {
        "evidence": "studies_review.json",
        "pharmacy": "label_rules.json",
        "regulatory": "rules.json",
    }
    path = Path(__file__).resolve().parent.parent / shipped / "data" / names[shipped]
    source = SourcedFile.read(path)
    assert isinstance(source.version, int) and source.version >= 1
