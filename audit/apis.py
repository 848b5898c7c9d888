from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from rest_framework import viewsets

from audit.models import AuditEvent
from audit.selectors import audit_events_for
from audit.serializers import AuditEventSerializer
from offlabel.permissions import ModelViewPermission


class AuditEventFilter(django_filters.FilterSet):
    action = django_filters.CharFilter()
    object_type = django_filters.CharFilter()
    object_id = django_filters.CharFilter()
    since = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")

    class Meta:
        model = AuditEvent
        fields = ["action", "object_type", "object_id", "since"]


class AuditEventViewSet(viewsets.ReadOnlyModelViewSet[AuditEvent]):
    """The audit trail of the caller's hospital (hospital administrators)."""

    permission_classes = [ModelViewPermission]
    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilter
    lookup_field = "sequence"

    def get_queryset(self) -> QuerySet[AuditEvent]:
        return audit_events_for(self.request.user)
