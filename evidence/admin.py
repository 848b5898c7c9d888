from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from evidence.models import Study


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin[Study]):
    """Browse only: edits go through the audited pages, so the admin cannot change studies."""

    list_display = [
        "first_author",
        "year",
        "reference",
        "design",
        "n_patients",
        "orr_percent",
        "origin",
    ]
    list_filter = ["origin", "design"]
    search_fields = ["first_author", "interventions_text"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
