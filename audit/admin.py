from django.contrib import admin

from audit.models import AuditChainCheck, AuditEvent
from offlabel.admin import ReadOnlyAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """Read-only: the trail is append-only."""

    list_display = [
        "sequence",
        "occurred_at",
        "actor_username",
        "hospital",
        "action",
        "object_type",
        "object_id",
        "summary",
    ]
    list_filter = ["action", "object_type", "hospital"]
    search_fields = ["summary", "actor_username", "object_id"]


@admin.register(AuditChainCheck)
class AuditChainCheckAdmin(ReadOnlyAdmin):
    list_display = ["checked_at", "ok", "events_checked", "first_problem_sequence", "message"]
