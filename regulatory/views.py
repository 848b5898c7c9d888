"""Pages: pathway recommendation, checklist panel, authorisation timeline, due-soon list, rules."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.roles import Role, is_rule_steward, roles_of
from accounts.scoping import acting_user
from offlabel.exceptions import ApplicationError
from offlabel.forms import form_errors_text
from offlabel.i18n import localized
from prescriptions.policies import (
    request_get_prescribed,
    request_get_visible,
    requests_visible_to,
    same_hospital,
)
from prescriptions.steps import STEPS
from regulatory.dossier import dossier_download, dossier_request
from regulatory.forms import (
    ApplicationCreateForm,
    ApplicationStepForm,
    AttestForm,
    LocalChecklistItemForm,
    PathwayChoiceForm,
    PreviewForm,
    UploadForm,
)
from regulatory.models import (
    Application,
    ChecklistItem,
    Dossier,
    LocalChecklistItem,
    Pathway,
    Reminder,
)
from regulatory.reminders import due_items, reminder_resolve, reminders_open
from regulatory.routing import route
from regulatory.rule_editor import (
    RoutingPreview,
    RulesEditor,
    data_with_added_row,
    preview_form,
    routing_preview,
)
from regulatory.rules import FACTS
from regulatory.selectors import RULE_NOTICE_DAYS, local_items_of, rule_notices_for
from regulatory.services import (
    APPLICATION_STEPS,
    NationalRulesRefused,
    application_create,
    application_step,
    checklist_attest,
    checklist_upload,
    local_item_add,
    local_item_deactivate,
    pathway_choose,
    pathway_version_edit,
    rule_edit_meaning,
)
from signatures.http import signature_for_page
from signatures.services import signature_scope
from signing.views import awaiting_timestamp_response, refuses_unsealed

VIEW_REQUEST = "prescriptions.view_offlabelrequest"


@login_required
@permission_required(VIEW_REQUEST, raise_exception=True)
def step_pathway_view(request: HttpRequest, pk: int) -> HttpResponse:
    offlabel = request_get_prescribed(request.user, pk)
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
    offlabel = request_get_visible(request.user, pk)
    item = get_object_or_404(ChecklistItem, pk=item_id, request=offlabel)
    form = AttestForm(request.POST)
    if request.method == "POST" and form.is_valid():
        try:
            checklist_attest(actor=acting_user(request), item=item, note=form.cleaned_data["note"])
            messages.success(request, _("Attested: %(item)s") % {"item": localized(item, "text")})
        except ApplicationError as exc:
            messages.error(request, exc.message)
    return redirect("requests:detail", pk=pk)


@login_required
@permission_required("regulatory.change_checklistitem", raise_exception=True)
def checklist_upload_view(request: HttpRequest, pk: int, item_id: int) -> HttpResponse:
    offlabel = request_get_visible(request.user, pk)
    item = get_object_or_404(ChecklistItem, pk=item_id, request=offlabel)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                checklist_upload(
                    actor=acting_user(request), item=item, upload=form.cleaned_data["document"]
                )
                messages.success(
                    request, _("Uploaded for: %(item)s") % {"item": localized(item, "text")}
                )
            except ApplicationError as exc:
                messages.error(request, exc.message)
        else:
            messages.error(request, _("Choose a PDF file to upload."))
    return redirect("requests:detail", pk=pk)


@login_required
@permission_required(VIEW_REQUEST, raise_exception=True)
def dossier_download_view(request: HttpRequest, dossier_id: int) -> HttpResponseBase:
    """The dossier PDF through an authenticated, permission-checked, audited view."""
    dossier = get_object_or_404(
        Dossier.objects.filter(request__in=requests_visible_to(request.user)), pk=dossier_id
    )
    if refuses_unsealed(dossier):  # issue 16: never served unsealed
        return awaiting_timestamp_response(request)
    try:
        dossier = dossier_download(actor=acting_user(request), dossier=dossier)
    except ApplicationError:
        raise Http404 from None
    return FileResponse(
        dossier.file.open("rb"),
        content_type="application/pdf",
        as_attachment=True,
        filename=f"dossier-{dossier.request.reference}-{dossier.pk}.pdf",
    )


@login_required
@permission_required(VIEW_REQUEST, raise_exception=True)
def dossier_request_view(request: HttpRequest, pk: int) -> HttpResponse:
    offlabel = request_get_visible(request.user, pk)
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
    offlabel = request_get_visible(request.user, pk)
    form = ApplicationCreateForm(
        request.POST or None,
        renewable=offlabel.applications.filter(status=Application.Status.GRANTED),
    )
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
    offlabel = request_get_visible(request.user, pk)
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
                % {"step": APPLICATION_STEPS[form.cleaned_data["step"]].label},
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
    # Every open reminder, the pharmacovigilance reports due included (issue 15).
    reminders = reminders_open(user)
    upcoming = [
        (a, r, d)
        for a, r, d in due_items(today, horizon_days=30)
        if same_hospital(user, a.hospital_id) and d > today
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
            "can_record_pv": bool(roles_of(user) & {Role.PHARMACIST, Role.PHYSICIAN}),
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
    pathways = list(
        Pathway.objects.select_related("jurisdiction")
        .prefetch_related("versions")
        .order_by("jurisdiction__code", "order")
    )
    user = acting_user(request)
    local_items: dict[int, list[LocalChecklistItem]] = {}
    for item in local_items_of(user).filter(active=True):
        local_items.setdefault(item.pathway_id, []).append(item)
    may_add_local = user.hospital_id is not None and user.has_perm(
        "regulatory.add_localchecklistitem"
    )
    for pathway in pathways:
        pathway.local_for_hospital = local_items.get(pathway.pk, [])  # type: ignore[attr-defined]
        if may_add_local:  # one form per pathway, with its own element ids
            pathway.local_form = LocalChecklistItemForm(auto_id=f"id_{pathway.code}_%s")  # type: ignore[attr-defined]
    return render(
        request,
        "regulatory/rules.html",
        {
            "pathways": pathways,
            "notices": rule_notices_for(user),
            "notice_days": RULE_NOTICE_DAYS,
            "may_edit_national": is_rule_steward(user),
            "may_add_local": may_add_local,
        },
    )


def _national_rules_refused(request: HttpRequest, pathway: Pathway, message: str) -> HttpResponse:
    # Returned, not raised: ATOMIC_REQUESTS keeps the refusal's audit event.
    return render(
        request,
        "regulatory/rules_refused.html",
        {"pathway": pathway, "message": message},
        status=403,
    )


@login_required
@permission_required("regulatory.view_pathwayversion", raise_exception=True)
def rule_edit_view(request: HttpRequest, code: str) -> HttpResponse:
    """National rules: a steward only. A hospital's officer is refused with 403; a refused
    save (POST) is an audit event, a refused GET writes nothing."""
    pathway = get_object_or_404(Pathway, code=code)
    user = acting_user(request)
    if not is_rule_steward(user):
        if request.method != "POST":
            raise PermissionDenied
        try:
            pathway_version_edit(
                actor=user, pathway=pathway, changes={}, change_note="", via="page"
            )
        except NationalRulesRefused as exc:
            return _national_rules_refused(request, pathway, str(exc))
        raise PermissionDenied  # not reached: a non-steward is always refused
    current = pathway.versions.get(is_current=True)
    editor = RulesEditor(request.POST if request.method == "POST" else None, version=current)
    if request.method == "POST" and editor.is_valid():
        # Editing a national rule is an electronic signature (issue 16), naming the version
        # it creates: the pathway is locked so that number cannot change before the save.
        meaning = rule_edit_meaning(user, pathway)
        proof = signature_for_page(request, meaning)
        if isinstance(proof, HttpResponse):
            return proof
        try:
            with signature_scope(signer=user, proof=proof, meaning=meaning) as signing:
                new = pathway_version_edit(
                    actor=user,
                    pathway=pathway,
                    changes=editor.changes(),
                    change_note=editor.change_note,
                    via="page",
                )
                signing.target = new
            messages.success(
                request,
                _("Saved as version %(version)s; requests already checked keep theirs.")
                % {"version": new.version},
            )
            return redirect("regulatory:rules")
        except ApplicationError as exc:
            editor.add_error(exc.message)
    return _rule_editor_page(request, pathway, editor)


def _rule_editor_page(
    request: HttpRequest,
    pathway: Pathway,
    editor: RulesEditor,
    preview: RoutingPreview | None = None,
    chooser: PreviewForm | None = None,
) -> HttpResponse:
    if chooser is None:
        chooser = preview_form(None, pathway)
    return render(
        request,
        "regulatory/rule_edit.html",
        {
            "editor": editor,
            "form": editor.form,
            "pathway": pathway,
            "current": editor.version,
            "facts": FACTS.values(),
            "preview_form": chooser,
            "preview": preview,
            "preview_refused": request.POST.get("action") == "preview" and preview is None,
        },
    )


@login_required
@permission_required("regulatory.view_pathwayversion", raise_exception=True)
@require_POST
def rule_preview_view(request: HttpRequest, code: str) -> HttpResponse:
    """The rules editor again, from what was typed: with a row added ("add"), or with how the
    proposed version would route recent requests ("preview"). Never writes."""
    pathway = get_object_or_404(Pathway, code=code)
    if not is_rule_steward(acting_user(request)):
        raise PermissionDenied
    data, added = data_with_added_row(request.POST, request.POST.get("add", ""))
    editor = RulesEditor(
        data, version=pathway.versions.get(is_current=True), for_save=False, added=added
    )
    chooser = preview_form(request.POST, pathway)
    preview = None
    if request.POST.get("action") == "preview" and editor.is_valid() and chooser.is_valid():
        preview = routing_preview(
            proposed=editor.proposed_version(), hospital=chooser.cleaned_data["hospital"]
        )
    return _rule_editor_page(request, pathway, editor, preview, chooser)


@login_required
@permission_required("regulatory.add_localchecklistitem", raise_exception=True)
def local_item_add_view(request: HttpRequest, code: str) -> HttpResponse:
    pathway = get_object_or_404(Pathway, code=code)
    if request.method != "POST":
        return redirect("regulatory:rules")
    form = LocalChecklistItemForm(request.POST)
    if form.is_valid():
        try:
            local_item_add(actor=acting_user(request), pathway=pathway, **form.cleaned_data)
            messages.success(
                request,
                _(
                    "Local checklist item added: your hospital's new requests on this pathway "
                    "will need it."
                ),
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
    else:
        messages.error(
            request,
            _("Local item not added: %(problems)s") % {"problems": form_errors_text(form)},
        )
    return redirect("regulatory:rules")


@login_required
@permission_required("regulatory.change_localchecklistitem", raise_exception=True)
def local_item_deactivate_view(request: HttpRequest, item_id: int) -> HttpResponse:
    item = get_object_or_404(local_items_of(request.user), pk=item_id)
    if request.method == "POST":
        try:
            local_item_deactivate(actor=acting_user(request), item=item)
            messages.success(request, _("Local checklist item deactivated for new requests."))
        except ApplicationError as exc:
            messages.error(request, exc.message)
    return redirect("regulatory:rules")
