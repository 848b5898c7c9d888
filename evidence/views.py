from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from accounts.scoping import acting_user
from evidence.filters import StudyFilter
from evidence.forms import StudyForm
from evidence.models import Study
from evidence.selectors import study_detail_queryset, study_list
from evidence.services import study_create, study_update
from offlabel.exceptions import ApplicationError
from offlabel.types import HtmxHttpRequest


@login_required
@permission_required("evidence.view_study", raise_exception=True)
def study_list_view(request: HtmxHttpRequest) -> HttpResponse:
    study_filter = StudyFilter(request.GET or None, queryset=study_list())
    queryset = study_filter.qs if study_filter.is_bound else study_list()
    page = Paginator(queryset, 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"filter": study_filter, "page": page, "query": query.urlencode()}
    template = "evidence/_study_results.html" if request.htmx else "evidence/study_list.html"
    return render(request, template, context)


@login_required
@permission_required("evidence.view_study", raise_exception=True)
def study_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    study = get_object_or_404(study_detail_queryset(), pk=pk)
    return render(request, "evidence/study_detail.html", {"study": study})


def _study_form_view(request: HttpRequest, study: Study | None) -> HttpResponse:
    form = StudyForm(request.POST or None, instance=study)
    if request.method == "POST" and form.is_valid():
        try:
            if study is None:
                saved = study_create(
                    actor=acting_user(request),
                    fields=form.model_fields(),
                    settings_tags=form.cleaned_data["settings_tags"],
                    regimen_codes=form.cleaned_data["regimen_codes"],
                )
                messages.success(request, _("Study %(study)s added.") % {"study": saved})
            else:
                saved = study_update(
                    actor=acting_user(request),
                    study=study,
                    fields=form.model_fields(),
                    settings_tags=form.cleaned_data["settings_tags"],
                    regimen_codes=form.cleaned_data["regimen_codes"],
                )
                messages.success(request, _("Study %(study)s saved.") % {"study": saved})
            return redirect("evidence:study-detail", pk=saved.pk)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
    return render(request, "evidence/study_form.html", {"form": form, "study": study})


@login_required
@permission_required("evidence.add_study", raise_exception=True)
def study_add_view(request: HttpRequest) -> HttpResponse:
    return _study_form_view(request, None)


@login_required
@permission_required("evidence.change_study", raise_exception=True)
def study_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    study = get_object_or_404(Study, pk=pk)
    if study.is_from_review:
        messages.error(
            request,
            _(
                "Studies from the review reproduce the published Table 1 and are read-only; "
                "corrections go through the versioned data file."
            ),
        )
        return redirect("evidence:study-detail", pk=pk)
    return _study_form_view(request, study)
