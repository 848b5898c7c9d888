"""Pages: the hospital's registry, the Law 648 export, and the follow-up panel of a request
(responses, adverse events, reporting reminders, follow-up record, renewal report)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.roles import Role, roles_of
from accounts.scoping import acting_user
from followup.exports import registry_648_csv
from followup.forms import (
    AdverseEventForm,
    AdverseEventUpdateForm,
    FollowUpForm,
    PvResolveForm,
    RegistryFilterForm,
    RenewalReportForm,
    ResponseAssessmentForm,
    followup_panel_forms,
)
from followup.models import AdverseEvent, PharmacovigilanceReminder, RenewalReport
from followup.report import renewal_report_download, renewal_report_request
from followup.selectors import followup_panel_data, pv_reminders_open, registry_summary
from followup.services import (
    adverse_event_create,
    adverse_event_update,
    followup_update,
    pv_reminder_resolve,
    registry_648_export,
    registry_readable_by,
    response_assessment_create,
)
from followup.statistics import km_svg
from offlabel.exceptions import ApplicationError
from offlabel.forms import form_errors_text
from prescriptions.models import OffLabelRequest
from prescriptions.policies import request_get_visible, requests_visible_to
from signing.views import awaiting_timestamp_response, refuses_unsealed

VIEW_REQUEST = "prescriptions.view_offlabelrequest"


def _back_to_panel(pk: int) -> HttpResponse:
    return redirect(reverse("requests:detail", args=[pk]) + "#followup")


def _problem(exc: ApplicationError | ValidationError) -> str:
    if isinstance(exc, ApplicationError):
        return exc.message
    return " ".join(exc.messages)


# --- Registry ----------------------------------------------------------------------------------


def _registry_user(request: HttpRequest) -> User:
    user = acting_user(request)
    if not registry_readable_by(user):
        raise PermissionDenied(_("The registry is for pharmacists, physicians and administrators."))
    return user


@login_required
def registry_view(request: HttpRequest) -> HttpResponse:
    user = _registry_user(request)
    form = RegistryFilterForm(request.GET or None)
    filters = form.filters()
    assert user.hospital_id is not None  # registry_readable_by checked it
    registry = registry_summary(hospital_id=user.hospital_id, filters=filters)
    context: dict[str, Any] = {
        "form": form,
        "registry": registry,
        # Our own figures drawn by matplotlib: no user text reaches the SVG.
        "km_svg": km_svg(registry.survival) if registry.survival else "",
        "tot_svg": km_svg(
            registry.time_on_treatment,
            title=_("Time on treatment"),
            ylabel=_("Probability of still being on treatment"),
        )
        if registry.time_on_treatment
        else "",
        "reminders": pv_reminders_open(requests_visible_to(user)),
        "resolve_form": PvResolveForm(auto_id="pv-%s"),
        "can_resolve": bool(roles_of(user) & {Role.PHARMACIST, Role.PHYSICIAN}),
        "query": request.GET.urlencode(),
        "now": timezone.now(),
    }
    return render(request, "followup/registry.html", context)


@login_required
def registry_export_648_view(request: HttpRequest) -> HttpResponse:
    user = _registry_user(request)
    filters = RegistryFilterForm(request.GET or None).filters()
    rows = registry_648_export(actor=user, filters=filters)
    time_zone = user.hospital.time_zone if user.hospital else None
    response = HttpResponse(
        registry_648_csv(rows, time_zone), content_type="text/csv; charset=utf-8"
    )
    code = user.hospital.code if user.hospital else "hospital"
    filename = f"law648-followup-{code}-{timezone.localdate():%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- The request's follow-up panel -------------------------------------------------------------


def followup_panel_context(offlabel: OffLabelRequest, user: Any) -> dict[str, Any]:
    """The follow-up panel: the selector's data and, when follow-up is open, its forms."""
    data = followup_panel_data(offlabel, user)
    return {**data, **followup_panel_forms(data.get("fu_record"))} if data["fu_open"] else data


@login_required
@permission_required(VIEW_REQUEST, raise_exception=True)
def panel_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The panel alone: htmx polls it while a renewal report is queued or rendering."""
    offlabel = request_get_visible(request.user, pk)
    return render(
        request, "followup/_panel.html", followup_panel_context(offlabel, acting_user(request))
    )


@login_required
@permission_required(VIEW_REQUEST, raise_exception=True)
def assessment_create_view(request: HttpRequest, pk: int) -> HttpResponse:
    offlabel = request_get_visible(request.user, pk)
    form = ResponseAssessmentForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                response_assessment_create(
                    actor=acting_user(request), request=offlabel, **form.cleaned_data
                )
                messages.success(request, _("Response assessment recorded."))
            except (ApplicationError, ValidationError) as exc:
                messages.error(
                    request, _("Assessment not recorded: %(problem)s") % {"problem": _problem(exc)}
                )
        else:
            messages.error(
                request,
                _("Assessment not recorded: %(problem)s") % {"problem": form_errors_text(form)},
            )
    return _back_to_panel(pk)


@login_required
@permission_required(VIEW_REQUEST, raise_exception=True)
def adverse_event_create_view(request: HttpRequest, pk: int) -> HttpResponse:
    offlabel = request_get_visible(request.user, pk)
    form = AdverseEventForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                event = adverse_event_create(
                    actor=acting_user(request), request=offlabel, **form.cleaned_data
                )
                messages.success(
                    request, _("Adverse event recorded: %(term)s.") % {"term": event.term_label}
                )
                if event.is_suspected_reaction:
                    messages.warning(
                        request,
                        _(
                            "Suspected adverse reaction: a pharmacovigilance reporting reminder "
                            "was raised and the pharmacists were e-mailed."
                        ),
                    )
            except (ApplicationError, ValidationError) as exc:
                messages.error(
                    request,
                    _("Adverse event not recorded: %(problem)s") % {"problem": _problem(exc)},
                )
        else:
            messages.error(
                request,
                _("Adverse event not recorded: %(problem)s") % {"problem": form_errors_text(form)},
            )
    return _back_to_panel(pk)


@login_required
@permission_required(VIEW_REQUEST, raise_exception=True)
def adverse_event_update_view(request: HttpRequest, event_id: int) -> HttpResponse:
    event = get_object_or_404(
        AdverseEvent.objects.filter(request__in=requests_visible_to(request.user)), pk=event_id
    )
    form = AdverseEventUpdateForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                adverse_event_update(
                    actor=acting_user(request), event=event, fields=form.cleaned_data
                )
                messages.success(
                    request, _("Adverse event updated: %(term)s.") % {"term": event.term_label}
                )
            except (ApplicationError, ValidationError) as exc:
                messages.error(
                    request,
                    _("Adverse event not updated: %(problem)s") % {"problem": _problem(exc)},
                )
        else:
            messages.error(
                request,
                _("Adverse event not updated: %(problem)s") % {"problem": form_errors_text(form)},
            )
    return _back_to_panel(event.request_id)


@login_required
@permission_required(VIEW_REQUEST, raise_exception=True)
def followup_update_view(request: HttpRequest, pk: int) -> HttpResponse:
    offlabel = request_get_visible(request.user, pk)
    form = FollowUpForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                followup_update(
                    actor=acting_user(request), request=offlabel, fields=form.cleaned_data
                )
                messages.success(request, _("Follow-up saved."))
            except (ApplicationError, ValidationError) as exc:
                messages.error(
                    request, _("Follow-up not saved: %(problem)s") % {"problem": _problem(exc)}
                )
        else:
            messages.error(
                request, _("Follow-up not saved: %(problem)s") % {"problem": form_errors_text(form)}
            )
    return _back_to_panel(pk)


@login_required
@permission_required(VIEW_REQUEST, raise_exception=True)
def pv_reminder_resolve_view(request: HttpRequest, reminder_id: int) -> HttpResponse:
    reminder = get_object_or_404(
        PharmacovigilanceReminder.objects.filter(
            adverse_event__request__in=requests_visible_to(request.user)
        ).select_related("adverse_event"),
        pk=reminder_id,
    )
    form = PvResolveForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                pv_reminder_resolve(
                    actor=acting_user(request), reminder=reminder, **form.cleaned_data
                )
                messages.success(request, _("Report recorded; the reminder is closed."))
            except (ApplicationError, ValidationError) as exc:
                messages.error(request, _("Not recorded: %(problem)s") % {"problem": _problem(exc)})
        else:
            messages.error(
                request, _("Not recorded: %(problem)s") % {"problem": form_errors_text(form)}
            )
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return redirect(back)
    return _back_to_panel(reminder.adverse_event.request_id)


@login_required
@permission_required(VIEW_REQUEST, raise_exception=True)
def renewal_report_request_view(request: HttpRequest, pk: int) -> HttpResponse:
    offlabel = request_get_visible(request.user, pk)
    form = RenewalReportForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                renewal_report_request(
                    actor=acting_user(request),
                    request=offlabel,
                    conclusion=form.cleaned_data["conclusion"],
                )
                messages.success(
                    request,
                    _("The renewal report is being prepared; this panel updates by itself."),
                )
            except (ApplicationError, ValidationError) as exc:
                messages.error(
                    request, _("Report not prepared: %(problem)s") % {"problem": _problem(exc)}
                )
        else:
            messages.error(
                request, _("Report not prepared: %(problem)s") % {"problem": form_errors_text(form)}
            )
    return _back_to_panel(pk)


@login_required
@permission_required(VIEW_REQUEST, raise_exception=True)
def renewal_report_download_view(request: HttpRequest, report_id: int) -> HttpResponseBase:
    report = get_object_or_404(
        RenewalReport.objects.filter(request__in=requests_visible_to(request.user)),
        pk=report_id,
    )
    if refuses_unsealed(report):  # issue 16: never served unsealed
        return awaiting_timestamp_response(request)
    try:
        report = renewal_report_download(actor=acting_user(request), report=report)
    except ApplicationError:
        raise Http404 from None
    return FileResponse(
        report.file.open("rb"),
        content_type="application/pdf",
        as_attachment=True,
        filename=f"renewal-report-{report.request.reference}-{report.pk}.pdf",
    )
