from __future__ import annotations

from django.db.models import F, QuerySet

from evidence.models import Study


def study_list() -> QuerySet[Study]:
    return Study.objects.prefetch_related("settings", "regimens").order_by(
        F("year").asc(nulls_last=True), "first_author", "reference", "pk"
    )


def study_detail_queryset() -> QuerySet[Study]:
    return Study.objects.prefetch_related(
        "settings", "regimens", "outcomes", "mutation_findings", "safety_findings"
    ).select_related("updated_by")
