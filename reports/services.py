"""Writes of the reports: queue a PDF report, download it, ask for an audit-chain check."""

from __future__ import annotations

from django.db import transaction
from django.template.loader import render_to_string
from django.utils.translation import gettext

from accounts.models import Hospital, User
from accounts.roles import Role
from audit.actions import AuditAction
from audit.services import audit_record
from audit.tasks import audit_chain_verify_task
from offlabel.exceptions import ApplicationError
from offlabel.rendering import render_enqueue
from prescriptions.policies import require_role, require_same_hospital
from reports.charts import report_charts
from reports.models import ReportExport
from reports.selectors import ReportFilters, report_compute
from reports.tables import filters_description, report_tables
from signing.documents import pdf_render_once


def _administered_hospital(actor: User) -> Hospital:
    """The hospital of a hospital administrator; an ``ApplicationError`` for anyone else (and
    for an administrator's account that belongs to no hospital)."""
    only_admins = gettext("Only a hospital administrator can do this.")
    require_role(actor, Role.HOSPITAL_ADMIN, message=only_admins)
    if actor.hospital is None:
        raise ApplicationError(only_admins)
    return actor.hospital


@transaction.atomic
def report_export_request(*, actor: User, filters: ReportFilters) -> ReportExport:
    """Queue the PDF report for a Celery worker; the page polls its status."""
    hospital = _administered_hospital(actor)
    export = ReportExport.objects.create(
        hospital=hospital, filters=filters.as_data(), requested_by=actor
    )
    audit_record(
        actor=actor,
        action=AuditAction.REPORT_REQUESTED,
        target=export,
        summary=f"Administration report {export.pk} queued",
        after={"filters": export.filters},
    )
    render_enqueue(export)  # BrokerUnavailable rolls the export back: nothing half-made
    return export


def report_html(export: ReportExport) -> str:
    report = report_compute(
        hospital=export.hospital, filters=ReportFilters.from_data(export.filters)
    )
    context = {
        "report": report,
        "export": export,
        "tables": report_tables(report),
        "charts": report_charts(report),
        "filters_text": filters_description(report),
    }
    return render_to_string("reports/report_pdf.html", context)


def report_export_render(export_id: int) -> ReportExport:
    """Render once (a retry or a duplicate message leaves a ready report as it is)."""

    def stored(export: ReportExport) -> None:
        audit_record(
            actor=None,
            action=AuditAction.REPORT_RENDERED,
            target=export,
            hospital=export.hospital,
            summary=f"Administration report {export.pk} rendered ({export.pages} pages)",
            after={"sha256": export.sha256},
        )

    return pdf_render_once(
        ReportExport.objects.select_related("hospital"),
        export_id,
        html=report_html,
        filename=lambda export: f"offlabel-report-{export.pk}.pdf",
        on_stored=stored,
    )


def report_export_download(*, actor: User, export: ReportExport) -> ReportExport:
    require_same_hospital(actor, export.hospital_id)
    _administered_hospital(actor)
    if export.status != ReportExport.Status.READY:
        raise ApplicationError(gettext("The report is not ready yet."))
    audit_record(
        actor=actor,
        action=AuditAction.REPORT_DOWNLOADED,
        target=export,
        summary=f"Administration report {export.pk} downloaded",
    )
    return export


@transaction.atomic
def audit_check_request(*, actor: User) -> None:
    """Queue a walk of the whole audit chain; its result is stored as an AuditChainCheck."""
    _administered_hospital(actor)
    audit_record(
        actor=actor,
        action=AuditAction.AUDIT_CHECK_REQUESTED,
        target=actor,
        summary="Audit chain check asked",
    )
    transaction.on_commit(lambda: audit_chain_verify_task.delay())
