"""What the API's viewsets share."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet


class ListFiltersOnlyMixin:
    """Query-string filters and ordering narrow the list, nothing else.

    DRF applies them in ``get_object()`` too, so ``/requests/5/?status=draft`` would be a 404
    for a submitted request, and ``/requests/5/history/?status=x`` an undocumented 400."""

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if getattr(self, "action", None) != "list":
            return queryset
        return super().filter_queryset(queryset)  # type: ignore[misc]
