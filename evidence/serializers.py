from __future__ import annotations

from rest_framework import serializers

from evidence.models import MutationFinding, Outcome, SafetyFinding, Study, StudyRegimen


class RegimenSerializer(serializers.ModelSerializer[StudyRegimen]):
    class Meta:
        model = StudyRegimen
        fields = ["code", "text", "ven_dose_mg", "partner_dose"]


class OutcomeSerializer(serializers.ModelSerializer[Outcome]):
    class Meta:
        model = Outcome
        fields = [
            "measure",
            "label",
            "population",
            "value",
            "n",
            "denominator",
            "ci",
            "wording",
            "source",
        ]


class MutationFindingSerializer(serializers.ModelSerializer[MutationFinding]):
    class Meta:
        model = MutationFinding
        fields = ["gene", "direction", "effect", "wording", "source"]


class SafetyFindingSerializer(serializers.ModelSerializer[SafetyFinding]):
    class Meta:
        model = SafetyFinding
        fields = ["event", "grade", "percent", "n", "wording", "source"]


class StudyListSerializer(serializers.ModelSerializer[Study]):
    settings: serializers.SlugRelatedField[Study] = serializers.SlugRelatedField(
        many=True, read_only=True, slug_field="tag"
    )
    regimens = RegimenSerializer(many=True, read_only=True)

    class Meta:
        model = Study
        fields = [
            "id",
            "origin",
            "reference",
            "first_author",
            "year",
            "design",
            "n_patients",
            "n_rr_aml",
            "orr_percent",
            "n_rr_ven_treated",
            "orr_rr_percent",
            "cr_cri_rr_percent",
            "rr_exclusion",
            "settings",
            "regimens",
        ]


class StudyDetailSerializer(StudyListSerializer):
    outcomes = OutcomeSerializer(many=True, read_only=True)
    mutation_findings = MutationFindingSerializer(many=True, read_only=True)
    safety = SafetyFindingSerializer(many=True, read_only=True, source="safety_findings")
    text_passages = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta(StudyListSerializer.Meta):
        fields = [
            *StudyListSerializer.Meta.fields,
            "dataset_version",
            "year_note",
            "citation",
            "design_text",
            "age_summary",
            "median_age",
            "population_text",
            "interventions_text",
            "orr_note",
            "n_rr_ven_treated_wording",
            "orr_rr_wording",
            "cr_cri_rr_wording",
            "efficacy_text",
            "safety_text",
            "outcomes",
            "mutation_findings",
            "safety",
            "source_passage",
            "text_passages",
            "notes",
            "updated_at",
        ]
