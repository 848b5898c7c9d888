from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.home import home_for
from evidence.models import Study


@login_required
def home_view(request: HttpRequest) -> HttpResponse:
    """Each role's own home: what waits for it, with counts (``accounts.home``)."""
    context = {
        "home": home_for(request.user),
        "now": timezone.now(),
        "today": timezone.localdate(),
        "study_count": Study.objects.count(),
        "review_study_count": Study.objects.filter(origin=Study.Origin.REVIEW).count(),
    }
    return render(request, "home.html", context)


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
