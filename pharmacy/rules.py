"""The label rules data file: load it as a new version when it changes, read the current one."""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from audit.services import audit_record
from pharmacy.models import LabelRuleSet

LABEL_RULES_FILE = Path(settings.BASE_DIR) / "pharmacy" / "data" / "label_rules.json"


@dataclass(frozen=True)
class LoadReport:
    version: int
    created: bool

    def __str__(self) -> str:
        state = "loaded as a new version" if self.created else "unchanged"
        return f"label rules v{self.version}: {state}"


def _digest(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@transaction.atomic
def label_rules_load(*, path: Path = LABEL_RULES_FILE) -> LoadReport:
    """Idempotent: an unchanged file adds nothing; a changed one becomes the current version."""
    data = json.loads(path.read_text(encoding="utf-8"))
    digest = _digest(data)
    existing = LabelRuleSet.objects.filter(data_hash=digest).first()
    if existing is not None:
        if not existing.is_current:
            LabelRuleSet.objects.filter(is_current=True).update(is_current=False)
            LabelRuleSet.objects.filter(pk=existing.pk).update(is_current=True)
        return LoadReport(existing.version, created=False)
    latest = LabelRuleSet.objects.order_by("-version").first()
    LabelRuleSet.objects.filter(is_current=True).update(is_current=False)
    rule_set = LabelRuleSet.objects.create(
        version=(latest.version + 1) if latest else 1,
        dataset_version=data["version"],
        verified_on=date.fromisoformat(data["verified_on"]),
        data=data,
        data_hash=digest,
        is_current=True,
        change_note=f"Loaded from the label rules data file v{data['version']}",
    )
    audit_record(
        actor=None,
        action="label_rules.loaded",
        target=rule_set,
        summary=f"{rule_set} loaded from the data file v{data['version']}",
    )
    return LoadReport(rule_set.version, created=True)


def label_rules_current() -> LabelRuleSet:
    """The current version; the shipped data file is loaded on first use of a fresh database."""
    current = LabelRuleSet.objects.filter(is_current=True).first()
    if current is not None:
        return current
    with contextlib.suppress(IntegrityError):  # another process loaded it first
        label_rules_load()
    return LabelRuleSet.objects.get(is_current=True)


def tablet_strengths(rules: LabelRuleSet) -> tuple[Decimal, ...]:
    return tuple(Decimal(s) for s in sorted(rules.data["tablets"]["strengths_mg"], reverse=True))


def source_name(rules: LabelRuleSet, key: str) -> str:
    return str(rules.data["sources"].get(key, key))
