"""The project's URLs plus the baselines of the page benchmarks: bare views that read the same
page of 25 rows, with the columns the page or the API shows, in one ``.values()`` query and
return them as JSON.

Each baseline is the query a good engineer would write for that page: the same filter (the
hospital's requests, without the discarded drafts), the same ORDER BY and LIMIT, read in order
from the index the list has (``request_waiting_idx`` for the queue, ``request_recent_idx`` for the
list; ``benchmarks.pages.plan_check`` asserts it with EXPLAIN on PostgreSQL: an index scan, no
sort). What a bare view leaves out is what the page adds: permissions, filters, the count of
the pagination, templates or serializers.

They sit behind the same middleware (sessions, authentication, CSRF, audit context) and are
called through the same test client as the real pages, so the ratio measures what the queue
page and the API add to reading their data.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import F, QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path

from prescriptions.models import OffLabelRequest
from prescriptions.selectors import attachment_count
from prescriptions.services import REQUEST_FIELDS

PAGE = 25
# What a row of the queue page shows, and what the request list API returns of each request.
QUEUE_FIELDS = ("pk", "status", "regimen", "updated_at", "status_changed_at")
QUEUE_RELATED = {
    "pseudonym": F("patient__pseudonym"),
    "prescriber_username": F("prescriber__username"),
    "prescriber_first_name": F("prescriber__first_name"),
    "prescriber_last_name": F("prescriber__last_name"),
}
API_FIELDS = (
    "pk",
    "status",
    "version",
    "patient_id",
    "indication",
    *REQUEST_FIELDS,
    "created_at",
    "updated_at",
    "status_changed_at",
    "submitted_at",
)
API_RELATED = {
    "pseudonym": F("patient__pseudonym"),
    "prescriber_username": F("prescriber__username"),
    "drug_name": F("drug__name"),
}


def bare_queue_rows(hospital_id: int) -> QuerySet[OffLabelRequest, dict[str, object]]:
    """The queue's first page: waiting states, oldest change first."""
    return (
        OffLabelRequest.objects.kept()
        .filter(hospital_id=hospital_id, status__in=OffLabelRequest.QUEUE_STATES)
        .order_by("status_changed_at", "pk")
        .values(*QUEUE_FIELDS, **QUEUE_RELATED, n_attachments=attachment_count())[:PAGE]
    )


def bare_list_rows(hospital_id: int) -> QuerySet[OffLabelRequest, dict[str, object]]:
    """The request list's first page: most recently updated first."""
    return (
        OffLabelRequest.objects.kept()
        .filter(hospital_id=hospital_id)
        .order_by("-updated_at", "-pk")
        .values(*API_FIELDS, **API_RELATED, n_attachments=attachment_count())[:PAGE]
    )


def _rows(
    request: HttpRequest,
    rows: Callable[[int], QuerySet[OffLabelRequest, dict[str, object]]],
) -> HttpResponse:
    hospital_id = getattr(request.user, "hospital_id", None)
    if hospital_id is None:
        return HttpResponse(status=403)
    return JsonResponse({"results": list(rows(hospital_id))})


def bare_queue_view(request: HttpRequest) -> HttpResponse:
    return _rows(request, bare_queue_rows)


def bare_list_view(request: HttpRequest) -> HttpResponse:
    return _rows(request, bare_list_rows)


urlpatterns = [
    path("bench/bare/queue/", bare_queue_view, name="bench-bare-queue"),
    path("bench/bare/list/", bare_list_view, name="bench-bare-list"),
    path("", include("offlabel.urls")),
]
