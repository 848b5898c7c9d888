from rest_framework import serializers

from audit.models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer[AuditEvent]):
    class Meta:
        model = AuditEvent
        fields = [
            "sequence",
            "occurred_at",
            "actor_username",
            "hospital",
            "action",
            "object_type",
            "object_id",
            "summary",
            "before",
            "after",
            "ip_address",
            "previous_hash",
            "event_hash",
        ]
