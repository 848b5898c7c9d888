from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from accounts.scoping import scope_to_hospital
from audit.models import AuditEvent


def audit_events_for(user: Any) -> QuerySet[AuditEvent]:
    return scope_to_hospital(AuditEvent.objects.all(), user).order_by("-sequence")
