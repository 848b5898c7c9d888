from __future__ import annotations

from typing import Any

from rest_framework import serializers

from followup.models import (
    AdverseEvent,
    AeOutcome,
    CtcaeTerm,
    DeathCause,
    EndReason,
    FollowUp,
    Mrd,
    PharmacovigilanceReminder,
    Relation,
    RenewalReport,
    Response,
    ResponseAssessment,
)
from offlabel.parsers import LONG_TEXT_MAX, NOTE_MAX

_RECOVERY_HELP = (
    "Grade 4 neutropenia or thrombocytopenia: the day the count was back to grade <= 2 "
    "(the treatment plan resumes the next cycle from it). Not before the onset, not in the future."
)


class ResponseAssessmentSerializer(serializers.ModelSerializer[ResponseAssessment]):
    reference = serializers.CharField(source="request.reference", read_only=True)
    recorded_by = serializers.CharField(source="recorded_by.username", read_only=True)

    class Meta:
        model = ResponseAssessment
        fields = [
            "id",
            "request",
            "reference",
            "assessed_on",
            "response",
            "mrd",
            "method",
            "note",
            "recorded_by",
            "recorded_at",
        ]
        read_only_fields = fields


class ResponseAssessmentInputSerializer(serializers.Serializer[Any]):
    request = serializers.IntegerField(help_text="Id of a treated request.")
    assessed_on = serializers.DateField()
    response = serializers.ChoiceField(choices=Response.choices)
    mrd = serializers.ChoiceField(choices=Mrd.choices, default=Mrd.NOT_ASSESSED)
    method = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=NOTE_MAX)


class PharmacovigilanceReminderSerializer(serializers.ModelSerializer[PharmacovigilanceReminder]):
    request = serializers.IntegerField(source="adverse_event.request_id", read_only=True)
    reference = serializers.CharField(source="adverse_event.request.reference", read_only=True)
    display_message = serializers.CharField(
        read_only=True,
        help_text="The reminder in the language of the request (Accept-Language); "
        "'message' is the English record.",
    )

    class Meta:
        model = PharmacovigilanceReminder
        fields = [
            "id",
            "adverse_event",
            "request",
            "reference",
            "message",
            "display_message",
            "aware_at",
            "due_at",
            "deadline_hours",
            "deadline_source",
            "deadline_confirmed",
            "emailed_to",
            "raised_at",
            "resolved_at",
            "report_reference",
            "reported_on",
        ]
        read_only_fields = fields


class PvResolveInputSerializer(serializers.Serializer[Any]):
    report_reference = serializers.CharField(max_length=120)
    reported_on = serializers.DateField(required=False, allow_null=True, default=None)


class AdverseEventSerializer(serializers.ModelSerializer[AdverseEvent]):
    reference = serializers.CharField(source="request.reference", read_only=True)
    term_label = serializers.CharField(read_only=True)
    suspected_reaction = serializers.BooleanField(source="is_suspected_reaction", read_only=True)
    pv_reminder = serializers.SerializerMethodField()

    class Meta:
        model = AdverseEvent
        fields = [
            "id",
            "request",
            "reference",
            "term",
            "term_other",
            "term_label",
            "grade",
            "serious",
            "onset_on",
            "resolved_on",
            "recovered_to_grade_2_on",
            "outcome",
            "relation",
            "suspected_reaction",
            "description",
            "recorded_at",
            "pv_reminder",
        ]
        read_only_fields = fields

    def get_pv_reminder(self, obj: AdverseEvent) -> int | None:
        reminder = getattr(obj, "pv_reminder", None)
        return reminder.pk if reminder else None


class AdverseEventInputSerializer(serializers.Serializer[Any]):
    request = serializers.IntegerField(help_text="Id of a treated request.")
    term = serializers.ChoiceField(choices=CtcaeTerm.choices)
    term_other = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    grade = serializers.IntegerField(min_value=1, max_value=5)
    serious = serializers.BooleanField(default=False)
    onset_on = serializers.DateField()
    resolved_on = serializers.DateField(required=False, allow_null=True, default=None)
    recovered_to_grade_2_on = serializers.DateField(
        required=False, allow_null=True, default=None, help_text=_RECOVERY_HELP
    )
    outcome = serializers.ChoiceField(choices=AeOutcome.choices)
    relation = serializers.ChoiceField(choices=Relation.choices)
    description = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=NOTE_MAX
    )
    aware_on = serializers.DateField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Suspected adverse reactions (relation possibly or stronger): the reporting "
        "deadline runs from this day (today if empty).",
    )


class AdverseEventUpdateSerializer(serializers.Serializer[Any]):
    grade = serializers.IntegerField(min_value=1, max_value=5, required=False)
    serious = serializers.BooleanField(required=False)
    outcome = serializers.ChoiceField(choices=AeOutcome.choices, required=False)
    resolved_on = serializers.DateField(required=False, allow_null=True)
    recovered_to_grade_2_on = serializers.DateField(
        required=False, allow_null=True, help_text=_RECOVERY_HELP
    )
    relation = serializers.ChoiceField(choices=Relation.choices, required=False)
    description = serializers.CharField(required=False, allow_blank=True, max_length=NOTE_MAX)
    aware_on = serializers.DateField(required=False, allow_null=True, default=None)


class FollowUpSerializer(serializers.ModelSerializer[FollowUp]):
    reference = serializers.CharField(source="request.reference", read_only=True)
    # Declared: DRF drops allow_blank from read-only model fields, so the schema would not
    # admit the "" an unset reason or cause is.
    treatment_end_reason = serializers.ChoiceField(
        choices=EndReason.choices, allow_blank=True, read_only=True
    )
    death_cause = serializers.ChoiceField(
        choices=DeathCause.choices, allow_blank=True, read_only=True
    )

    class Meta:
        model = FollowUp
        fields = [
            "id",
            "request",
            "reference",
            "transplant_on",
            "treatment_end_on",
            "treatment_end_reason",
            "treatment_end_note",
            "death_on",
            "death_cause",
            "last_contact_on",
            "updated_at",
        ]
        read_only_fields = fields


class FollowUpInputSerializer(serializers.Serializer[Any]):
    """Fields not sent keep their value; null (or "") clears one."""

    request = serializers.IntegerField(help_text="Id of a treated request.")
    transplant_on = serializers.DateField(required=False, allow_null=True)
    treatment_end_on = serializers.DateField(required=False, allow_null=True)
    treatment_end_reason = serializers.ChoiceField(
        choices=EndReason.choices, required=False, allow_blank=True
    )
    treatment_end_note = serializers.CharField(required=False, allow_blank=True, max_length=300)
    death_on = serializers.DateField(required=False, allow_null=True)
    death_cause = serializers.ChoiceField(
        choices=DeathCause.choices, required=False, allow_blank=True
    )
    last_contact_on = serializers.DateField(required=False, allow_null=True)


class RenewalReportSerializer(serializers.ModelSerializer[RenewalReport]):
    reference = serializers.CharField(source="request.reference", read_only=True)

    class Meta:
        model = RenewalReport
        fields = [
            "id",
            "request",
            "reference",
            "conclusion",
            "status",
            "sha256",
            "pages",
            "error",
            "attempts",
            "requested_at",
            "rendered_at",
        ]
        read_only_fields = fields


class RenewalReportInputSerializer(serializers.Serializer[Any]):
    request = serializers.IntegerField(help_text="Id of a treated request.")
    conclusion = serializers.CharField(
        max_length=LONG_TEXT_MAX, help_text="The physician's efficacy and safety summary."
    )
