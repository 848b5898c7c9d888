"""Load the regulatory rules data file. Idempotent; a changed pathway gets a new version.

The file carries its translations ("i18n" beside each English text, see ``offlabel.i18n``);
they are checked here, when the file is loaded, never when a page shows them: every text a
reader sees has an Italian version that keeps its numbers and says "NON CONFERMATO" where the
English says UNCONFIRMED. A translation is not a rule: a file whose rules are unchanged and
whose translations changed updates the loaded version in place instead of making a new one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from audit.actions import AuditAction
from audit.services import audit_record
from offlabel.i18n import translations_check
from offlabel.sourced_data import SourcedFile, SourcedVersions, content_hash, untranslated
from regulatory.models import (
    ChecklistItem,
    DeadlineRule,
    Jurisdiction,
    Pathway,
    PathwayVersion,
)
from regulatory.services import national_rules_change_notify

RULES_FILE = Path(settings.BASE_DIR) / "regulatory" / "data" / "rules.json"
VERSION_FIELDS = (
    "name",
    "summary",
    "legal_source",
    "confirmed",
    "unconfirmed_note",
    "reimbursement",
    "authorising_body",
    "needs_outside_authorisation",
    "criteria",
    "checklist",
)
# The texts a reader sees, each with a translation in the file ("wording" is a verbatim quote
# and stays as written).
PATHWAY_TEXTS = ("name", "summary", "legal_source", "unconfirmed_note", "reimbursement")
ITEM_TEXTS = ("text", "source", "note")
RULE_TEXTS = ("because", "unconfirmed")
DEADLINE_TEXTS = ("text", "source", "note")


@dataclass
class RulesReport:
    created: list[str] = field(default_factory=list)
    new_versions: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    translated: list[str] = field(default_factory=list)  # unchanged rules, new translations
    deadlines: int = 0

    def __str__(self) -> str:
        return (
            f"pathways: {len(self.created)} created, {len(self.new_versions)} new versions, "
            f"{len(self.unchanged)} unchanged ({len(self.translated)} with new translations); "
            f"{self.deadlines} deadline rules"
        )


def _hash(record: dict[str, Any]) -> str:
    """The rules of a pathway, without their translations: a new translation is no new rule."""
    return content_hash(untranslated({k: record.get(k) for k in (*VERSION_FIELDS, "verified_on")}))


def _rule_translations_check(expr: Any, *, where: str) -> None:
    if isinstance(expr, dict):
        if any(isinstance(expr.get(k), str) for k in RULE_TEXTS):
            translations_check(expr, RULE_TEXTS, where=where)
        for key, value in expr.items():
            if key != "i18n":
                _rule_translations_check(value, where=where)
    elif isinstance(expr, list):
        for value in expr:
            _rule_translations_check(value, where=where)


def rules_translations_check(data: dict[str, Any]) -> None:
    """Every text of the file that a reader sees has a faithful translation
    (``offlabel.i18n.translations_check``); raises ``TranslationsInvalid`` naming the item."""
    for j in data["jurisdictions"]:
        translations_check(j, ("name",), where=f"jurisdictions.{j['code']}")
    for record in data["pathways"]:
        where = f"pathways.{record['code']}"
        translations_check(record, PATHWAY_TEXTS, where=where)
        for part in ("criteria", "checklist"):
            for item in record.get(part) or []:
                item_where = f"{where}.{part}.{item.get('code')}"
                translations_check(item, ITEM_TEXTS, where=item_where)
                _rule_translations_check(item.get("rule"), where=f"{item_where}.rule")
    for d in data.get("deadlines", []):
        translations_check(d, DEADLINE_TEXTS, where=f"deadlines.{d['code']}")


def _translations_refresh(version: PathwayVersion, record: dict[str, Any]) -> bool:
    """Give a loaded version, and the checklists built from it, the file's translations of the
    same English texts; True when anything changed."""
    translations = record.get("i18n") or {}
    if (
        version.translations == translations
        and version.criteria == record["criteria"]
        and version.checklist == record["checklist"]
    ):
        return False
    version.translations = translations
    version.criteria = record["criteria"]
    version.checklist = record["checklist"]
    version.save(update_fields=["translations", "criteria", "checklist"])
    by_code = {item["code"]: item for item in record["checklist"]}
    for item in ChecklistItem.objects.filter(pathway_version=version, local_item=None):
        template = by_code.get(item.code)
        if template is not None and template["text"] == item.text:
            item.translations = template.get("i18n") or {}
            item.save(update_fields=["translations"])
    return True


@transaction.atomic
def rules_load(*, path: Path = RULES_FILE) -> RulesReport:
    source = SourcedFile.read(path)
    data = source.data
    rules_translations_check(data)  # a file with a missing translation is refused here
    report = RulesReport()
    for j in data["jurisdictions"]:
        Jurisdiction.objects.update_or_create(
            code=j["code"], defaults={"name": j["name"], "translations": j.get("i18n") or {}}
        )
    for record in data["pathways"]:
        jurisdiction = Jurisdiction.objects.get(code=record["jurisdiction"])
        pathway, created = Pathway.objects.update_or_create(
            code=record["code"], defaults={"jurisdiction": jurisdiction, "order": record["order"]}
        )
        digest = _hash(record)
        versions = SourcedVersions(pathway.versions)
        # The last version loaded from the file: a steward's edit since (it has no hash)
        # stays current while the file's rules are unchanged.
        last_loaded = versions.last_loaded()
        if last_loaded is not None and last_loaded.data_hash == digest:
            report.unchanged.append(pathway.code)
            if _translations_refresh(last_loaded, record):
                report.translated.append(pathway.code)
                audit_record(
                    actor=None,
                    action=AuditAction.PATHWAY_TRANSLATIONS_LOADED,
                    target=last_loaded,
                    summary=f"{last_loaded}: translations loaded from the rules data file "
                    f"v{source.version} (the rules are unchanged)",
                )
            continue
        version, previous = versions.add_current(
            verified_on=date.fromisoformat(record.get("verified_on") or data["verified_on"]),
            data_hash=digest,
            translations=record.get("i18n") or {},
            change_note=f"Loaded from the rules data file v{source.version}",
            **{
                k: record[k]
                if record.get(k) is not None
                else (
                    "" if k in ("unconfirmed_note", "summary", "reimbursement") else record.get(k)
                )
                for k in VERSION_FIELDS
            },
        )
        (report.created if created else report.new_versions).append(pathway.code)
        audit_record(
            actor=None,
            action=AuditAction.PATHWAY_VERSION_LOADED,
            target=version,
            summary=f"{version} loaded from the rules data file v{source.version}",
        )
        if previous is not None:
            # A changed national rule: each hospital it applies to sees it in its audit trail.
            national_rules_change_notify(
                actor=None,
                version=version,
                summary=f"National rules for {version.name} changed to v{version.version} "
                f"from the rules data file v{source.version}",
                before={"version": previous},
                after={"pathway": pathway.code, "version": version.version},
            )
    for d in data.get("deadlines", []):
        DeadlineRule.objects.update_or_create(
            code=d["code"],
            defaults={
                k: d[k]
                for k in ("body", "application_type", "anchor", "offset_days", "kind", "text")
            }
            | {
                "translations": d.get("i18n") or {},
                "source": d.get("source", ""),
                "confirmed": bool(d.get("confirmed")),
                "day_of_next_month": d.get("day_of_next_month"),
                "dataset_version": source.version,
            },
        )
        report.deadlines += 1
    return report
