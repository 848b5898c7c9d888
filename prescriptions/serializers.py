from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from rest_framework import serializers

from offlabel.dates import age_on
from offlabel.parsers import LONG_TEXT_MAX, NOTE_MAX
from offlabel.serializers import FieldsOnceMixin
from prescriptions.models import (
    ConcomitantMedication,
    EvidenceAttachment,
    Gene,
    OffLabelRequest,
    Patient,
    PatientIdentity,
    PatientMutation,
    RequestTransition,
    medication_dates_error,
    minor_age_warning,
)
from prescriptions.profile import PROFILE_FIELDS
from prescriptions.services import MEDICATION_FIELD_NAMES, REQUEST_FIELDS
from prescriptions.workflow import TRANSITIONS
from signatures.http import ReauthenticationFields


class MedicationSerializer(serializers.ModelSerializer[ConcomitantMedication]):
    class Meta:
        model = ConcomitantMedication
        fields = list(MEDICATION_FIELD_NAMES)
        extra_kwargs = {
            "started_on": {"help_text": "ISO date; may be in the future (a planned start)."},
            "stopped_on": {"help_text": "ISO date; not before started_on."},
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        started, stopped = attrs.get("started_on"), attrs.get("stopped_on")
        if started and stopped and stopped < started:
            raise serializers.ValidationError({"stopped_on": [medication_dates_error()]})
        return attrs


class PatientIdentitySerializer(serializers.ModelSerializer[PatientIdentity]):
    """Name, date of birth (not in the future: the model field's validator) and number."""

    warnings = serializers.SerializerMethodField(
        help_text="E.g. a patient under 18: the label is for adults (a warning, not a refusal)."
    )

    class Meta:
        model = PatientIdentity
        fields = ["given_name", "family_name", "date_of_birth", "national_id", "warnings"]

    def get_warnings(self, obj: Any) -> list[str]:
        born = obj.get("date_of_birth") if isinstance(obj, dict) else obj.date_of_birth
        warning = minor_age_warning(age_on(born)) if born else None
        return [warning] if warning else []


class PatientSerializer(serializers.ModelSerializer[Patient]):
    """The pseudonymised record. Identifying data are never part of what it returns: they are
    required when a patient is created (``identity``, write-only) and read or corrected at
    ``/patients/{id}/identity/``."""

    mutations = serializers.DictField(
        child=serializers.ChoiceField(choices=PatientMutation.Status.choices),
        required=False,
        write_only=True,  # read back in to_representation, from the related rows
        help_text="Gene -> present / absent / not_tested, for " + ", ".join(Gene.values),
    )
    medications = MedicationSerializer(many=True, required=False)
    bsa_m2 = serializers.DecimalField(
        max_digits=4,
        decimal_places=2,
        read_only=True,
        allow_null=True,
        help_text="Body surface area (Mosteller); null until weight and height are known.",
    )
    identity = PatientIdentitySerializer(
        write_only=True,
        required=False,  # required on create (validate): corrections go to /identity/
        help_text="Required when creating a patient. A patient of the hospital with the same "
        "number, or name and date of birth, is a 409 listing it in extra.duplicates, unless "
        "confirm_different_person is true.",
    )
    confirm_different_person = serializers.BooleanField(
        write_only=True,
        required=False,
        default=False,
        help_text="The identity matches a recorded patient, and this is another person.",
    )
    warnings = serializers.SerializerMethodField(
        help_text="E.g. a patient under 18: the label is for adults (a warning, not a refusal)."
    )

    class Meta:
        model = Patient
        fields = [
            "id",
            "pseudonym",
            *PROFILE_FIELDS,
            "bsa_m2",
            "mutations",
            "medications",
            "identity",
            "confirm_different_person",
            "warnings",
            "created_at",
        ]
        read_only_fields = ["id", "pseudonym", "created_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is None and not attrs.get("identity"):
            raise serializers.ValidationError(
                {"identity": [gettext("The patient's identifying data are required.")]}
            )
        if self.instance is not None and "identity" in attrs:
            raise serializers.ValidationError(
                {
                    "identity": [
                        gettext("Correct identifying data at /api/v1/patients/{id}/identity/.")
                    ]
                }
            )
        return attrs

    def get_warnings(self, obj: Patient) -> list[str]:
        warning = minor_age_warning(obj.age_years)
        return [warning] if warning else []

    def to_representation(self, instance: Patient) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["mutations"] = {m.gene: m.status for m in instance.mutations.all()}
        return data


class RequestSerializer(FieldsOnceMixin, serializers.ModelSerializer[OffLabelRequest]):
    reference = serializers.CharField(read_only=True)
    patient_pseudonym = serializers.CharField(source="patient.pseudonym", read_only=True)
    prescriber = serializers.CharField(source="prescriber.username", read_only=True)
    drug = serializers.CharField(source="drug.name", read_only=True)
    n_attachments = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = OffLabelRequest
        fields = [
            "id",
            "reference",
            "status",
            "version",
            "patient",
            "patient_pseudonym",
            "prescriber",
            "drug",
            "indication",
            *REQUEST_FIELDS,
            "n_attachments",
            "created_at",
            "updated_at",
            "status_changed_at",
            "submitted_at",
        ]
        read_only_fields = ["status", "version", "indication"]
        extra_kwargs = {
            "clinical_rationale": {"max_length": LONG_TEXT_MAX},
            "lay_summary": {"max_length": LONG_TEXT_MAX},
        }


class AttachmentSerializer(serializers.ModelSerializer[EvidenceAttachment]):
    attached_by = serializers.CharField(source="attached_by.username", read_only=True)

    class Meta:
        model = EvidenceAttachment
        fields = [
            "id",
            "study",
            "note",
            "snapshot",
            "rank_when_attached",
            "reasons_when_attached",
            "attached_by",
            "attached_at",
        ]
        read_only_fields = ["snapshot", "rank_when_attached", "reasons_when_attached"]
        extra_kwargs = {"note": {"max_length": 1000}}  # as on the page (AttachForm)


class TransitionSerializer(serializers.ModelSerializer[RequestTransition]):
    actor = serializers.CharField(source="actor.username")

    class Meta:
        model = RequestTransition
        fields = ["from_status", "to_status", "actor", "reason", "occurred_at"]


class TransitionInputSerializer(ReauthenticationFields):
    """``reauth_password``/``reauth_code``: approve, reject and withdraw only (signatures)."""

    transition = serializers.ChoiceField(choices=sorted(TRANSITIONS))
    reason = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=NOTE_MAX
    )
    version = serializers.IntegerField(
        required=False,
        help_text="The version you saw; a different current version is a 409 conflict.",
    )


class DiscardInputSerializer(serializers.Serializer[Any]):
    version = serializers.IntegerField(
        required=False,
        help_text="The version you saw; a different current version is a 409 conflict.",
    )


class SuggestionSerializer(serializers.Serializer[Any]):
    rank = serializers.IntegerField()
    score = serializers.FloatField()
    study = serializers.IntegerField(source="study.pk")
    reference = serializers.IntegerField(source="study.reference", allow_null=True)
    first_author = serializers.CharField(source="study.first_author")
    year = serializers.IntegerField(source="study.year", allow_null=True)
    design = serializers.CharField(source="study.design")
    n_patients = serializers.IntegerField(source="study.n_patients")
    reasons = serializers.ListField(child=serializers.CharField())


class PopulationFigureSerializer(serializers.Serializer[Any]):
    study = serializers.CharField()
    reference = serializers.IntegerField(allow_null=True)
    value = serializers.DecimalField(max_digits=5, decimal_places=1)
    n = serializers.IntegerField(help_text="VEN-treated R/R patients behind the figure.")
    population = serializers.CharField()
    wording = serializers.CharField()


class PopulationRangeSerializer(serializers.Serializer[Any]):
    range = serializers.ListField(
        child=serializers.DecimalField(max_digits=5, decimal_places=1), allow_null=True
    )
    figures = PopulationFigureSerializer(many=True)
    n_studies = serializers.IntegerField()
    n_patients = serializers.IntegerField()
    population = serializers.CharField()


class ExcludedStudySerializer(serializers.Serializer[Any]):
    study = serializers.CharField()
    reference = serializers.IntegerField(allow_null=True)
    reason_code = serializers.CharField()
    reason = serializers.CharField()


class RRResponseSerializer(serializers.Serializer[Any]):
    orr = PopulationRangeSerializer()
    cr_cri = PopulationRangeSerializer()
    excluded = ExcludedStudySerializer(many=True)


class EvidenceSummarySerializer(serializers.Serializer[Any]):
    n_studies = serializers.IntegerField()
    n_patients = serializers.IntegerField(
        help_text="VEN-treated R/R patients behind the R/R ORR range."
    )
    orr_range = serializers.ListField(
        child=serializers.DecimalField(max_digits=5, decimal_places=1), allow_null=True
    )
    orr_population = serializers.CharField()
    cr_cri_range = serializers.ListField(
        child=serializers.DecimalField(max_digits=5, decimal_places=1), allow_null=True
    )
    cr_cri_population = serializers.CharField()
    highest_design = serializers.CharField(allow_null=True)
    sentence = serializers.CharField()
    excluded = ExcludedStudySerializer(many=True)
    rr = RRResponseSerializer()
