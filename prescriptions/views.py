"""Pages: physician dashboard, the four-step request form, pharmacist queue, request detail."""

from __future__ import annotations

import functools
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.roles import Role
from accounts.scoping import acting_user
from evidence.models import Study
from offlabel.api_errors import page_not_found
from offlabel.dates import age_on
from offlabel.exceptions import ApplicationError, ConflictError, NotVisible
from prescriptions.apis import RequestFilter
from prescriptions.forms import (
    AttachForm,
    DuplicateChoiceForm,
    IdentityForm,
    PatientProfileForm,
    RegimenForm,
    known_interactions,
    profile_age_check,
)
from prescriptions.models import OffLabelRequest, minor_age_warning
from prescriptions.policies import (
    acts_as_prescriber,
    patients_visible_to,
    request_get_prescribed,
    request_get_visible,
    requests_visible_to,
)
from prescriptions.profile import profile_missing
from prescriptions.selectors import (
    PatientMatch,
    changes_requested_last,
    dashboard_counts,
    evidence_summary,
    list_rows,
    patient_consent_forms_open,
    patient_consent_forms_superseded_since,
    patient_picker,
    pharmacy_queue,
    request_list,
    request_suggestions,
    request_timeline,
)
from prescriptions.services import (
    DuplicatePatient,
    evidence_attach,
    evidence_detach,
    identity_may_correct,
    patient_create,
    patient_identity_read,
    patient_identity_set,
    patient_picker_audit,
    patient_treating_physician_join,
    patient_update,
    request_create,
    request_discard,
    request_transition,
    request_update,
)
from prescriptions.steps import STEPS
from prescriptions.workflow import TRANSITIONS, requirements_unmet, transitions_available
from signatures.http import signature_for_page
from signatures.services import signature_scope_optional, transition_meaning

VIEW_REQUEST = "prescriptions.view_offlabelrequest"


def _step_context(offlabel: OffLabelRequest | None, current: str) -> dict[str, Any]:
    return {
        "steps": STEPS,
        "current_step": current,
        "offlabel": offlabel,
        # What the pharmacy asked to change, above every step while the physician edits.
        "changes_requested": changes_requested_last(offlabel) if offlabel else None,
    }


@login_required
@permission_required(VIEW_REQUEST, raise_exception=True)
def dashboard_view(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    counts = dashboard_counts(user)
    mine = list_rows(request_list(user).filter(prescriber=user))
    waiting_for_me = OffLabelRequest.EDITABLE_STATES
    context = {
        "counts": [(s, counts.get(s.value, 0)) for s in OffLabelRequest.Status],
        "waiting_for_me": mine.filter(status__in=waiting_for_me).order_by("-updated_at")[:20],
        "recent": mine.exclude(status__in=waiting_for_me).order_by("-updated_at")[:20],
        "queue_size": pharmacy_queue(user).count() if user.has_role(Role.PHARMACIST) else None,
    }
    return render(request, "prescriptions/dashboard.html", context)


def _filter_labelled(request_filter: RequestFilter) -> RequestFilter:
    """The filter set is the API's, and django-filter keeps the first label it derives from the
    model: the page names its fields in the interface language itself."""
    labels = {
        name: capfirst(str(getattr(OffLabelRequest._meta.get_field(name), "verbose_name", name)))
        for name in ("status", "regimen", "jurisdiction")
    }
    labels["q"] = _("Pseudonym or reference")
    for name, label in labels.items():
        request_filter.form.fields[name].label = label
    return request_filter


@functools.lru_cache(maxsize=len(settings.LANGUAGES) + 1)
def _filter_fields_unbound(language: str | None) -> str:
    """The filter's fields, empty, in one language: rendered once per process (their choices are
    the model's, fixed in the code), so a list page does not render 20 widgets every time."""
    with translation.override(language):
        empty = RequestFilter(None, queryset=OffLabelRequest.objects.none())
        return render_to_string(
            "prescriptions/_request_filter_fields.html", {"filter": _filter_labelled(empty)}
        )


@login_required
@permission_required(VIEW_REQUEST, raise_exception=True)
def request_list_view(request: HttpRequest, queue: bool = False) -> HttpResponse:
    user = acting_user(request)
    base = list_rows(
        pharmacy_queue(user) if queue else request_list(user).order_by("-updated_at", "-pk")
    )
    request_filter = _filter_labelled(RequestFilter(request.GET or None, queryset=base))
    rows = request_filter.qs if request_filter.is_bound and request_filter.is_valid() else base
    page = Paginator(rows, 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "filter": request_filter,
        # Unfiltered, the form's markup is the same for everyone reading this language.
        "filter_fields": None
        if request_filter.is_bound
        else _filter_fields_unbound(translation.get_language()),
        "page": page,
        "query": query.urlencode(),
        "queue": queue,
        "now": timezone.now(),
    }
    return render(request, "prescriptions/request_list.html", context)


def _draft_started(request: HttpRequest, offlabel: OffLabelRequest) -> HttpResponse:
    messages.success(
        request,
        _("Draft %(reference)s started for %(pseudonym)s.")
        % {"reference": offlabel.reference, "pseudonym": offlabel.patient.pseudonym},
    )
    return redirect("requests:step-patient", pk=offlabel.pk)


def _age_warning(request: HttpRequest, age_years: int | None) -> None:
    if warning := minor_age_warning(age_years):
        messages.warning(request, warning)


def _new_patient_save(
    request: HttpRequest,
    form: PatientProfileForm,
    identity_form: IdentityForm,
    choice: DuplicateChoiceForm,
) -> HttpResponse | list[PatientMatch]:
    """Save step 1's new patient and draft, or use the already recorded patient the user chose;
    the patients to offer when the identity matches one already recorded."""
    user = acting_user(request)
    identity = identity_form.cleaned_data
    try:
        with transaction.atomic():
            if use := choice.cleaned_data.get("use_patient"):
                patient = patient_treating_physician_join(
                    actor=user, patient_id=use, identity=identity
                )
                offlabel = request_create(actor=user, patient=patient)
                messages.info(
                    request,
                    _(
                        "%(pseudonym)s was already recorded: its profile is kept as it was. "
                        "Check it on this step."
                    )
                    % {"pseudonym": patient.pseudonym},
                )
                return _draft_started(request, offlabel)
            patient = patient_create(
                actor=user,
                profile=form.profile(),
                mutations=form.mutations(),
                medications=form.medications(),
                identity=identity,
                check_duplicates=True,
                confirm_different_person=bool(choice.cleaned_data.get("confirm_new")),
            )
            offlabel = request_create(actor=user, patient=patient)
    except DuplicatePatient as exc:
        return exc.matches
    except NotVisible:
        form.add_error(None, _("That patient does not match the identity entered."))
        return []
    except ApplicationError as exc:
        form.add_error(None, exc.message)
        return []
    messages.success(
        request,
        _("Patient %(pseudonym)s and draft %(reference)s saved.")
        % {"pseudonym": patient.pseudonym, "reference": offlabel.reference},
    )
    _age_warning(request, patient.age_years)
    return redirect("requests:step-regimen", pk=offlabel.pk)


@login_required
@permission_required("prescriptions.add_offlabelrequest", raise_exception=True)
def request_new_view(request: HttpRequest) -> HttpResponse:
    """Step 1: choose one of my patients, or describe a new one with identifying data.

    A patient of the hospital with the same number, or name and date of birth, is offered
    instead of a second record (the browser's Back button resubmits the same person); the user
    uses that patient or confirms a different person. Picking a patient who already has the
    user's unsent draft offers that draft before starting another."""
    user = acting_user(request)
    picker = patient_picker(user)
    existing = request.POST.get("existing_patient") if request.method == "POST" else None
    # The new-patient form is bound only when it was the one sent (not the picker's).
    new_patient = request.POST if request.method == "POST" and not existing else None
    form = PatientProfileForm(new_patient)
    identity_form = IdentityForm(new_patient, prefix="identity")
    choice = DuplicateChoiceForm(new_patient)
    matches: list[PatientMatch] = []
    open_draft: OffLabelRequest | None = None
    if request.method == "POST":
        if existing:
            if not (existing.isascii() and existing.isdigit()):
                raise Http404
            patient = get_object_or_404(patients_visible_to(user), pk=int(existing))
            open_draft = (
                requests_visible_to(user)
                .filter(patient=patient, prescriber=user, status=OffLabelRequest.Status.DRAFT)
                .order_by("-created_at")
                .first()
            )
            if open_draft is None or request.POST.get("confirm_another"):
                return _draft_started(request, request_create(actor=user, patient=patient))
        elif form.is_valid() and identity_form.is_valid() and choice.is_valid():
            age_mismatch = profile_age_check(form, identity_form)
            outcome = _new_patient_save(request, form, identity_form, choice)
            if isinstance(outcome, HttpResponse):
                if age_mismatch:
                    messages.warning(request, age_mismatch)
                return outcome
            matches = outcome
    patient_picker_audit(actor=user, rows=picker)
    age = form.cleaned_data.get("age_years") if form.is_bound and form.is_valid() else None
    context = {
        **_step_context(None, "patient"),
        "form": form,
        "identity_form": identity_form,
        "picker": picker,
        "matches": matches,
        "open_draft": open_draft,
        "age_warning": minor_age_warning(age),
        "known_drugs": list(known_interactions()),
    }
    return render(request, "prescriptions/step_patient.html", context)


@login_required
@permission_required("prescriptions.change_patient", raise_exception=True)
def step_patient_view(request: HttpRequest, pk: int) -> HttpResponse:
    offlabel = request_get_prescribed(request.user, pk)
    form = PatientProfileForm(request.POST or None, instance=offlabel.patient)
    if request.method == "POST" and form.is_valid():
        try:
            patient_update(
                actor=acting_user(request),
                patient=offlabel.patient,
                profile=form.profile(),
                mutations=form.mutations(),
                medications=form.medications(),
            )
            messages.success(request, _("Patient profile saved."))
            _age_warning(request, form.cleaned_data.get("age_years"))
            return redirect("requests:step-regimen", pk=pk)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
    context = {
        **_step_context(offlabel, "patient"),
        "form": form,
        "known_drugs": list(known_interactions()),
        "missing": profile_missing(offlabel.patient),
        "age_warning": minor_age_warning(offlabel.patient.age_years),
        "may_correct_identity": identity_may_correct(acting_user(request), offlabel.patient),
    }
    return render(request, "prescriptions/step_patient.html", context)


@login_required
@permission_required("prescriptions.change_offlabelrequest", raise_exception=True)
def step_regimen_view(request: HttpRequest, pk: int) -> HttpResponse:
    offlabel = request_get_prescribed(request.user, pk)
    form = RegimenForm(
        request.POST or None, instance=offlabel, initial={"version": offlabel.version}
    )
    if request.method == "POST" and form.is_valid():
        try:
            request_update(
                actor=acting_user(request),
                request=offlabel,
                fields=form.request_fields(),
                expected_version=form.cleaned_data.get("version"),
            )
            messages.success(request, _("Regimen saved."))
            return redirect("requests:step-evidence", pk=pk)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
    return render(
        request,
        "prescriptions/step_regimen.html",
        {**_step_context(offlabel, "regimen"), "form": form},
    )


@login_required
@permission_required(VIEW_REQUEST, raise_exception=True)
def step_evidence_view(request: HttpRequest, pk: int) -> HttpResponse:
    offlabel = request_get_prescribed(request.user, pk)
    attached_ids = set(offlabel.attachments.values_list("study_id", flat=True))
    suggestions = request_suggestions(offlabel)
    show_all = request.GET.get("all") == "1"
    context = {
        **_step_context(offlabel, "evidence"),
        "suggestions": suggestions if show_all else suggestions[:12],
        "n_suggestions": len(suggestions),
        "show_all": show_all,
        "attached_ids": attached_ids,
        "attachments": offlabel.attachments.select_related("attached_by"),
        "summary": evidence_summary(offlabel),
    }
    template = (
        "prescriptions/_evidence_panel.html"
        if getattr(request, "htmx", False)
        else "prescriptions/step_evidence.html"
    )
    return render(request, template, context)


@login_required
@permission_required("prescriptions.change_offlabelrequest", raise_exception=True)
def attachment_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    offlabel = request_get_prescribed(request.user, pk)
    form = AttachForm(request.POST)
    if request.method == "POST" and form.is_valid():
        study = get_object_or_404(Study, pk=form.cleaned_data["study"])
        ranked = {s.study.pk: s for s in request_suggestions(offlabel)}
        suggestion = ranked.get(study.pk)
        try:
            evidence_attach(
                actor=acting_user(request),
                request=offlabel,
                study=study,
                note=form.cleaned_data["note"],
                rank=suggestion.rank if suggestion else None,
                reasons=list(suggestion.reasons) if suggestion else None,
            )
            messages.success(request, _("%(study)s attached.") % {"study": study})
        except ApplicationError as exc:
            messages.error(request, exc.message)
    return _back_to_evidence(request, pk)


@login_required
@permission_required("prescriptions.change_offlabelrequest", raise_exception=True)
def attachment_remove_view(request: HttpRequest, pk: int, attachment_id: int) -> HttpResponse:
    offlabel = request_get_prescribed(request.user, pk)
    attachment = get_object_or_404(offlabel.attachments, pk=attachment_id)
    if request.method == "POST":
        try:
            evidence_detach(actor=acting_user(request), attachment=attachment)
            messages.success(request, _("%(study)s removed.") % {"study": attachment})
        except ApplicationError as exc:
            messages.error(request, exc.message)
    return _back_to_evidence(request, pk)


def _back_to_evidence(request: HttpRequest, pk: int) -> HttpResponse:
    if getattr(request, "htmx", False):
        return step_evidence_view(request, pk)  # re-render the panel in place
    return redirect("requests:step-evidence", pk=pk)


@login_required
@permission_required(VIEW_REQUEST, raise_exception=True)
def step_review_view(request: HttpRequest, pk: int) -> HttpResponse:
    offlabel = request_get_prescribed(request.user, pk)
    transition = (
        "resubmit" if offlabel.status == OffLabelRequest.Status.CHANGES_REQUESTED else "submit"
    )
    context = {
        **_step_context(offlabel, "review"),
        "unmet": requirements_unmet(offlabel, transition) if offlabel.is_editable() else [],
        "transition": TRANSITIONS[transition],
        "summary": evidence_summary(offlabel),
        "attachments": offlabel.attachments.all(),
    }
    return render(request, "prescriptions/step_review.html", context)


@login_required
@permission_required(VIEW_REQUEST, raise_exception=True)
def request_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    offlabel = request_get_visible(request.user, pk)
    user = acting_user(request)
    context = {
        "offlabel": offlabel,
        "patient": offlabel.patient,
        "mutations": offlabel.patient.mutations.all(),
        "medications": offlabel.patient.medications.all(),
        "attachments": offlabel.attachments.select_related("attached_by"),
        "summary": evidence_summary(offlabel),
        "timeline": request_timeline(offlabel).select_related("actor"),
        "actions": transitions_available(offlabel, user),
        "changes_requested": changes_requested_last(offlabel),
        "can_read_identity": user.has_role(Role.PHARMACIST)
        or offlabel.patient.treating_physicians.filter(pk=user.pk).exists(),
        "may_correct_identity": identity_may_correct(user, offlabel.patient),
    }
    return render(request, "prescriptions/request_detail.html", context)


@login_required
@permission_required("prescriptions.change_offlabelrequest", raise_exception=True)
def request_transition_view(request: HttpRequest, pk: int) -> HttpResponse:
    offlabel = request_get_visible(request.user, pk)
    if request.method != "POST":
        return redirect("requests:detail", pk=pk)
    version = request.POST.get("version")
    user = acting_user(request)
    transition = request.POST.get("transition", "")
    # Approve, reject and withdraw are electronic signatures (issue 16).
    meaning = transition_meaning(transition, user)
    proof = signature_for_page(request, meaning) if meaning is not None else None
    if isinstance(proof, HttpResponse):
        return proof
    try:
        with signature_scope_optional(
            signer=user, proof=proof, meaning=meaning, request=offlabel
        ) as signing:
            updated = request_transition(
                actor=user,
                request=offlabel,
                transition=transition,
                reason=request.POST.get("reason", ""),
                expected_version=int(version)
                if version and version.isascii() and version.isdigit()
                else None,
            )
            signing.target = updated
        messages.success(
            request,
            _("%(reference)s is now '%(status)s'.")
            % {"reference": updated.reference, "status": updated.get_status_display()},
        )
    except ConflictError as exc:
        messages.warning(request, exc.message)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        if offlabel.is_editable() and acts_as_prescriber(user, offlabel):
            return redirect("requests:step-review", pk=pk)
    if request.POST.get("back") == "pharmacy":  # taken on the pharmacy page, beside the findings
        return redirect("pharmacy:request", pk=pk)
    return redirect("requests:detail", pk=pk)


@login_required
def patient_identity_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Every role reaches the service, which records each read and each refusal; a refusal
    is answered (404, as for a patient that does not exist), not raised, so that its audit
    event is committed with the request."""
    user = acting_user(request)
    read = patient_identity_read(actor=user, patient_id=pk, purpose="page")
    if not read.allowed or read.patient is None:
        return page_not_found(request, Http404())
    return render(
        request,
        "prescriptions/patient_identity.html",
        {
            "patient": read.patient,
            "identity": read.identity,
            "back": _back_url(request),
            "may_correct": identity_may_correct(user, read.patient),
            "age": age_on(read.identity.date_of_birth) if read.identity else None,
            "age_warning": minor_age_warning(age_on(read.identity.date_of_birth))
            if read.identity
            else None,
        },
    )


@login_required
def patient_identity_correct_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A treating physician records or corrects the identifying data on a page (audited by
    field name); the consent forms that carried the old identity are superseded. Anyone else
    gets the same 404 as for a patient that does not exist, and the attempt is audited."""
    user = acting_user(request)
    read = patient_identity_read(actor=user, patient_id=pk, purpose="correction")
    if not read.allowed or read.patient is None or not identity_may_correct(user, read.patient):
        return page_not_found(request, Http404())
    patient = read.patient
    form = IdentityForm(request.POST or None, instance=read.identity)
    if request.method == "POST" and form.is_valid():
        started = timezone.now()
        try:
            changed = patient_identity_set(actor=user, patient=patient, identity=form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(exc.extra.get("field") or None, exc.message)
        else:
            if not changed:
                messages.info(request, _("Nothing changed."))
            else:
                messages.success(
                    request, _("Identifying data saved (recorded in the audit trail).")
                )
                superseded = patient_consent_forms_superseded_since(patient, started)
                if superseded:
                    messages.warning(
                        request,
                        ngettext(
                            "%(n)s consent form carried the old identity: it is superseded. "
                            "Prepare the form again and have it signed.",
                            "%(n)s consent forms carried the old identity: they are superseded. "
                            "Prepare the form again and have it signed.",
                            superseded,
                        )
                        % {"n": superseded},
                    )
            _age_warning(request, age_on(form.cleaned_data["date_of_birth"]))
            return redirect(_back_url(request))
    return render(
        request,
        "prescriptions/patient_identity_correct.html",
        {
            "patient": patient,
            "identity": read.identity,
            "form": form,
            "back": _back_url(request),
            "open_consents": patient_consent_forms_open(patient),
        },
    )


@login_required
@permission_required("prescriptions.change_offlabelrequest", raise_exception=True)
def request_discard_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The prescriber discards a never-submitted draft (kept and audited, shown nowhere)."""
    offlabel = request_get_prescribed(request.user, pk)
    if request.method != "POST":
        return redirect("requests:detail", pk=pk)
    version = request.POST.get("version", "")
    try:
        request_discard(
            actor=acting_user(request),
            request=offlabel,
            expected_version=int(version) if version.isascii() and version.isdigit() else None,
        )
    except ConflictError as exc:
        messages.warning(request, exc.message)
        return redirect("requests:detail", pk=pk)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("requests:detail", pk=pk)
    messages.success(
        request, _("Draft %(reference)s discarded.") % {"reference": offlabel.reference}
    )
    return redirect("requests:dashboard")


def _back_url(request: HttpRequest) -> str:
    """The ``back`` link: a page of this site only, never another host or a ``javascript:``
    URL (an open redirect someone could mail to a colleague)."""
    back = request.GET.get("back", "")
    if back and url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return back
    return reverse("requests:dashboard")
