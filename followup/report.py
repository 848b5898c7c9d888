"""The renewal clinical report for the AIFA 5% Fund: efficacy and safety of one patient's VEN
treatment, incl. suspected adverse reactions and whether they were reported, with the
prescribing physician's conclusion. Rendered to PDF by a Celery worker with WeasyPrint."""

from __future__ import annotations

from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import User
from accounts.roles import Role
from audit.actions import AuditAction
from audit.services import audit_record
from followup.models import FollowUp, RenewalReport, Response
from followup.selectors import treated_requests, with_outcomes
from followup.services import treated_request_for_change
from offlabel.exceptions import ApplicationError
from offlabel.rendering import render_enqueue
from pharmacy.selectors import treatment_started_on
from prescriptions.models import OffLabelRequest
from prescriptions.policies import require_role, require_same_hospital
from signing.documents import pdf_render_once

TEMPLATE = "followup/renewal_report.html"


@transaction.atomic
def renewal_report_request(
    *, actor: User, request: OffLabelRequest, conclusion: str
) -> RenewalReport:
    """Queue the report; the prescribing physician writes its conclusion."""
    request, _started = treated_request_for_change(actor, request)
    if request.prescriber_id != actor.pk:
        raise ApplicationError(
            gettext(
                "The renewal report's conclusion is the prescribing physician's: only they can "
                "prepare it."
            )
        )
    conclusion = conclusion.strip()
    if len(conclusion) < 20:
        raise ApplicationError(
            gettext(
                "Write the conclusion on efficacy and safety (a few sentences): the report "
                "prints it."
            )
        )
    report = RenewalReport(request=request, conclusion=conclusion, requested_by=actor)
    report.full_clean()
    report.save()
    audit_record(
        actor=actor,
        action=AuditAction.RENEWAL_REPORT_REQUESTED,
        target=request,
        summary=f"{request.reference} ({request.patient.pseudonym}): renewal clinical report "
        f"{report.pk} queued",
        after={"report": report.pk},
    )
    render_enqueue(report)  # BrokerUnavailable rolls the report back: nothing half-made
    return report


def renewal_report_html(report: RenewalReport) -> str:
    request = report.request
    summary = with_outcomes(treated_requests(OffLabelRequest.objects.filter(pk=request.pk))).first()
    events = list(request.adverse_events.select_related("pv_reminder").order_by("onset_on", "pk"))
    context = {
        "report": report,
        "request": request,
        "patient": request.patient,
        "started_on": treatment_started_on(request),
        "summary": summary,
        "best_response_label": Response(summary.best_response).label
        if summary is not None and summary.best_response
        else "",
        "followup": FollowUp.objects.filter(request=request).first(),
        "dispensations": request.dispensations.order_by("cycle"),
        "assessments": request.assessments.order_by("assessed_on", "pk"),
        "events": events,
        "suspected": [e for e in events if e.is_suspected_reaction],
        "generated_at": timezone.now(),
    }
    return render_to_string(TEMPLATE, context)


def renewal_report_render(report_id: int) -> RenewalReport:
    """Render once: a ready report is left as it is, so a second run (a retry, a message
    delivered twice) changes nothing."""

    def stored(report: RenewalReport) -> None:
        audit_record(
            actor=None,
            action=AuditAction.RENEWAL_REPORT_RENDERED,
            target=report.request,
            hospital=report.request.hospital,
            summary=f"{report.request.reference}: renewal clinical report {report.pk} rendered "
            f"({report.pages} pages)",
            after={"report": report.pk, "sha256": report.sha256},
        )

    return pdf_render_once(
        RenewalReport.objects.select_related(
            "request__patient", "request__hospital", "request__prescriber"
        ),
        report_id,
        html=renewal_report_html,
        filename=lambda report: f"renewal-{report.request.reference}-{report.pk}.pdf",
        on_stored=stored,
    )


def renewal_report_download(*, actor: User, report: RenewalReport) -> RenewalReport:
    report = RenewalReport.objects.select_related("request__patient").get(pk=report.pk)
    require_same_hospital(actor, report.request.hospital_id)
    require_role(
        actor,
        Role.PHARMACIST,
        Role.PHYSICIAN,
        Role.HOSPITAL_ADMIN,
        message=gettext("Your role cannot download clinical reports."),
    )
    if report.status != RenewalReport.Status.READY:
        raise ApplicationError(gettext("The report is not rendered yet."))
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.RENEWAL_REPORT_DOWNLOADED,
            target=report.request,
            summary=f"{report.request.reference}: renewal clinical report {report.pk} downloaded",
            after={"report": report.pk, "sha256": report.sha256},
        )
    return report
