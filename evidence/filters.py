"""One FilterSet for the study list page and the API, so both filter the same way."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from evidence.models import Design, RegimenCode, SettingTag, Study


class StudyFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_search", label=_("Search"))
    regimen = django_filters.ChoiceFilter(
        field_name="regimens__code",
        choices=RegimenCode.choices,
        label=_("Regimen"),
        empty_label=_("Any"),
        distinct=True,
    )
    setting = django_filters.ChoiceFilter(
        field_name="settings__tag",
        choices=SettingTag.choices,
        label=_("Setting"),
        empty_label=_("Any"),
        distinct=True,
    )
    design = django_filters.ChoiceFilter(
        label=_("Design"), choices=Design.choices, empty_label=_("Any")
    )
    gene = django_filters.CharFilter(
        field_name="mutation_findings__gene",
        lookup_expr="icontains",
        label=_("Mutation subgroup"),
        distinct=True,
    )
    min_patients = django_filters.NumberFilter(
        field_name="n_patients", lookup_expr="gte", label=_("Minimum patients")
    )
    origin = django_filters.ChoiceFilter(
        label=_("Origin"), choices=Study.Origin.choices, empty_label=_("Any")
    )

    class Meta:
        model = Study
        fields = ["q", "regimen", "setting", "design", "gene", "min_patients", "origin"]

    def filter_search(self, queryset: QuerySet[Study], name: str, value: str) -> QuerySet[Study]:
        value = value.strip()
        if not value:
            return queryset
        condition = (
            Q(first_author__icontains=value)
            | Q(interventions_text__icontains=value)
            | Q(efficacy_text__icontains=value)
            | Q(population_text__icontains=value)
            | Q(citation__icontains=value)
        )
        if value.isascii() and value.isdigit():  # "²".isdigit(), but int("²") fails
            condition |= Q(reference=int(value)) | Q(year=int(value))
        return queryset.filter(condition)
