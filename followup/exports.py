"""The Law 648 follow-up export as CSV rows: pseudonyms and references only, never names.

The columns follow what the AIFA monitoring registry's follow-up forms ask for (response,
toxicity, end of treatment and its reason, survival); check them against the registry's current
forms, which AIFA changes per drug and indication.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone, translation

from followup.models import DeathCause, EndReason, Mrd, Response
from followup.selectors import RequestWithOutcomes
from offlabel.exports import csv_writer
from pharmacy.models import TreatmentPlanVersion
from prescriptions.selectors import decimal_plain

COLUMNS_648 = (
    "pseudonym",
    "reference",
    "regimen",
    "ven_dose_mg",
    "start_date",
    "cycles_dispensed",
    "best_response",
    "best_response_date",
    "mrd_status",
    "ae_grade_3_plus",
    "serious_aes",
    "transplant_date",
    "treatment_end_date",
    "treatment_end_reason",
    "death_date",
    "death_cause",
    "last_contact_date",
)


def _day(value: date | None) -> str:
    return value.isoformat() if value else ""


def _label(choices: Any, value: str | None) -> str:
    return str(choices(value).label) if value else ""


def planned_daily_doses(requests: Iterable[Any]) -> dict[int, Decimal | None]:
    """The steady daily VEN dose of each request's latest recorded treatment plan (the plan
    computes the dose once; the registry reads it, not the dose the request asked for)."""
    ids = [r.pk for r in requests]
    latest: dict[int, Any] = {}
    for version in TreatmentPlanVersion.objects.filter(request_id__in=ids).only(
        "request_id", "number", "schedule"
    ):
        if version.request_id not in latest or version.number > latest[version.request_id].number:
            latest[version.request_id] = version
    doses: dict[int, Decimal | None] = {}
    for request_id, version in latest.items():
        first = version.schedule[0] if version.schedule else None
        doses[request_id] = Decimal(first["doses_mg"][-1]) if first and first["doses_mg"] else None
    return doses


def registry_648_row(
    request: RequestWithOutcomes,
    planned_dose: Decimal | None = None,
    time_zone: str | None = None,
) -> list[str]:
    """One treated request from ``followup.selectors.with_outcomes``; ``planned_dose`` is the
    plan's steady daily dose (``planned_daily_doses``). The start date is the day in the
    hospital's ``time_zone`` (the server's when none is given)."""
    followup = getattr(request, "followup", None)
    return [
        request.patient.pseudonym,
        request.reference,
        request.get_regimen_display() if request.regimen else "",
        decimal_plain(planned_dose) if planned_dose is not None else "",
        _day(
            timezone.localdate(request.started_at, ZoneInfo(time_zone) if time_zone else None)
            if request.started_at
            else None
        ),
        str(request.cycles_dispensed),
        _label(Response, request.best_response),
        _day(request.best_response_on),
        _label(Mrd, request.best_mrd),
        str(request.ae_grade_3_plus),
        str(request.serious_aes),
        _day(followup.transplant_on if followup else None),
        _day(followup.treatment_end_on if followup else None),
        _label(EndReason, followup.treatment_end_reason if followup else None),
        _day(followup.death_on if followup else None),
        _label(DeathCause, followup.death_cause if followup else None),
        _day(followup.last_contact_on if followup else None),
    ]


def registry_648_csv(requests: Iterable[RequestWithOutcomes], time_zone: str | None = None) -> str:
    """In English whatever the interface language: a data file with fixed columns, transcribed
    into the registry, reads the same from every workstation. Cells go through ``cell_safe``:
    the file is opened in a spreadsheet."""
    buffer = io.StringIO()
    writer = csv_writer(buffer)
    writer.writerow(COLUMNS_648)
    requests = list(requests)
    doses = planned_daily_doses(requests)
    with translation.override("en"):
        for request in requests:
            writer.writerow(registry_648_row(request, doses.get(request.pk), time_zone))
    return buffer.getvalue()
