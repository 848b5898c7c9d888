"""Writes to the study database: the idempotent review loader and audited edits."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext

from accounts.models import User
from audit.actions import AuditAction
from audit.services import audit_record, model_update_audited
from evidence.models import (
    MutationFinding,
    Outcome,
    RegimenCode,
    RRExclusion,
    SafetyFinding,
    Study,
    StudyRegimen,
    StudySetting,
)
from evidence.serializers import StudyDetailSerializer
from offlabel.exceptions import ApplicationError
from offlabel.i18n import english
from offlabel.sourced_data import SourcedFile, content_hash

REVIEW_DATA_FILE = Path(settings.BASE_DIR) / "evidence" / "data" / "studies_review.json"

# Scalar fields copied as they are from the data file.
_SCALAR_FIELDS = (
    "reference",
    "first_author",
    "year",
    "year_note",
    "design",
    "design_text",
    "age_summary",
    "median_age",
    "n_patients",
    "n_rr_aml",
    "population_text",
    "interventions_text",
    "orr_percent",
    "orr_note",
    "n_rr_ven_treated",
    "n_rr_ven_treated_wording",
    "orr_rr_percent",
    "orr_rr_wording",
    "cr_cri_rr_percent",
    "cr_cri_rr_wording",
    "rr_exclusion",
    "efficacy_text",
    "safety_text",
    "text_passages",
    "notes",
)
_BLANK_TO_EMPTY = {
    "year_note",
    "orr_note",
    "notes",
    "safety_text",
    "design_text",
    "age_summary",
    "population_text",
    "interventions_text",
    "efficacy_text",
    "n_rr_ven_treated_wording",
    "orr_rr_wording",
    "cr_cri_rr_wording",
    "rr_exclusion",
}


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def study_fields_from_record(record: dict[str, Any], review_citation: str) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "citation": f"Reference [{record['reference']}], Table 1 of the review {review_citation}"
    }
    for name in _SCALAR_FIELDS:
        value = record.get(name)
        if name in _BLANK_TO_EMPTY and value is None:
            value = ""
        if name in {"median_age", "orr_percent", "orr_rr_percent", "cr_cri_rr_percent"}:
            value = _decimal(value)
        fields[name] = value
    fields["source_passage"] = record["table_passage"]
    return fields


def _children_replace(study: Study, record: dict[str, Any]) -> None:
    study.settings.all().delete()
    study.regimens.all().delete()
    study.outcomes.all().delete()
    study.mutation_findings.all().delete()
    study.safety_findings.all().delete()
    StudySetting.objects.bulk_create(
        StudySetting(study=study, tag=tag) for tag in sorted(set(record.get("settings", [])))
    )
    StudyRegimen.objects.bulk_create(
        StudyRegimen(
            study=study,
            code=r["code"],
            text=r["text"],
            ven_dose_mg=_decimal(r.get("ven_dose_mg")),
            partner_dose=r.get("partner_dose") or "",
        )
        for r in record.get("regimens", [])
    )
    Outcome.objects.bulk_create(
        Outcome(
            study=study,
            measure=o["measure"],
            label=o.get("label") or "",
            population=o.get("population") or "whole cohort",
            value=_decimal(o.get("value")),
            n=o.get("n"),
            denominator=o.get("denominator"),
            ci=o.get("ci") or "",
            wording=o["wording"],
            source=o["source"],
        )
        for o in record.get("outcomes", [])
    )
    MutationFinding.objects.bulk_create(
        MutationFinding(
            study=study,
            gene=m["gene"],
            direction=m["direction"],
            effect=m.get("effect") or "",
            wording=m["wording"],
            source=m["source"],
        )
        for m in record.get("mutation_findings", [])
    )
    SafetyFinding.objects.bulk_create(
        SafetyFinding(
            study=study,
            event=s["event"],
            grade=s.get("grade") or "",
            percent=_decimal(s.get("percent")),
            n=s.get("n"),
            wording=s["wording"],
            source=s["source"],
        )
        for s in record.get("safety", [])
    )


def json_ready(data: Any) -> Any:
    """DRF data with Decimals as JSON numbers (ints where whole), as export and snapshots store."""

    def number(value: Any) -> Any:
        if isinstance(value, Decimal):
            return int(value) if value == value.to_integral_value() else float(value)
        raise TypeError(f"{type(value).__name__} is not JSON serialisable")

    return json.loads(json.dumps(data, default=number, ensure_ascii=False))


def study_snapshot(study: Study) -> dict[str, Any]:
    """The study as it is now, every field and figure, for freezing into a request."""
    fresh = Study.objects.prefetch_related(
        "settings", "regimens", "outcomes", "mutation_findings", "safety_findings"
    ).get(pk=study.pk)
    return dict(json_ready(StudyDetailSerializer(fresh).data))


def _record_hash(record: dict[str, Any], version: int) -> str:
    """A study's row of the file with the file's version: a new version refreshes every row."""
    return content_hash({"version": version, "record": record})


@dataclass
class LoadReport:
    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"{len(self.created)} created, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged"
        )


@transaction.atomic
def studies_load_review(*, path: Path = REVIEW_DATA_FILE, actor: User | None = None) -> LoadReport:
    """Load (or refresh) the review's studies from the versioned data file.

    Idempotent: a row whose content hash matches the file is left alone, so running it twice
    changes nothing and writes no audit event the second time. Each study is one row, refreshed
    in place: it records the file version and the hash it was last loaded from.
    """
    source = SourcedFile.read(path)
    data, version = source.data, source.version
    report = LoadReport()
    for record in data["studies"]:
        digest = _record_hash(record, version)
        fields = study_fields_from_record(record, data["source"]["short_citation"])
        existing = Study.objects.filter(
            origin=Study.Origin.REVIEW, reference=record["reference"]
        ).first()
        if existing is not None and existing.content_hash == digest:
            report.unchanged.append(record["reference"])
            continue
        if existing is None:
            study = Study(
                origin=Study.Origin.REVIEW, dataset_version=version, content_hash=digest, **fields
            )
            study.full_clean()
            study.save()
            action = AuditAction.STUDY_LOADED
            summary = f"Loaded {study} from the review data file v{version}"
            report.created.append(record["reference"])
        else:
            study = existing
            for name, value in fields.items():
                setattr(study, name, value)
            study.dataset_version = version
            study.content_hash = digest
            study.full_clean()
            study.save()
            action = AuditAction.STUDY_RELOADED
            summary = f"Refreshed {study} from the review data file v{version}"
            report.updated.append(record["reference"])
        _children_replace(study, record)
        audit_record(
            actor=actor,
            action=action,
            target=study,
            summary=summary,
            after={"content_hash": digest, "dataset_version": version},
        )
    return report


# --- Studies added by pharmacists and regulatory officers ------------------------------------

EDITABLE_FIELDS = (
    "first_author",
    "year",
    "citation",
    "design",
    "design_text",
    "age_summary",
    "median_age",
    "n_patients",
    "n_rr_aml",
    "population_text",
    "interventions_text",
    "orr_percent",
    "orr_note",
    "n_rr_ven_treated",
    "n_rr_ven_treated_wording",
    "orr_rr_percent",
    "orr_rr_wording",
    "cr_cri_rr_percent",
    "cr_cri_rr_wording",
    "rr_exclusion",
    "efficacy_text",
    "safety_text",
    "source_passage",
    "notes",
)


def _rr_exclusion_settle(study: Study) -> None:
    """A study with an R/R ORR has no exclusion reason; one without always has one."""
    if study.orr_rr_percent is not None:
        study.rr_exclusion = ""
    elif not study.rr_exclusion:
        study.rr_exclusion = RRExclusion.NOT_KEYED


def _snapshot(study: Study) -> dict[str, Any]:
    data = {name: getattr(study, name) for name in EDITABLE_FIELDS}
    data["settings"] = sorted(study.settings.values_list("tag", flat=True)) if study.pk else []
    data["regimens"] = sorted(study.regimens.values_list("code", flat=True)) if study.pk else []
    return data


def _set_tags(study: Study, settings_tags: list[str], regimen_codes: list[str]) -> None:
    study.settings.all().delete()
    StudySetting.objects.bulk_create(
        StudySetting(study=study, tag=t) for t in sorted(set(settings_tags))
    )
    kept = set(study.regimens.filter(code__in=regimen_codes).values_list("code", flat=True))
    study.regimens.exclude(code__in=regimen_codes).delete()
    StudyRegimen.objects.bulk_create(
        # Stored text: English, whatever language the editor reads.
        StudyRegimen(study=study, code=code, text=english(RegimenCode(code).label))
        for code in sorted(set(regimen_codes) - kept)
    )


def _require_editor(actor: User) -> None:
    if not actor.has_perm("evidence.change_study"):
        raise ApplicationError(
            gettext("Only pharmacists and regulatory officers can add or edit studies.")
        )


@transaction.atomic
def study_create(
    *, actor: User, fields: dict[str, Any], settings_tags: list[str], regimen_codes: list[str]
) -> Study:
    _require_editor(actor)
    if not (fields.get("citation") or "").strip():
        raise ApplicationError(
            gettext("A study needs its citation (DOI, PMID or reference) as its source.")
        )
    study = Study(origin=Study.Origin.ADDED, updated_by=actor, **fields)
    _rr_exclusion_settle(study)
    study.full_clean()
    study.save()
    _set_tags(study, settings_tags, regimen_codes)
    audit_record(
        actor=actor,
        action=AuditAction.STUDY_CREATED,
        target=study,
        summary=f"Added study {study}",
        after=_snapshot(study),
    )
    return study


@transaction.atomic
def study_update(
    *,
    actor: User,
    study: Study,
    fields: dict[str, Any],
    settings_tags: list[str],
    regimen_codes: list[str],
) -> Study:
    _require_editor(actor)
    study = Study.objects.select_for_update().get(pk=study.pk)
    if study.is_from_review:
        raise ApplicationError(
            gettext(
                "Studies from the review reproduce the published Table 1 and are read-only here; "
                "corrections go through the versioned data file."
            )
        )
    for name in fields:  # this sentence, not model_update_audited's own
        if name not in EDITABLE_FIELDS:
            raise ApplicationError(
                gettext("The field %(name)s cannot be edited.") % {"name": repr(name)}
            )

    def settle(row: Study) -> None:
        if not row.citation.strip():
            raise ApplicationError(
                gettext("A study needs its citation (DOI, PMID or reference) as its source.")
            )
        row.updated_by = actor
        _rr_exclusion_settle(row)

    model_update_audited(
        study,
        fields=EDITABLE_FIELDS,
        data=fields,
        actor=actor,
        action=AuditAction.STUDY_UPDATED,
        summary_prefix=lambda row: f"Edited study {row}",
        snapshot=_snapshot,
        strip=False,
        before_save=settle,
        after_save=lambda row: _set_tags(row, settings_tags, regimen_codes),
    )
    return study
