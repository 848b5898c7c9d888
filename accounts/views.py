from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


def lockout_response(
    request: HttpRequest, original_response: Any, credentials: Any
) -> HttpResponse:
    """django-axes' lockout page: 429, in the user's language, with the wait in minutes. An API
    client (the token endpoint) gets JSON instead of a page."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"detail": f"Too many failed sign-ins: locked for {minutes} minutes."}, status=429
        )
    return render(request, "registration/locked_out.html", {"minutes": minutes}, status=429)
