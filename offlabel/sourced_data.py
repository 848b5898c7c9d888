"""Versioned, sourced data files: read one, hash its content, store a new version only when the
content changed, and make that version the current one.

The review's studies (``evidence.services``), the label rules (``pharmacy.rules``) and the
pathways (``regulatory.loader``) are data with a source and a version, shipped as JSON files.
Each loader keeps what is its own: which part of the file is hashed (the rules without their
translations: a new translation is no new rule), what a stored version holds, and the audit
event it writes (this module is the platform layer: it imports no app, so the audit write
stays with each loader, in the loader's transaction). What they share is here:

- ``content_hash``: the SHA-256 of the content's canonical JSON (sorted keys, text as written),
  so the same content hashes the same whatever the order of its keys;
- ``SourcedFile``: the file as read, and the version it says it is;
- ``SourcedVersions``: the stored versions of one data set, each with the hash of the content
  it was loaded from. Loading the same file again finds that hash and writes nothing; a changed
  file becomes a new version, numbered after the latest, and the only current one.

The hash, not the number a file gives itself, decides whether a file is new: a changed file
that kept its version number is loaded as a new version like any other change (no loader
refuses it).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from django.db.models import Manager, Model

M = TypeVar("M", bound=Model)


def untranslated(value: Any) -> Any:
    """``value`` without its translations (every ``"i18n"`` key, at any depth): what the data
    says, in English."""
    if isinstance(value, dict):
        return {k: untranslated(v) for k, v in value.items() if k != "i18n"}
    if isinstance(value, list):
        return [untranslated(v) for v in value]
    return value


def content_hash(content: Any) -> str:
    """The SHA-256 (hex) of ``content`` as canonical JSON: keys sorted, text kept as written
    (not escaped to ASCII). Stored beside what was loaded, it is how a reload knows it has
    nothing to do."""
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class SourcedFile:
    """A data file as read: its parsed content and the version it says it is."""

    data: dict[str, Any]

    @classmethod
    def read(cls, path: Path) -> SourcedFile:
        return cls(json.loads(path.read_text(encoding="utf-8")))

    @property
    def version(self) -> int:
        """The version the file gives itself ("version"), as the stored rows record it."""
        return int(self.data["version"])


class SourcedVersions(Generic[M]):
    """The stored versions of one data set, given by a manager of rows with ``version`` (1, 2,
    … within the set), ``is_current`` (at most one) and ``data_hash`` (empty on a version that
    was not loaded from a file, e.g. one edited by hand): ``LabelRuleSet.objects`` (every set
    of label rules), ``pathway.versions`` (one pathway's)."""

    def __init__(self, versions: Manager[M]) -> None:
        self.versions = versions

    def with_hash(self, digest: str) -> M | None:
        """The stored version loaded from this content, whichever version it is."""
        return self.versions.filter(data_hash=digest).first()

    def last_loaded(self) -> M | None:
        """The newest version loaded from a file (one edited by hand carries no hash)."""
        return self.versions.exclude(data_hash="").order_by("-version").first()

    def add_current(self, **fields: Any) -> tuple[M, int | None]:
        """Store a new version, numbered after the latest, as the only current one; returns it
        and the number of the latest version before it (None for the first). The old current
        version is marked not current before the new row is written, so a "one current
        version" unique constraint holds at every step."""
        latest: int | None = (
            self.versions.order_by("-version").values_list("version", flat=True).first()
        )
        self.versions.filter(is_current=True).update(is_current=False)
        row = self.versions.create(
            version=(latest + 1) if latest is not None else 1, is_current=True, **fields
        )
        return row, latest

    def make_current(self, row: M) -> None:
        """Make a stored version the current one again (the file went back to its content)."""
        self.versions.filter(is_current=True).update(is_current=False)
        self.versions.filter(pk=row.pk).update(is_current=True)
