"""REST API of the follow-up registry.

Lists hold the records of the requests the user may see (their hospital's; a physician's own
patients); a request of another hospital is 404. Writes go through the same services as the
pages, which check roles, the state of treatment and the dates.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.scoping import acting_user
from followup.models import (
    AdverseEvent,
    FollowUp,
    PharmacovigilanceReminder,
    RenewalReport,
    ResponseAssessment,
)
from followup.report import renewal_report_request
from followup.serializers import (
    AdverseEventInputSerializer,
    AdverseEventSerializer,
    AdverseEventUpdateSerializer,
    FollowUpInputSerializer,
    FollowUpSerializer,
    PharmacovigilanceReminderSerializer,
    PvResolveInputSerializer,
    RenewalReportInputSerializer,
    RenewalReportSerializer,
    ResponseAssessmentInputSerializer,
    ResponseAssessmentSerializer,
)
from followup.services import (
    adverse_event_create,
    adverse_event_update,
    followup_update,
    pv_reminder_resolve,
    response_assessment_create,
)
from offlabel.api_errors import responses
from offlabel.permissions import needs
from prescriptions.policies import request_get_visible, requests_visible_to

VIEW_REQUEST = "prescriptions.view_offlabelrequest"
MAX_ID = 2**63 - 1
REQUEST_FILTER = OpenApiParameter(
    "request", int, description="Only the records of this request.", required=False
)


class _ScopedViewSet(viewsets.GenericViewSet[Any]):
    """Records of the visible requests, optionally of one (``?request=<id>``)."""

    permission_classes = [needs(VIEW_REQUEST)]
    filter_backends: list[Any] = []  # the one filter is ?request=, applied below

    def scoped(self, queryset: QuerySet[Any], path: str = "request") -> QuerySet[Any]:
        visible = requests_visible_to(self.request.user).values("pk")
        queryset = queryset.filter(**{f"{path}__in": visible})
        wanted = self.request.query_params.get("request", "")
        if self.action == "list" and wanted != "":
            try:
                request_id = serializers.IntegerField().run_validation(wanted)
            except serializers.ValidationError as exc:
                raise serializers.ValidationError({"request": exc.detail}) from None
            if not 0 < request_id <= MAX_ID:  # no such request (and no such database integer)
                return queryset.none()
            queryset = queryset.filter(**{f"{path}_id": request_id})
        return queryset


@extend_schema_view(
    list=extend_schema(
        parameters=[REQUEST_FILTER],
        responses=responses(ResponseAssessmentSerializer(many=True), 400, 404),
    ),
    retrieve=extend_schema(responses=responses(ResponseAssessmentSerializer, 404)),
)
class ResponseAssessmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _ScopedViewSet):
    serializer_class = ResponseAssessmentSerializer

    def get_queryset(self) -> QuerySet[ResponseAssessment]:
        return self.scoped(
            ResponseAssessment.objects.select_related("request", "recorded_by")
        ).order_by("request", "assessed_on", "pk")

    @extend_schema(
        request=ResponseAssessmentInputSerializer,
        responses=responses(ResponseAssessmentSerializer, 400, 404, 415, status=201),
    )
    def create(self, request: Request) -> Response:
        """Record a response assessment of a treated request."""
        payload = ResponseAssessmentInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        offlabel = request_get_visible(request.user, data.pop("request"))
        assessment = response_assessment_create(
            actor=acting_user(request), request=offlabel, **data
        )
        return Response(
            ResponseAssessmentSerializer(assessment).data, status=status.HTTP_201_CREATED
        )


@extend_schema_view(
    list=extend_schema(
        parameters=[REQUEST_FILTER],
        responses=responses(AdverseEventSerializer(many=True), 400, 404),
    ),
    retrieve=extend_schema(responses=responses(AdverseEventSerializer, 404)),
)
class AdverseEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _ScopedViewSet):
    serializer_class = AdverseEventSerializer

    def get_queryset(self) -> QuerySet[AdverseEvent]:
        return self.scoped(AdverseEvent.objects.select_related("request", "pv_reminder")).order_by(
            "request", "onset_on", "pk"
        )

    @extend_schema(
        request=AdverseEventInputSerializer,
        responses=responses(AdverseEventSerializer, 400, 404, 415, status=201),
    )
    def create(self, request: Request) -> Response:
        """Record an adverse event; a suspected adverse reaction (relation possibly, probably or
        related), serious or not, raises a pharmacovigilance reminder. A grade the term does
        not define in CTCAE v5.0 is refused (400, naming the term's grades)."""
        payload = AdverseEventInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        offlabel = request_get_visible(request.user, data.pop("request"))
        event = adverse_event_create(actor=acting_user(request), request=offlabel, **data)
        event = self.get_queryset().get(pk=event.pk)
        return Response(AdverseEventSerializer(event).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=AdverseEventUpdateSerializer,
        responses=responses(AdverseEventSerializer, 400, 404, 415),
    )
    def partial_update(self, request: Request, pk: int) -> Response:
        """Record how the event evolved (grade, outcome, resolution, seriousness, relation)."""
        event = self.get_object()
        payload = AdverseEventUpdateSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        fields = dict(payload.validated_data)
        aware_on = fields.pop("aware_on", None)
        adverse_event_update(
            actor=acting_user(request), event=event, fields=fields, aware_on=aware_on
        )
        return Response(AdverseEventSerializer(self.get_queryset().get(pk=event.pk)).data)


@extend_schema_view(
    list=extend_schema(
        parameters=[REQUEST_FILTER], responses=responses(FollowUpSerializer(many=True), 400, 404)
    ),
    retrieve=extend_schema(responses=responses(FollowUpSerializer, 404)),
)
class FollowUpViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _ScopedViewSet):
    serializer_class = FollowUpSerializer

    def get_queryset(self) -> QuerySet[FollowUp]:
        return self.scoped(FollowUp.objects.select_related("request")).order_by("request")

    @extend_schema(
        request=FollowUpInputSerializer, responses=responses(FollowUpSerializer, 400, 404, 415)
    )
    def create(self, request: Request) -> Response:
        """Create or update the request's follow-up record (one per request)."""
        payload = FollowUpInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        offlabel = request_get_visible(request.user, data.pop("request"))
        record = followup_update(actor=acting_user(request), request=offlabel, fields=data)
        return Response(FollowUpSerializer(record).data)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            REQUEST_FILTER,
            OpenApiParameter("open", bool, description="Only reminders not yet resolved."),
        ],
        responses=responses(PharmacovigilanceReminderSerializer(many=True), 400, 404),
    ),
    retrieve=extend_schema(responses=responses(PharmacovigilanceReminderSerializer, 404)),
)
class PharmacovigilanceReminderViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, _ScopedViewSet
):
    serializer_class = PharmacovigilanceReminderSerializer

    def get_queryset(self) -> QuerySet[PharmacovigilanceReminder]:
        queryset = self.scoped(
            PharmacovigilanceReminder.objects.select_related("adverse_event__request"),
            path="adverse_event__request",
        )
        if self.request.query_params.get("open") in ("1", "true"):
            queryset = queryset.filter(resolved_at=None)
        return queryset.order_by("resolved_at", "due_at", "pk")

    @extend_schema(
        request=PvResolveInputSerializer,
        responses=responses(PharmacovigilanceReminderSerializer, 400, 404, 409, 415),
    )
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: int) -> Response:
        """Record the reference of the report sent to the pharmacovigilance network."""
        payload = PvResolveInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        reminder = pv_reminder_resolve(
            actor=acting_user(request), reminder=self.get_object(), **payload.validated_data
        )
        return Response(PharmacovigilanceReminderSerializer(reminder).data)


@extend_schema_view(
    list=extend_schema(
        parameters=[REQUEST_FILTER],
        responses=responses(RenewalReportSerializer(many=True), 400, 404),
    ),
    retrieve=extend_schema(responses=responses(RenewalReportSerializer, 404)),
)
class RenewalReportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, _ScopedViewSet):
    serializer_class = RenewalReportSerializer

    def get_queryset(self) -> QuerySet[RenewalReport]:
        return self.scoped(RenewalReport.objects.select_related("request")).order_by(
            "-requested_at", "-pk"
        )

    @extend_schema(
        request=RenewalReportInputSerializer,
        responses=responses(RenewalReportSerializer, 400, 404, 415, 503, status=202),
    )
    def create(self, request: Request) -> Response:
        """Queue the renewal clinical report PDF (AIFA 5% Fund); a Celery worker renders it."""
        payload = RenewalReportInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        offlabel = request_get_visible(request.user, payload.validated_data["request"])
        report = renewal_report_request(
            actor=acting_user(request),
            request=offlabel,
            conclusion=payload.validated_data["conclusion"],
        )
        return Response(RenewalReportSerializer(report).data, status=status.HTTP_202_ACCEPTED)
