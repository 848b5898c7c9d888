from __future__ import annotations

from typing import Any

from django.urls import reverse
from rest_framework import serializers

from offlabel.parsers import NOTE_MAX
from regulatory.models import Application, ChecklistItem, Dossier, PathwayVersion, Reminder


class CriterionResultSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    text = serializers.CharField()
    result = serializers.ChoiceField(choices=["met", "not_met", "unknown"])
    because = serializers.CharField()
    confirmed = serializers.BooleanField()
    source = serializers.CharField()  # type: ignore[assignment]  # a data field named like Field.source
    wording = serializers.CharField(allow_blank=True)
    note = serializers.CharField(allow_blank=True)
    verify = serializers.BooleanField()


class AssessmentSerializer(serializers.Serializer[Any]):
    pathway_code = serializers.CharField()
    version = serializers.IntegerField()
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=["applies", "verify", "possible", "not_applicable"])
    recommended = serializers.BooleanField()
    why = serializers.CharField()
    confirmed = serializers.BooleanField()
    unconfirmed_note = serializers.CharField()
    criteria = CriterionResultSerializer(many=True)


class RoutingSerializer(serializers.Serializer[Any]):
    jurisdiction = serializers.CharField()
    assessments = AssessmentSerializer(many=True)


class PathwayChoiceInputSerializer(serializers.Serializer[Any]):
    pathway = serializers.CharField()
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class ChecklistItemSerializer(serializers.ModelSerializer[ChecklistItem]):
    holds = serializers.BooleanField(read_only=True)
    because = serializers.CharField(read_only=True)
    attested_by = serializers.CharField(
        source="attested_by.username", read_only=True, default=None, allow_null=True
    )

    class Meta:
        model = ChecklistItem
        fields = [
            "id",
            "order",
            "code",
            "text",
            "kind",
            "required",
            "attesters",
            "document_type",
            "source",
            "holds",
            "because",
            "attested_by",
            "attested_at",
            "attested_inputs",
            "withdrawn_at",
            "withdrawn_changes",
            "note",
            "document_name",
            "document_sha256",
        ]


class AttestInputSerializer(serializers.Serializer[Any]):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=NOTE_MAX)


class DocumentInputSerializer(serializers.Serializer[Any]):
    document = serializers.FileField()


class ApplicationSerializer(serializers.ModelSerializer[Application]):
    class Meta:
        model = Application
        fields = [
            "id",
            "request",
            "body",
            "application_type",
            "renewal_of",
            "protocol_number",
            "status",
            "prepared_at",
            "submitted_at",
            "acknowledged_at",
            "information_requested_at",
            "answered_at",
            "decided_at",
            "decision_note",
            "valid_from",
            "valid_until",
            "version",
        ]
        read_only_fields = [
            "application_type",
            "status",
            "submitted_at",
            "acknowledged_at",
            "information_requested_at",
            "answered_at",
            "decided_at",
            "decision_note",
            "valid_from",
            "valid_until",
            "version",
        ]


class ApplicationStepInputSerializer(serializers.Serializer[Any]):
    step = serializers.ChoiceField(
        choices=[
            "submit",
            "acknowledge",
            "request_information",
            "answer",
            "grant",
            "deny",
            "withdraw",
        ]
    )
    on = serializers.DateField()
    note = serializers.CharField(required=False, allow_blank=True, default="")
    protocol_number = serializers.CharField(required=False, allow_blank=True, default="")
    valid_from = serializers.DateField(required=False, allow_null=True, default=None)
    valid_until = serializers.DateField(required=False, allow_null=True, default=None)


class ReminderSerializer(serializers.ModelSerializer[Reminder]):
    request = serializers.CharField(source="application.request.reference")
    rule = serializers.CharField(source="rule.code")
    kind = serializers.CharField(source="rule.kind")

    class Meta:
        model = Reminder
        fields = [
            "id",
            "request",
            "application",
            "rule",
            "kind",
            "due_on",
            "message",
            "raised_at",
            "emailed_to",
            "resolved_at",
        ]


class DossierSerializer(serializers.ModelSerializer[Dossier]):
    download_url = serializers.SerializerMethodField(
        help_text="The PDF, once ready: signed-in, permission-checked and audited (never a "
        "/media/ link)."
    )

    class Meta:
        model = Dossier
        fields = ["id", "status", "sha256", "error", "requested_at", "rendered_at", "download_url"]

    def get_download_url(self, obj: Dossier) -> str | None:
        if obj.status != Dossier.Status.READY:
            return None
        return reverse("regulatory:dossier-download", args=[obj.pk])


class PathwayVersionSerializer(serializers.ModelSerializer[PathwayVersion]):
    code = serializers.CharField(source="pathway.code")
    jurisdiction = serializers.CharField(source="pathway.jurisdiction.code")
    order = serializers.IntegerField(source="pathway.order")

    class Meta:
        model = PathwayVersion
        fields = [
            "id",
            "code",
            "jurisdiction",
            "order",
            "version",
            "is_current",
            "name",
            "summary",
            "legal_source",
            "verified_on",
            "confirmed",
            "unconfirmed_note",
            "reimbursement",
            "authorising_body",
            "needs_outside_authorisation",
            "criteria",
            "checklist",
            "change_note",
            "created_at",
        ]
