"""Load the regulatory rules data file. Idempotent; a changed pathway gets a new version."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from audit.services import audit_record
from regulatory.models import DeadlineRule, Jurisdiction, Pathway, PathwayVersion

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


@dataclass
class RulesReport:
    created: list[str] = field(default_factory=list)
    new_versions: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deadlines: int = 0

    def __str__(self) -> str:
        return (
            f"pathways: {len(self.created)} created, {len(self.new_versions)} new versions, "
            f"{len(self.unchanged)} unchanged; {self.deadlines} deadline rules"
        )


def _hash(record: dict[str, Any]) -> str:
    content = {k: record.get(k) for k in (*VERSION_FIELDS, "verified_on")}
    return hashlib.sha256(
        json.dumps(content, sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()


@transaction.atomic
def rules_load(*, path: Path = RULES_FILE) -> RulesReport:
    from regulatory.services import national_rules_change_notify

    data = json.loads(path.read_text(encoding="utf-8"))
    report = RulesReport()
    for j in data["jurisdictions"]:
        Jurisdiction.objects.update_or_create(code=j["code"], defaults={"name": j["name"]})
    for record in data["pathways"]:
        jurisdiction = Jurisdiction.objects.get(code=record["jurisdiction"])
        pathway, created = Pathway.objects.update_or_create(
            code=record["code"], defaults={"jurisdiction": jurisdiction, "order": record["order"]}
        )
        digest = _hash(record)
        last_loaded = pathway.versions.exclude(data_hash="").order_by("-version").first()
        if last_loaded is not None and last_loaded.data_hash == digest:
            report.unchanged.append(pathway.code)
            continue
        latest = pathway.versions.order_by("-version").first()
        pathway.versions.filter(is_current=True).update(is_current=False)
        version = PathwayVersion.objects.create(
            pathway=pathway,
            version=(latest.version + 1) if latest else 1,
            is_current=True,
            verified_on=date.fromisoformat(record.get("verified_on") or data["verified_on"]),
            data_hash=digest,
            change_note=f"Loaded from the rules data file v{data['version']}",
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
            action="pathway.version_loaded",
            target=version,
            summary=f"{version} loaded from the rules data file v{data['version']}",
        )
        if latest is not None:
            # A changed national rule: each hospital it applies to sees it in its audit trail.
            national_rules_change_notify(
                actor=None,
                version=version,
                summary=f"National rules for {version.name} changed to v{version.version} "
                f"from the rules data file v{data['version']}",
                before={"version": latest.version},
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
                "source": d.get("source", ""),
                "confirmed": bool(d.get("confirmed")),
                "day_of_next_month": d.get("day_of_next_month"),
                "dataset_version": data["version"],
            },
        )
        report.deadlines += 1
    return report
