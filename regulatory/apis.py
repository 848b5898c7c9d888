"""REST API for routing, pathway choice, checklists, applications, reminders, dossiers and rules.

Same permissions as the pages: requests are looked up among those the user may see (others
are 404), the Django permission each view needs is declared, and services check roles.
"""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.scoping import acting_user
from offlabel.api_errors import responses
from prescriptions.models import OffLabelRequest
from prescriptions.selectors import requests_visible_to
from regulatory.dossier import dossier_request
from regulatory.models import Application, ChecklistItem, PathwayVersion, Reminder
from regulatory.routing import route
from regulatory.serializers import (
    ApplicationSerializer,
    ApplicationStepInputSerializer,
    AttestInputSerializer,
    ChecklistItemSerializer,
    DocumentInputSerializer,
    DossierSerializer,
    PathwayChoiceInputSerializer,
    PathwayVersionSerializer,
    ReminderSerializer,
    RoutingSerializer,
)
from regulatory.services import (
    application_create,
    application_step,
    checklist_attest,
    checklist_state,
    checklist_upload,
    pathway_choose,
)


def needs(*perms: str) -> type[BasePermission]:
    """A permission class requiring every named Django permission, per HTTP method group."""

    class Needs(BasePermission):
        def has_permission(self, request: Request, view: Any) -> bool:
            return bool(
                request.user and request.user.is_authenticated and request.user.has_perms(perms)
            )

    return Needs


def _visible_request(request: Request, pk: int) -> OffLabelRequest:
    return get_object_or_404(requests_visible_to(request.user), pk=pk)


def _checklist_data(offlabel: OffLabelRequest) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = []
    for state in checklist_state(offlabel):
        row = dict(ChecklistItemSerializer(state.item).data)
        row.update({"holds": state.holds, "because": state.because})
        data.append(row)
    return data


class RoutingApi(APIView):
    permission_classes = [
        needs("prescriptions.view_offlabelrequest", "regulatory.view_pathwayversion")
    ]

    @extend_schema(responses=responses(RoutingSerializer, 404))
    def get(self, request: Request, pk: int) -> Response:
        """Every pathway of the jurisdiction, evaluated in legal order; one recommended."""
        return Response(RoutingSerializer(route(_visible_request(request, pk))).data)


class PathwayChoiceApi(APIView):
    permission_classes = [needs("prescriptions.change_offlabelrequest")]

    @extend_schema(
        request=PathwayChoiceInputSerializer,
        responses=responses(ChecklistItemSerializer(many=True), 400, 404, 415, status=201),
    )
    def post(self, request: Request, pk: int) -> Response:
        """Follow a pathway; its current version's checklist is created (reason needed when not
        the recommended one)."""
        payload = PathwayChoiceInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        offlabel = _visible_request(request, pk)
        pathway_choose(
            actor=acting_user(request),
            request=offlabel,
            pathway_code=payload.validated_data["pathway"],
            reason=payload.validated_data["reason"],
        )
        return Response(_checklist_data(offlabel), status=status.HTTP_201_CREATED)


class ChecklistApi(APIView):
    permission_classes = [needs("prescriptions.view_offlabelrequest")]

    @extend_schema(responses=responses(ChecklistItemSerializer(many=True), 404))
    def get(self, request: Request, pk: int) -> Response:
        return Response(_checklist_data(_visible_request(request, pk)))


def _visible_item(request: Request, item_id: int) -> ChecklistItem:
    return get_object_or_404(
        ChecklistItem.objects.filter(request__in=requests_visible_to(request.user)), pk=item_id
    )


class AttestApi(APIView):
    permission_classes = [needs("regulatory.change_checklistitem")]

    @extend_schema(
        request=AttestInputSerializer,
        responses=responses(ChecklistItemSerializer(many=True), 400, 404, 409, 415),
    )
    def post(self, request: Request, item_id: int) -> Response:
        payload = AttestInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        item = _visible_item(request, item_id)
        checklist_attest(actor=acting_user(request), item=item, note=payload.validated_data["note"])
        return Response(_checklist_data(item.request))


class DocumentApi(APIView):
    permission_classes = [needs("regulatory.change_checklistitem")]
    parser_classes = [MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": DocumentInputSerializer},
        responses=responses(ChecklistItemSerializer(many=True), 400, 404, 415),
    )
    def post(self, request: Request, item_id: int) -> Response:
        """Upload the item's document: PDF only, at most 10 MB."""
        payload = DocumentInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        item = _visible_item(request, item_id)
        checklist_upload(
            actor=acting_user(request), item=item, upload=payload.validated_data["document"]
        )
        return Response(_checklist_data(item.request))


class ApplicationListApi(APIView):
    permission_classes = [needs("regulatory.view_application")]

    @extend_schema(responses=responses(ApplicationSerializer(many=True), 404))
    def get(self, request: Request, pk: int) -> Response:
        return Response(
            ApplicationSerializer(_visible_request(request, pk).applications.all(), many=True).data
        )

    @extend_schema(
        request=ApplicationSerializer,
        responses=responses(ApplicationSerializer, 400, 404, 415, status=201),
    )
    def post(self, request: Request, pk: int) -> Response:
        if not request.user.has_perm("regulatory.add_application"):
            return Response({"detail": "You cannot record applications."}, status=403)
        payload = ApplicationSerializer(data={**dict(request.data), "request": pk})
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        application = application_create(
            actor=acting_user(request),
            request=_visible_request(request, pk),
            body=data["body"],
            prepared_at=data["prepared_at"],
            renewal_of=data.get("renewal_of"),
            protocol_number=data.get("protocol_number", ""),
        )
        return Response(ApplicationSerializer(application).data, status=status.HTTP_201_CREATED)


class ApplicationStepApi(APIView):
    permission_classes = [needs("regulatory.change_application")]

    @extend_schema(
        request=ApplicationStepInputSerializer,
        responses=responses(ApplicationSerializer, 400, 404, 409, 415),
    )
    def post(self, request: Request, application_id: int) -> Response:
        payload = ApplicationStepInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        application = get_object_or_404(
            Application.objects.filter(request__in=requests_visible_to(request.user)),
            pk=application_id,
        )
        updated = application_step(
            actor=acting_user(request), application=application, **payload.validated_data
        )
        return Response(ApplicationSerializer(updated).data)


class ReminderListApi(APIView):
    permission_classes = [needs("regulatory.view_application")]

    @extend_schema(responses=responses(ReminderSerializer(many=True)))
    def get(self, request: Request) -> Response:
        """Open deadline reminders of the caller's hospital ("due soon")."""
        reminders = Reminder.objects.filter(
            application__hospital=acting_user(request).hospital, resolved_at=None
        ).select_related("application__request", "rule")
        return Response(ReminderSerializer(reminders, many=True).data)


class DossierApi(APIView):
    permission_classes = [needs("prescriptions.view_offlabelrequest")]

    @extend_schema(responses=responses(DossierSerializer(many=True), 404))
    def get(self, request: Request, pk: int) -> Response:
        return Response(
            DossierSerializer(_visible_request(request, pk).dossiers.all(), many=True).data
        )

    @extend_schema(request=None, responses=responses(DossierSerializer, 400, 404, status=202))
    def post(self, request: Request, pk: int) -> Response:
        """Queue the submission dossier PDF; a Celery worker renders it."""
        dossier = dossier_request(actor=acting_user(request), request=_visible_request(request, pk))
        return Response(DossierSerializer(dossier).data, status=status.HTTP_202_ACCEPTED)


class PathwayListApi(APIView):
    permission_classes = [needs("regulatory.view_pathwayversion")]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "all", str, enum=["1"], description="1: every version, not only the current ones."
            )
        ],
        responses=responses(PathwayVersionSerializer(many=True)),
    )
    def get(self, request: Request) -> Response:
        """Current rules, or every version with ?all=1."""
        versions = PathwayVersion.objects.select_related("pathway__jurisdiction").order_by(
            "pathway__jurisdiction__code", "pathway__order", "-version"
        )
        if request.query_params.get("all") != "1":
            versions = versions.filter(is_current=True)
        return Response(PathwayVersionSerializer(versions, many=True).data)
