from django.contrib import admin

from evidence.models import Study
from offlabel.admin import ReadOnlyAdmin


@admin.register(Study)
class StudyAdmin(ReadOnlyAdmin):
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
