"""The report as titled tables: one source for the page, the PDF, the CSV and the XLSX.

The tables are in the interface language on the page; the downloads (CSV, XLSX, and the PDF,
rendered in English by the worker) are in English whatever language the administrator reads,
like the project's other exports: a file kept or sent on reads the same from every desk.

Money is a ``Money`` cell (amount and currency): the page and the PDF show it as the locale
writes money ("€ 4.961,55"), the XLSX keeps a number with a currency format, and the CSV a plain
decimal with two places followed by a column with the currency (a spreadsheet reads a number,
and no locale's separators get in the way). Times in the CSV are ISO 8601 with the offset of the
hospital's time zone. A pathway is shown by its name in the reader's language; its code is a
machine column, only in the CSV and the XLSX.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from django.template.defaultfilters import floatformat
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext, pgettext

from followup.models import Response
from offlabel.exports import csv_money_cells, csv_time, csv_writer, xlsx_append
from offlabel.i18n import Money, localized
from prescriptions.models import STATUS_LABELS, request_reference
from regulatory.models import Body, PathwayVersion
from reports.selectors import Report

RESPONSE_LABELS = dict(Response.choices)
BODY_LABELS = dict(Body.choices)


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    headers: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    # Columns for machines (a code), left out of the page and the PDF.
    machine_columns: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        # Labels may be lazy translations: the CSV, the XLSX and the PDF need plain text.
        plain = [tuple(str(c) if isinstance(c, Promise) else c for c in r) for r in self.rows]
        object.__setattr__(self, "rows", plain)
        object.__setattr__(self, "title", str(self.title))
        object.__setattr__(self, "headers", tuple(str(h) for h in self.headers))

    @property
    def shown_headers(self) -> tuple[str, ...]:
        """The headers a person reads (the page, the PDF)."""
        return tuple(h for i, h in enumerate(self.headers) if i not in self.machine_columns)

    @property
    def shown_rows(self) -> list[tuple[Any, ...]]:
        return [
            tuple(c for i, c in enumerate(r) if i not in self.machine_columns) for r in self.rows
        ]


def pathway_names() -> dict[str, str]:
    """Each pathway's current name in the reader's language, by code (one query)."""
    return {
        v.pathway.code: localized(v, "name")
        for v in PathwayVersion.objects.filter(is_current=True).select_related("pathway")
    }


def _money(amount: Any, currency: str) -> Money | None:
    return None if amount is None else Money(amount, currency)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{floatformat(value, 1)}%"


def _days(value: float | None) -> str:
    return "—" if value is None else str(floatformat(value, -1))


def report_tables(report: Report) -> list[Table]:
    names = pathway_names()
    # One hospital, one currency in practice; a physician's total is in the dispensed one.
    currency = next((r["currency"] for r in report.dispensing if r["currency"]), "EUR")
    summary = [
        (gettext("Requests in scope"), report.total),
        (gettext("Decided by the pharmacy (approved or rejected)"), report.decided),
        (pgettext("requests, counted", "Approved"), report.approved),
        (pgettext("requests, counted", "Rejected"), report.rejected),
        (gettext("Approval rate"), _pct(report.approval_rate)),
        (gettext("Rejection rate"), _pct(report.rejection_rate)),
        (
            gettext("Submission to pharmacy decision, median (days)"),
            _days(report.to_decision.median_days),
        ),
        (
            gettext("Submission to pharmacy decision, 90th percentile (days)"),
            _days(report.to_decision.p90_days),
        ),
        (gettext("Requests with a pharmacy decision"), report.to_decision.n),
        (
            gettext("Submission to outside authorisation, median (days)"),
            _days(report.to_authorisation.median_days),
        ),
        (
            gettext("Submission to outside authorisation, 90th percentile (days)"),
            _days(report.to_authorisation.p90_days),
        ),
        (gettext("Requests with an outside authorisation"), report.to_authorisation.n),
        (gettext("Open outside applications"), report.applications_open),
        (gettext("Overdue outside applications"), len(report.applications_overdue)),
        (
            gettext("Approved requests without a signed consent"),
            len(report.approved_without_consent),
        ),
    ]
    return [
        Table("summary", gettext("Summary"), (gettext("Figure"), gettext("Value")), summary),
        Table(
            "by_state",
            gettext("Requests by state"),
            (gettext("State"), gettext("Requests")),
            [(r["label"], r["n"]) for r in report.by_state],
        ),
        Table(
            "by_pathway",
            gettext("Requests by pathway"),
            (gettext("Pathway"), gettext("Code"), gettext("Requests")),
            [
                (
                    names.get(r["code"]) or r["name"] or r["code"] or gettext("(none chosen)"),
                    r["code"] or "",
                    r["n"],
                )
                for r in report.by_pathway
            ],
            machine_columns=(1,),
        ),
        Table(
            "overdue",
            gettext("Overdue outside applications"),
            (
                gettext("Request"),
                gettext("Patient"),
                gettext("Body"),
                gettext("Due since"),
                gettext("Open reminders"),
            ),
            [
                (
                    request_reference(r["reference_pk"]),
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
            gettext("Approved requests without a signed consent (must be none)"),
            (gettext("Request"), gettext("Patient"), gettext("State")),
            [
                (
                    request_reference(r["pk"]),
                    r["pseudonym"],
                    STATUS_LABELS.get(r["status"], r["status"]),
                )
                for r in report.approved_without_consent
            ],
        ),
        Table(
            "dispensing",
            gettext("Dispensing volume and cost by payer"),
            (
                gettext("Payer"),
                gettext("Cycles"),
                "mg",
                gettext("Value"),
                gettext("Cycles without a price"),
            ),
            [
                (
                    r["payer_label"],
                    r["cycles"],
                    r["mg_total"],
                    _money(r["cost_total"], r["currency"]) if r["currency"] else None,
                    r["unpriced"],
                )
                for r in report.dispensing
            ],
        ),
        Table(
            "responses",
            gettext("Best response of treated requests"),
            (gettext("Best response"), gettext("Requests")),
            [
                (RESPONSE_LABELS.get(r["best_response"], gettext("Not yet assessed")), r["n"])
                for r in report.responses
            ],
        ),
        Table(
            "adverse_events",
            gettext("Adverse events by CTCAE grade"),
            (gettext("Grade"), gettext("Events"), gettext("Requests with one")),
            [(r["grade"], r["events"], r["patients"]) for r in report.adverse_events],
        ),
        Table(
            "physicians",
            gettext("Per physician"),
            (
                gettext("Physician"),
                gettext("Requests"),
                pgettext("requests, counted", "Approved"),
                pgettext("requests, counted", "Rejected"),
                gettext("Treated"),
                gettext("Dispensed value"),
            ),
            [
                (
                    f"{r['first_name']} {r['last_name']}".strip() or r["username"],
                    r["requests"],
                    r["approved"],
                    r["rejected"],
                    r["treated"],
                    _money(r["cost"], currency),
                )
                for r in report.physicians
            ],
        ),
    ]


def report_csv(report: Report) -> str:
    """One CSV, in English: each table under a title row, a blank row between tables. Every
    cell goes through ``cell_safe`` (a pathway or physician name may start with ``=``)."""
    with translation.override("en"):
        tables = report_tables(report)
        filters = filters_description(report)
    buffer = io.StringIO()
    writer = csv_writer(buffer)
    writer.writerow([f"offlabel report — {report.hospital.name}"])
    writer.writerow([f"Generated {csv_time(report.generated_at, report.hospital.time_zone)}"])
    writer.writerow(["Filters", filters])
    for table in tables:
        headers, rows = csv_money_cells(table.headers, table.rows)
        writer.writerow([])
        writer.writerow([table.title])
        writer.writerow(headers)
        writer.writerows(rows)
    return buffer.getvalue()


def filters_description(report: Report) -> str:
    """The report's filters as a reader reads them, or "no filter" (never "Filters: .")."""
    shown = [f"{k}={v}" for k, v in report.filters.as_data().items() if v not in (None, "", [])]
    return ", ".join(shown) if shown else gettext("no filter")


def report_xlsx(report: Report) -> bytes:
    """One worksheet per table (openpyxl), in English, numbers kept as numbers and text
    written as text, never as a formula (``xlsx_append``)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    with translation.override("en"):
        tables = report_tables(report)
    workbook = Workbook()
    first = workbook.active
    assert first is not None
    workbook.remove(first)
    for table in tables:
        sheet = workbook.create_sheet(title=table.key[:31])
        xlsx_append(sheet, [table.title])
        sheet["A1"].font = Font(bold=True)
        xlsx_append(sheet, table.headers)
        for cell in sheet[2]:
            cell.font = Font(bold=True)
        for row in table.rows:
            xlsx_append(sheet, row)
        sheet.column_dimensions["A"].width = 48
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
