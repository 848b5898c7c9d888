"""The project's 403 and 500 handlers: the application's pages (templates/403.html, 500.html),
and JSON on API paths like every other API error (``offlabel.api_errors``)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

from offlabel.api_errors import page_not_found
from offlabel.hospital_records import names_record_of_another_hospital


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """403, except on a record of another hospital (or none): that answers the 404 of a record
    that does not exist, so a refusal does not tell that the record exists."""
    if names_record_of_another_hospital(request):
        return page_not_found(request, Http404())
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"detail": "You do not have permission to perform this action."}, status=403
        )
    return defaults.permission_denied(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """No database, no user, no session: they may be what failed (500.html needs none)."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Server error."}, status=500)
    return defaults.server_error(request)
