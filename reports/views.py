"""Pages of the hospital administrator: the report (with CSV, XLSX and PDF), the audit trail
viewer and the audit-chain check."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.scoping import acting_user, scope_to_hospital
from audit.actions import AuditAction
from audit.models import AuditChainCheck, AuditEvent
from audit.services import audit_record
from evidence.models import Study
from offlabel.dates import local_midnight
from offlabel.exceptions import ApplicationError, NotVisible
from reports.charts import report_charts
from reports.forms import AuditFilterForm, ReportFilterForm, audit_action_q
from reports.home import home_for
from reports.models import ReportExport
from reports.selectors import ReportFilters, report_compute
from reports.services import audit_check_request, report_export_download, report_export_request
from reports.tables import report_csv, report_tables, report_xlsx
from signing.views import awaiting_timestamp_response, refuses_unsealed

VIEW_REPORT = "reports.view_reportexport"


@login_required
def home_view(request: HttpRequest) -> HttpResponse:
    """Each role's own home: what waits for it, with counts (``reports.home``)."""
    context = {
        "home": home_for(request.user),
        "now": timezone.now(),
        "today": timezone.localdate(),
        "study_count": Study.objects.count(),
        "review_study_count": Study.objects.filter(origin=Study.Origin.REVIEW).count(),
    }
    return render(request, "home.html", context)


def _report_and_form(request: HttpRequest) -> tuple[Any, ReportFilterForm]:
    user = acting_user(request)
    if user.hospital is None:
        raise NotVisible(_("Not found."))
    form = ReportFilterForm(request.GET or None, hospital=user.hospital)
    filters = form.filters() if form.is_bound and form.is_valid() else ReportFilters()
    return report_compute(hospital=user.hospital, filters=filters), form


@login_required
@permission_required(VIEW_REPORT, raise_exception=True)
def report_view(request: HttpRequest) -> HttpResponse:
    report, form = _report_and_form(request)
    exports = ReportExport.objects.filter(hospital=report.hospital).select_related("requested_by")[
        :5
    ]
    context = {
        "form": form,
        "report": report,
        "tables": report_tables(report),
        "charts": report_charts(report),
        "exports": exports,
        "query": request.GET.urlencode(),
    }
    return render(request, "reports/report.html", context)


def _download(request: HttpRequest, kind: str, action: AuditAction) -> tuple[Any, str]:
    report, _ = _report_and_form(request)
    audit_record(
        actor=acting_user(request),
        action=action,
        target=report.hospital,
        summary=f"Administration report exported as {kind.upper()}",
        after={"filters": report.filters.as_data()},
    )
    stamp = timezone.localtime(report.generated_at).strftime("%Y%m%d-%H%M")
    return report, f"offlabel-report-{stamp}.{kind}"


@login_required
@permission_required(VIEW_REPORT, raise_exception=True)
def report_csv_view(request: HttpRequest) -> HttpResponse:
    report, name = _download(request, "csv", AuditAction.REPORT_EXPORTED_CSV)
    response = HttpResponse(report_csv(report), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@permission_required(VIEW_REPORT, raise_exception=True)
def report_xlsx_view(request: HttpRequest) -> HttpResponse:
    report, name = _download(request, "xlsx", AuditAction.REPORT_EXPORTED_XLSX)
    response = HttpResponse(
        report_xlsx(report),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@permission_required("reports.add_reportexport", raise_exception=True)
def report_pdf_view(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return redirect("reports:report")
    user = acting_user(request)
    assert user.hospital is not None
    form = ReportFilterForm(request.POST, hospital=user.hospital)
    if not form.is_valid():
        messages.error(
            request, _("Check the filters: %(errors)s") % {"errors": form.errors.as_text()}
        )
        return redirect("reports:report")
    try:
        report_export_request(actor=user, filters=form.filters())
        messages.success(
            request, _("The PDF report is being prepared; it appears below when ready.")
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect(reverse("reports:report") + "?" + request.POST.get("query", ""))


@login_required
@permission_required(VIEW_REPORT, raise_exception=True)
def exports_panel_view(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    exports = ReportExport.objects.filter(hospital=user.hospital).select_related("requested_by")[:5]
    return render(request, "reports/_exports.html", {"exports": exports})


@login_required
@permission_required(VIEW_REPORT, raise_exception=True)
def export_download_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    export = get_object_or_404(ReportExport, pk=pk, hospital=acting_user(request).hospital)
    if refuses_unsealed(export):  # issue 16: never served unsealed
        return awaiting_timestamp_response(request)
    try:
        report_export_download(actor=acting_user(request), export=export)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("reports:report")
    return FileResponse(
        export.file.open("rb"), as_attachment=True, filename=f"offlabel-report-{export.pk}.pdf"
    )


@login_required
@permission_required("audit.view_auditevent", raise_exception=True)
def audit_view(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    events = scope_to_hospital(AuditEvent.objects.all(), request.user).order_by("-sequence")
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        if data["q"]:
            events = events.filter(summary__icontains=data["q"])
        if data["actor"]:
            events = events.filter(actor_username__icontains=data["actor"])
        if data["action"]:
            events = events.filter(audit_action_q(data["action"]))
        if data["reference"] is not None:
            events = events.filter(
                object_type="prescriptions.offlabelrequest", object_id=str(data["reference"])
            )
        if data["date_from"]:
            events = events.filter(occurred_at__gte=local_midnight(data["date_from"]))
        if data["date_to"]:
            events = events.filter(
                occurred_at__lt=local_midnight(data["date_to"] + timedelta(days=1))
            )
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "checks": AuditChainCheck.objects.all()[:5],
    }
    return render(request, "reports/audit.html", context)


@login_required
@permission_required("audit.view_auditevent", raise_exception=True)
def audit_checks_panel_view(request: HttpRequest) -> HttpResponse:
    return render(request, "reports/_checks.html", {"checks": AuditChainCheck.objects.all()[:5]})


@login_required
@permission_required("audit.view_auditevent", raise_exception=True)
def audit_verify_view(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        try:
            audit_check_request(actor=acting_user(request))
            messages.success(
                request, _("The audit chain check is running; its result appears below.")
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
    return redirect("reports:audit")
