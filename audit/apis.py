from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django_filters.fields import IsoDateTimeField
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets

from audit.actions import AuditAction
from audit.models import AuditEvent
from audit.selectors import audit_events_for
from audit.serializers import AuditEventSerializer
from offlabel.api_errors import responses
from offlabel.permissions import ModelViewPermission
from offlabel.viewsets import ListFiltersOnlyMixin


class UtcDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time, handed to the database in UTC.

    Python takes offsets up to ±23:59, PostgreSQL only to ±15:59 (+21:01 was a 500 there);
    and 0001-01-01T00:00+12:00, or a naive year-1 time in Rome, falls before year 1 in UTC."""

    def to_python(self, value: Any) -> datetime | None:
        parsed: datetime | None = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            raise ValidationError(
                "Enter a date and time between the years 1 and 9999 (UTC).", code="invalid"
            ) from None


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


class AuditEventFilter(django_filters.FilterSet):
    # One action exactly; a value the enum does not list is a 400, as other invalid filters are.
    action = django_filters.ChoiceFilter(choices=AuditAction.choices)
    object_type = django_filters.CharFilter()
    object_id = django_filters.CharFilter()
    since = UtcDateTimeFilter(field_name="occurred_at", lookup_expr="gte")

    class Meta:
        model = AuditEvent
        fields = ["action", "object_type", "object_id", "since"]


@extend_schema_view(
    list=extend_schema(responses=responses(AuditEventSerializer(many=True), 400, 404)),
    retrieve=extend_schema(responses=responses(AuditEventSerializer, 404)),
)
class AuditEventViewSet(ListFiltersOnlyMixin, viewsets.ReadOnlyModelViewSet[AuditEvent]):
    """The audit trail of the caller's hospital (hospital administrators)."""

    permission_classes = [ModelViewPermission]
    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilter
    lookup_field = "sequence"

    def get_queryset(self) -> QuerySet[AuditEvent]:
        return audit_events_for(self.request.user)
