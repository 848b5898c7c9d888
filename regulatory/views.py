"""Pages: pathway recommendation, checklist panel, authorisation timeline, due-soon list, rules."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.scoping import acting_user
from offlabel.exceptions import ApplicationError
from offlabel.forms import form_errors_text
from prescriptions.selectors import requests_visible_to
from regulatory.dossier import dossier_request
from regulatory.forms import (
    APPLICATION_STEPS,
    ApplicationCreateForm,
    ApplicationStepForm,
    AttestForm,
    PathwayChoiceForm,
    PathwayVersionForm,
    UploadForm,
)
from regulatory.models import Application, ChecklistItem, Pathway, Reminder
from regulatory.reminders import due_items, reminder_resolve
from regulatory.routing import route
from regulatory.services import (
    application_create,
    application_step,
    checklist_attest,
    checklist_upload,
    pathway_choose,
    pathway_version_edit,
)

VIEW_REQUEST = "prescriptions.view_offlabelrequest"


@login_required
@permission_required(VIEW_REQUEST, raise_exception=True)
def step_pathway_view(request: HttpRequest, pk: int) -> HttpResponse:
    offlabel = get_object_or_404(requests_visible_to(request.user), pk=pk)
    if offlabel.prescriber_id != request.user.pk:
        raise Http404
    form = PathwayChoiceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            pathway_choose(
                actor=acting_user(request),
                request=offlabel,
                pathway_code=form.cleaned_data["pathway"],
                reason=form.cleaned_data["reason"],
            )
            messages.success(request, _("Pathway chosen; its checklist is on the request page."))
            return redirect("requests:step-review", pk=pk)
        except ApplicationError as exc:
            messages.error(request, exc.message)
    from prescriptions.views import STEPS

    context = {
        "steps": STEPS,
        "current_step": "pathway",
        "offlabel": offlabel,
        "routing": route(offlabel),
        "choice": getattr(offlabel, "pathway_choice", None),
        "form": form,
    }
    return render(request, "regulatory/step_pathway.html", context)


@login_required
@permission_required("regulatory.change_checklistitem", raise_exception=True)
def checklist_attest_view(request: HttpRequest, pk: int, item_id: int) -> HttpResponse:
    offlabel = get_object_or_404(requests_visible_to(request.user), pk=pk)
    item = get_object_or_404(ChecklistItem, pk=item_id, request=offlabel)
    form = AttestForm(request.POST)
    if request.method == "POST" and form.is_valid():
        try:
            checklist_attest(actor=acting_user(request), item=item, note=form.cleaned_data["note"])
            messages.success(request, _("Attested: %(item)s") % {"item": item.text})
        except ApplicationError as exc:
            messages.error(request, exc.message)
    return redirect("requests:detail", pk=pk)


@login_required
@permission_required("regulatory.change_checklistitem", raise_exception=True)
def checklist_upload_view(request: HttpRequest, pk: int, item_id: int) -> HttpResponse:
    offlabel = get_object_or_404(requests_visible_to(request.user), pk=pk)
    item = get_object_or_404(ChecklistItem, pk=item_id, request=offlabel)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                checklist_upload(
                    actor=acting_user(request), item=item, upload=form.cleaned_data["document"]
                )
                messages.success(request, _("Uploaded for: %(item)s") % {"item": item.text})
            except ApplicationError as exc:
                messages.error(request, exc.message)
        else:
            messages.error(request, _("Choose a PDF file to upload."))
    return redirect("requests:detail", pk=pk)


@login_required
@permission_required(VIEW_REQUEST, raise_exception=True)
def dossier_request_view(request: HttpRequest, pk: int) -> HttpResponse:
    offlabel = get_object_or_404(requests_visible_to(request.user), pk=pk)
    if request.method == "POST":
        try:
            dossier_request(actor=acting_user(request), request=offlabel)
            messages.success(
                request,
                _("The dossier is being prepared by a background worker; reload in a moment."),
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
    return redirect("requests:detail", pk=pk)


@login_required
@permission_required("regulatory.add_application", raise_exception=True)
def application_create_view(request: HttpRequest, pk: int) -> HttpResponse:
    offlabel = get_object_or_404(requests_visible_to(request.user), pk=pk)
    form = ApplicationCreateForm(request.POST or None)
    form.fields["renewal_of"].queryset = offlabel.applications.filter(status="granted")  # type: ignore[attr-defined]
    if request.method == "POST" and form.is_valid():
        try:
            application_create(
                actor=acting_user(request),
                request=offlabel,
                body=form.cleaned_data["body"],
                prepared_at=form.cleaned_data["prepared_at"],
                protocol_number=form.cleaned_data["protocol_number"],
                renewal_of=form.cleaned_data["renewal_of"],
            )
            messages.success(request, _("Application recorded."))
        except ApplicationError as exc:
            messages.error(request, exc.message)
    elif request.method == "POST":
        messages.error(
            request,
            _("Application not recorded: %(problems)s") % {"problems": form_errors_text(form)},
        )
    return redirect("requests:detail", pk=pk)


@login_required
@permission_required("regulatory.change_application", raise_exception=True)
def application_step_view(request: HttpRequest, pk: int, application_id: int) -> HttpResponse:
    offlabel = get_object_or_404(requests_visible_to(request.user), pk=pk)
    application = get_object_or_404(Application, pk=application_id, request=offlabel)
    form = ApplicationStepForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            application_step(
                actor=acting_user(request),
                application=application,
                step=form.cleaned_data["step"],
                on=form.cleaned_data["on"],
                note=form.cleaned_data["note"],
                protocol_number=form.cleaned_data["protocol_number"],
                valid_until=form.cleaned_data["valid_until"],
            )
            messages.success(
                request,
                _("Application: %(step)s recorded.")
                % {"step": dict(APPLICATION_STEPS)[form.cleaned_data["step"]]},
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
    elif request.method == "POST":
        messages.error(
            request,
            _("Step not recorded: %(problems)s") % {"problems": form_errors_text(form)},
        )
    return redirect("requests:detail", pk=pk)


@login_required
@permission_required("regulatory.view_application", raise_exception=True)
def due_soon_view(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    today = timezone.localdate()
    reminders = (
        Reminder.objects.filter(application__hospital=user.hospital, resolved_at=None)
        .select_related("application__request__patient", "rule")
        .order_by("due_on")
    )
    upcoming = [
        (a, r, d)
        for a, r, d in due_items(today, horizon_days=30)
        if a.hospital_id == user.hospital_id and d > today
    ]
    upcoming.sort(key=lambda t: t[2])
    return render(
        request,
        "regulatory/due_soon.html",
        {
            "reminders": reminders,
            "upcoming": upcoming,
            "today": today,
            "horizon": today + timedelta(days=30),
        },
    )


@login_required
@permission_required("regulatory.change_application", raise_exception=True)
def reminder_resolve_view(request: HttpRequest, reminder_id: int) -> HttpResponse:
    reminder = get_object_or_404(
        Reminder, pk=reminder_id, application__hospital=acting_user(request).hospital
    )
    if request.method == "POST":
        try:
            reminder_resolve(actor=acting_user(request), reminder=reminder)
            messages.success(request, _("Reminder marked done."))
        except ApplicationError as exc:
            messages.error(request, exc.message)
    return redirect("regulatory:due-soon")


@login_required
@permission_required("regulatory.view_pathwayversion", raise_exception=True)
def rules_view(request: HttpRequest) -> HttpResponse:
    pathways = (
        Pathway.objects.select_related("jurisdiction")
        .prefetch_related("versions")
        .order_by("jurisdiction__code", "order")
    )
    return render(request, "regulatory/rules.html", {"pathways": pathways})


@login_required
@permission_required("regulatory.change_pathwayversion", raise_exception=True)
def rule_edit_view(request: HttpRequest, code: str) -> HttpResponse:
    pathway = get_object_or_404(Pathway, code=code)
    current = pathway.versions.get(is_current=True)
    form = PathwayVersionForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        try:
            new = pathway_version_edit(
                actor=acting_user(request),
                pathway=pathway,
                changes=form.changes(),
                change_note=form.cleaned_data["change_note"],
            )
            messages.success(
                request,
                _("Saved as version %(version)s; requests already checked keep theirs.")
                % {"version": new.version},
            )
            return redirect("regulatory:rules")
        except ApplicationError as exc:
            form.add_error(None, exc.message)
    return render(
        request, "regulatory/rule_edit.html", {"form": form, "pathway": pathway, "current": current}
    )
