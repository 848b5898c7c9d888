from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from evidence.models import Study


@login_required
def home_view(request: HttpRequest) -> HttpResponse:
    context = {
        "study_count": Study.objects.count(),
        "review_study_count": Study.objects.filter(origin=Study.Origin.REVIEW).count(),
    }
    return render(request, "home.html", context)
