"""REST API for patients, requests, transitions, evidence suggestions and attachments.

Permissions match the pages: the queryset is the user's visible records (others are 404),
``action_permissions`` names the Django permission each action needs, and the services
check roles and ownership.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.scoping import acting_user
from evidence.models import Study
from offlabel.api_errors import responses
from offlabel.permissions import ActionPermission
from offlabel.viewsets import ListFiltersOnlyMixin
from prescriptions.models import EvidenceAttachment, OffLabelRequest, Patient
from prescriptions.policies import patients_visible_to
from prescriptions.selectors import evidence_summary, list_rows, request_list, request_suggestions
from prescriptions.serializers import (
    AttachmentSerializer,
    DiscardInputSerializer,
    EvidenceSummarySerializer,
    PatientIdentitySerializer,
    PatientSerializer,
    RequestSerializer,
    SuggestionSerializer,
    TransitionInputSerializer,
    TransitionSerializer,
)
from prescriptions.services import (
    evidence_attach,
    evidence_detach,
    patient_create,
    patient_identity_read,
    patient_identity_set,
    patient_update,
    request_create,
    request_discard,
    request_transition,
    request_update,
)
from signatures.http import signature_for_api, signing_responses
from signatures.services import signature_scope_optional, transition_meaning

VIEW_PATIENT = "prescriptions.view_patient"
VIEW_REQUEST = "prescriptions.view_offlabelrequest"


class PatientFilter(django_filters.FilterSet):
    # A filter, not a raw query parameter: the form refuses what the database cannot take
    # (a NUL character was a 500 on PostgreSQL).
    q = django_filters.CharFilter(method="search", label="Part of the pseudonym")

    class Meta:
        model = Patient
        fields = ["q"]

    def search(self, queryset: QuerySet[Patient], name: str, value: str) -> QuerySet[Patient]:
        return queryset.filter(pseudonym__icontains=value.strip())


@extend_schema_view(
    list=extend_schema(responses=responses(PatientSerializer(many=True), 400, 404)),
    retrieve=extend_schema(responses=responses(PatientSerializer, 404)),
    # 409: the identity matches a patient already recorded (listed in extra.duplicates).
    create=extend_schema(responses=responses(PatientSerializer, 400, 409, 415, status=201)),
    update=extend_schema(responses=responses(PatientSerializer, 400, 404, 415)),
    partial_update=extend_schema(responses=responses(PatientSerializer, 400, 404, 415)),
)
class PatientViewSet(
    ListFiltersOnlyMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[Patient],
):
    serializer_class = PatientSerializer
    permission_classes = [ActionPermission]
    action_permissions = {
        "list": VIEW_PATIENT,
        "retrieve": VIEW_PATIENT,
        "create": "prescriptions.add_patient",
        "update": "prescriptions.change_patient",
        "partial_update": "prescriptions.change_patient",
        "identity:PUT": "prescriptions.change_patient",
    }
    filterset_class = PatientFilter

    def get_permissions(self) -> Sequence[Any]:
        if self.action == "identity" and self.request.method == "GET":
            # Any signed-in user reaches the service, which records a refusal as well as a
            # read: a 403 at the door would leave no trace of the attempt.
            return [IsAuthenticated()]
        return super().get_permissions()

    def get_queryset(self) -> QuerySet[Patient]:
        qs = patients_visible_to(self.request.user).prefetch_related("mutations", "medications")
        return qs.order_by("-created_at", "pk")

    def perform_create(self, serializer: PatientSerializer) -> None:  # type: ignore[override]
        data = dict(serializer.validated_data)
        identity = data.pop("identity")  # required on create (the serializer's validate)
        confirm = data.pop("confirm_different_person", False)
        serializer.instance = patient_create(
            actor=acting_user(self.request),
            profile={k: v for k, v in data.items() if k not in {"mutations", "medications"}},
            mutations=data.get("mutations"),
            medications=data.get("medications"),
            identity={k: v for k, v in identity.items() if k != "warnings"},
            check_duplicates=True,
            confirm_different_person=confirm,
        )

    def perform_update(self, serializer: PatientSerializer) -> None:  # type: ignore[override]
        data = dict(serializer.validated_data)
        data.pop("confirm_different_person", None)
        serializer.instance = patient_update(
            actor=acting_user(self.request),
            patient=self.get_object(),
            profile={k: v for k, v in data.items() if k not in {"mutations", "medications"}},
            mutations=data.get("mutations"),
            medications=data.get("medications"),
        )

    @extend_schema(methods=["GET"], responses=responses(PatientIdentitySerializer, 404))
    @extend_schema(
        methods=["PUT"],
        request=PatientIdentitySerializer,
        responses=responses(PatientIdentitySerializer, 400, 404, 415),
    )
    @action(detail=True, methods=["get", "put"])
    def identity(self, request: Request, pk: str | None = None) -> Response:
        """Identifying data: treating physicians and pharmacists read them, treating physicians
        record and correct them; every read, refused attempt and correction is audited, and a
        correction supersedes the consent forms that printed the old identity."""
        if request.method == "PUT":
            patient = self.get_object()
            serializer = PatientIdentitySerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            patient_identity_set(
                actor=acting_user(request), patient=patient, identity=serializer.validated_data
            )
            return Response(serializer.data)
        read = patient_identity_read(
            actor=acting_user(request), patient_id=_patient_id(pk), purpose="API"
        )
        if not read.allowed:
            # Returned, not raised: a raised 404 would roll the refusal's audit event back.
            return Response({"detail": gettext("Not found.")}, status=404)
        if read.identity is None:
            return Response({"detail": "No identifying data recorded."}, status=404)
        return Response(PatientIdentitySerializer(read.identity).data)


def _patient_id(pk: str | None) -> int:
    """The URL's id; one that is not a number is no patient (0 exists for nobody)."""
    try:
        return int(pk or "")
    except ValueError:
        return 0


def _expected_version(data: Any) -> int | None:
    """The ``version`` the client saw, sent beside the fields (a 409 if it is stale)."""
    raw = data.get("version") if isinstance(data, dict) else None
    if raw is None or raw == "":
        return None
    try:
        return int(serializers.IntegerField().run_validation(raw))
    except serializers.ValidationError as exc:
        raise serializers.ValidationError({"version": exc.detail}) from None


class RequestFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=OffLabelRequest.Status.choices)
    regimen = django_filters.ChoiceFilter(choices=OffLabelRequest.Regimen.choices)
    jurisdiction = django_filters.ChoiceFilter(choices=OffLabelRequest.Jurisdiction.choices)
    q = django_filters.CharFilter(method="search", label="Pseudonym or reference")

    class Meta:
        model = OffLabelRequest
        fields = ["status", "regimen", "jurisdiction", "q"]

    def search(
        self, queryset: QuerySet[OffLabelRequest], name: str, value: str
    ) -> QuerySet[OffLabelRequest]:
        value = value.strip().upper()
        condition = Q(patient__pseudonym__icontains=value)
        digits = value.removeprefix("OL-").lstrip("0")
        if digits.isascii() and digits.isdigit():  # "²".isdigit(), but int("²") fails
            condition |= Q(pk=int(digits))
        return queryset.filter(condition)


@extend_schema_view(
    list=extend_schema(responses=responses(RequestSerializer(many=True), 400, 404)),
    retrieve=extend_schema(responses=responses(RequestSerializer, 404)),
    # 404: the patient is not among those the caller may see (like the registry's ids).
    create=extend_schema(responses=responses(RequestSerializer, 400, 404, 415, status=201)),
    update=extend_schema(responses=responses(RequestSerializer, 400, 404, 409, 415)),
    partial_update=extend_schema(responses=responses(RequestSerializer, 400, 404, 409, 415)),
)
class RequestViewSet(
    ListFiltersOnlyMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[OffLabelRequest],
):
    serializer_class = RequestSerializer
    permission_classes = [ActionPermission]
    filterset_class = RequestFilter
    action_permissions = {
        "list": VIEW_REQUEST,
        "retrieve": VIEW_REQUEST,
        "create": "prescriptions.add_offlabelrequest",
        "update": "prescriptions.change_offlabelrequest",
        "partial_update": "prescriptions.change_offlabelrequest",
        "transition": "prescriptions.change_offlabelrequest",
        "discard": "prescriptions.change_offlabelrequest",
        "history": VIEW_REQUEST,
        "suggestions": VIEW_REQUEST,
        "evidence_summary": VIEW_REQUEST,
        "attachments:GET": VIEW_REQUEST,
        "attachments:POST": "prescriptions.add_offlabelrequest",
        "attachment_remove": "prescriptions.add_offlabelrequest",
    }

    def get_queryset(self) -> QuerySet[OffLabelRequest]:
        requests = request_list(self.request.user).order_by("-updated_at", "-pk")
        return list_rows(requests) if self.action == "list" else requests

    def perform_create(self, serializer: RequestSerializer) -> None:  # type: ignore[override]
        data = dict(serializer.validated_data)
        patient = get_object_or_404(
            patients_visible_to(self.request.user), pk=data.pop("patient").pk
        )
        serializer.instance = request_create(
            actor=acting_user(self.request), patient=patient, fields=data
        )

    def perform_update(self, serializer: RequestSerializer) -> None:  # type: ignore[override]
        data = dict(serializer.validated_data)
        data.pop("patient", None)
        updated = request_update(
            actor=acting_user(self.request),
            request=self.get_object(),
            fields=data,
            expected_version=_expected_version(self.request.data),
        )
        # Read back through the list queryset: it annotates n_attachments.
        serializer.instance = self.get_queryset().get(pk=updated.pk)

    @extend_schema(
        request=TransitionInputSerializer,
        responses=signing_responses(RequestSerializer, 400, 404, 409, 415),
    )
    @action(detail=True, methods=["post"])
    def transition(self, request: Request, pk: str | None = None) -> Response:
        """Take a workflow step (submit, start_review, approve, ...). 400 if a guard fails,
        409 if the request changed meanwhile. Approve, reject and withdraw are electronic
        signatures: 403 with ``code`` unless you authenticated recently or send
        ``reauth_password``/``reauth_code``."""
        payload = TransitionInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        user = acting_user(request)
        offlabel = self.get_object()
        meaning = transition_meaning(payload.validated_data["transition"], user)
        proof = signature_for_api(request, meaning) if meaning is not None else None
        if isinstance(proof, Response):
            return proof
        with signature_scope_optional(
            signer=user, proof=proof, meaning=meaning, request=offlabel
        ) as signing:
            updated = request_transition(
                actor=user,
                request=offlabel,
                transition=payload.validated_data["transition"],
                reason=payload.validated_data["reason"],
                expected_version=payload.validated_data.get("version"),
            )
            signing.target = updated
        return Response(RequestSerializer(self.get_queryset().get(pk=updated.pk)).data)

    @extend_schema(
        request=DiscardInputSerializer,
        responses=responses(None, 400, 404, 409, 415, status=204),
    )
    @action(detail=True, methods=["post"])
    def discard(self, request: Request, pk: str | None = None) -> Response:
        """The prescriber discards a never-submitted draft: kept and audited, then shown
        nowhere (a 404 from then on). A submitted request is withdrawn with a reason instead."""
        payload = DiscardInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        request_discard(
            actor=acting_user(request),
            request=self.get_object(),
            expected_version=payload.validated_data.get("version"),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(filters=False, responses=responses(TransitionSerializer(many=True), 404))
    @action(detail=True, methods=["get"], pagination_class=None)
    def history(self, request: Request, pk: str | None = None) -> Response:
        transitions = self.get_object().transitions.select_related("actor")
        return Response(TransitionSerializer(transitions, many=True).data)

    @extend_schema(filters=False, responses=responses(SuggestionSerializer(many=True), 404))
    @action(detail=True, methods=["get"], pagination_class=None)
    def suggestions(self, request: Request, pk: str | None = None) -> Response:
        """The study database ranked for this patient and regimen, each with its reasons."""
        return Response(
            SuggestionSerializer(request_suggestions(self.get_object()), many=True).data
        )

    @extend_schema(responses=responses(EvidenceSummarySerializer, 404))
    @action(detail=True, methods=["get"], url_path="evidence-summary")
    def evidence_summary(self, request: Request, pk: str | None = None) -> Response:
        return Response(EvidenceSummarySerializer(evidence_summary(self.get_object())).data)

    @extend_schema(methods=["GET"], responses=responses(AttachmentSerializer(many=True), 404))
    @extend_schema(
        methods=["POST"],
        request=AttachmentSerializer,
        responses=responses(AttachmentSerializer, 400, 404, 415, status=201),
    )
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def attachments(self, request: Request, pk: str | None = None) -> Response:
        offlabel_request = self.get_object()
        if request.method == "POST":
            payload = AttachmentSerializer(data=request.data)
            payload.is_valid(raise_exception=True)
            study: Study = payload.validated_data["study"]
            ranked = {s.study.pk: s for s in request_suggestions(offlabel_request)}
            suggestion = ranked.get(study.pk)
            attachment = evidence_attach(
                actor=acting_user(request),
                request=offlabel_request,
                study=study,
                note=payload.validated_data.get("note", ""),
                rank=suggestion.rank if suggestion else None,
                reasons=list(suggestion.reasons) if suggestion else None,
            )
            return Response(AttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED)
        attachments = offlabel_request.attachments.select_related("attached_by")
        return Response(AttachmentSerializer(attachments, many=True).data)

    @extend_schema(request=None, responses=responses(None, 400, 404, status=204))
    @action(detail=True, methods=["delete"], url_path=r"attachments/(?P<attachment_id>\d+)")
    def attachment_remove(
        self, request: Request, pk: str | None = None, attachment_id: str = ""
    ) -> Response:
        attachment = get_object_or_404(
            EvidenceAttachment, pk=attachment_id, request=self.get_object()
        )
        evidence_detach(actor=acting_user(request), attachment=attachment)
        return Response(status=status.HTTP_204_NO_CONTENT)
