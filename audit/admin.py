from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from audit.models import AuditChainCheck, AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin[AuditEvent]):
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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditChainCheck)
class AuditChainCheckAdmin(admin.ModelAdmin[AuditChainCheck]):
    list_display = ["checked_at", "ok", "events_checked", "first_problem_sequence", "message"]
