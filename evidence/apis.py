from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.filters import OrderingFilter
from rest_framework.serializers import BaseSerializer

from evidence.filters import StudyFilter
from evidence.models import Study
from evidence.selectors import study_detail_queryset, study_list
from evidence.serializers import StudyDetailSerializer, StudyListSerializer
from offlabel.api_errors import responses
from offlabel.filters import QueryStringFilterBackend
from offlabel.permissions import ModelViewPermission
from offlabel.viewsets import ListFiltersOnlyMixin


@extend_schema_view(
    list=extend_schema(responses=responses(StudyListSerializer(many=True), 400, 404)),
    retrieve=extend_schema(responses=responses(StudyDetailSerializer, 404)),
)
class StudyViewSet(ListFiltersOnlyMixin, viewsets.ReadOnlyModelViewSet[Study]):
    """The study database: list with filters and pagination; detail with every sourced figure."""

    permission_classes = [ModelViewPermission]
    filterset_class = StudyFilter
    filter_backends = [QueryStringFilterBackend, OrderingFilter]
    ordering_fields = ["year", "n_patients", "orr_percent", "reference", "first_author"]

    def get_queryset(self) -> QuerySet[Study]:
        if self.action == "retrieve":
            return study_detail_queryset()
        return study_list()

    def get_serializer_class(self) -> type[BaseSerializer[Study]]:
        return StudyDetailSerializer if self.action == "retrieve" else StudyListSerializer
