"""The report as titled tables: one source for the page, the PDF, the CSV and the XLSX."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise

from followup.models import Response
from regulatory.models import Body
from reports.selectors import Report

RESPONSE_LABELS = dict(Response.choices)
BODY_LABELS = dict(Body.choices)


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    headers: tuple[str, ...]
    rows: list[tuple[Any, ...]]

    def __post_init__(self) -> None:
        # Labels may be lazy translations: the CSV, the XLSX and the PDF need plain text.
        plain = [tuple(str(c) if isinstance(c, Promise) else c for c in r) for r in self.rows]
        object.__setattr__(self, "rows", plain)
        object.__setattr__(self, "title", str(self.title))
        object.__setattr__(self, "headers", tuple(str(h) for h in self.headers))


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


def _days(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


def report_tables(report: Report) -> list[Table]:
    summary = [
        ("Requests in scope", report.total),
        ("Decided by the pharmacy (approved or rejected)", report.decided),
        ("Approved", report.approved),
        ("Rejected", report.rejected),
        ("Approval rate", _pct(report.approval_rate)),
        ("Rejection rate", _pct(report.rejection_rate)),
        ("Submission to pharmacy decision, median (days)", _days(report.to_decision.median_days)),
        (
            "Submission to pharmacy decision, 90th percentile (days)",
            _days(report.to_decision.p90_days),
        ),
        ("Requests with a pharmacy decision", report.to_decision.n),
        (
            "Submission to outside authorisation, median (days)",
            _days(report.to_authorisation.median_days),
        ),
        (
            "Submission to outside authorisation, 90th percentile (days)",
            _days(report.to_authorisation.p90_days),
        ),
        ("Requests with an outside authorisation", report.to_authorisation.n),
        ("Open outside applications", report.applications_open),
        ("Overdue outside applications", len(report.applications_overdue)),
        ("Approved requests without a signed consent", len(report.approved_without_consent)),
    ]
    return [
        Table("summary", "Summary", ("Figure", "Value"), summary),
        Table(
            "by_state",
            "Requests by state",
            ("State", "Requests"),
            [(r["label"], r["n"]) for r in report.by_state],
        ),
        Table(
            "by_pathway",
            "Requests by pathway",
            ("Pathway", "Code", "Requests"),
            [(r["name"] or "(none chosen)", r["code"] or "", r["n"]) for r in report.by_pathway],
        ),
        Table(
            "overdue",
            "Overdue outside applications",
            ("Request", "Patient", "Body", "Due since", "Open reminders"),
            [
                (
                    f"OL-{r['reference_pk']:06d}",
                    r["pseudonym"],
                    BODY_LABELS.get(r["body"], r["body"]),
                    r["due_on"].isoformat(),
                    r["reminders"],
                )
                for r in report.applications_overdue
            ],
        ),
        Table(
            "consent",
            "Approved requests without a signed consent (must be none)",
            ("Request", "Patient", "State"),
            [
                (f"OL-{r['pk']:06d}", r["pseudonym"], r["status"])
                for r in report.approved_without_consent
            ],
        ),
        Table(
            "dispensing",
            "Dispensing volume and cost by payer",
            ("Payer", "Cycles", "mg", "Value", "Currency", "Cycles without a price"),
            [
                (
                    r["payer_label"],
                    r["cycles"],
                    r["mg_total"],
                    r["cost_total"],
                    r["currency"],
                    r["unpriced"],
                )
                for r in report.dispensing
            ],
        ),
        Table(
            "responses",
            "Best response of treated requests",
            ("Best response", "Requests"),
            [
                (RESPONSE_LABELS.get(r["best_response"], "Not yet assessed"), r["n"])
                for r in report.responses
            ],
        ),
        Table(
            "adverse_events",
            "Adverse events by CTCAE grade",
            ("Grade", "Events", "Requests with one"),
            [(r["grade"], r["events"], r["patients"]) for r in report.adverse_events],
        ),
        Table(
            "physicians",
            "Per physician",
            ("Physician", "Requests", "Approved", "Rejected", "Treated", "Dispensed value"),
            [
                (
                    f"{r['first_name']} {r['last_name']}".strip() or r["username"],
                    r["requests"],
                    r["approved"],
                    r["rejected"],
                    r["treated"],
                    r["cost"],
                )
                for r in report.physicians
            ],
        ),
    ]


def report_csv(report: Report) -> str:
    """One CSV: each table under a title row, a blank row between tables."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([f"offlabel report — {report.hospital.name}"])
    writer.writerow([f"Generated {report.generated_at.isoformat(timespec='seconds')}"])
    writer.writerow(["Filters"] + [f"{k}={v}" for k, v in report.filters.as_data().items() if v])
    for table in report_tables(report):
        writer.writerow([])
        writer.writerow([table.title])
        writer.writerow(table.headers)
        writer.writerows(table.rows)
    return buffer.getvalue()


def report_xlsx(report: Report) -> bytes:
    """One worksheet per table (openpyxl), numbers kept as numbers."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    first = workbook.active
    assert first is not None
    workbook.remove(first)
    for table in report_tables(report):
        sheet = workbook.create_sheet(title=table.key[:31])
        sheet.append([table.title])
        sheet["A1"].font = Font(bold=True)
        sheet.append(list(table.headers))
        for cell in sheet[2]:
            cell.font = Font(bold=True)
        for row in table.rows:
            sheet.append(list(row))
        sheet.column_dimensions["A"].width = 48
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
