"""The project's URLs plus the baselines of the page benchmarks: bare views that read the same
page of 25 rows with one ``.values()`` query and return them as JSON.

They sit behind the same middleware (sessions, authentication, CSRF, audit context) and are
called through the same test client as the real pages, so the ratio measures what the queue
page and the API add: filters, pagination with its count, templates or serializers.
"""

from __future__ import annotations

from django.db.models import F, QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path

from prescriptions.models import OffLabelRequest
from prescriptions.selectors import QUEUE_STATES

PAGE = 25
FIELDS = ("pk", "status", "regimen", "updated_at", "status_changed_at")


def _rows(request: HttpRequest, queryset: QuerySet[OffLabelRequest]) -> HttpResponse:
    hospital_id = getattr(request.user, "hospital_id", None)
    if hospital_id is None:
        return HttpResponse(status=403)
    rows = queryset.filter(hospital_id=hospital_id).values(
        *FIELDS,
        pseudonym=F("patient__pseudonym"),
        prescriber_username=F("prescriber__username"),
    )[:PAGE]
    return JsonResponse({"results": list(rows)})


def bare_queue_view(request: HttpRequest) -> HttpResponse:
    """The queue's first page: waiting states, oldest change first."""
    return _rows(
        request,
        OffLabelRequest.objects.filter(status__in=QUEUE_STATES).order_by("status_changed_at", "pk"),
    )


def bare_list_view(request: HttpRequest) -> HttpResponse:
    """The request list's first page: most recently updated first."""
    return _rows(request, OffLabelRequest.objects.order_by("-updated_at", "-pk"))


urlpatterns = [
    path("bench/bare/queue/", bare_queue_view, name="bench-bare-queue"),
    path("bench/bare/list/", bare_list_view, name="bench-bare-list"),
    path("", include("offlabel.urls")),
]
