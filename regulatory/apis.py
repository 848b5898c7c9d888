"""REST API for routing, pathway choice, checklists, applications, reminders, dossiers and rules.

Same permissions as the pages: requests are looked up among those the user may see (others
are 404), the Django permission each view needs is declared, and services check roles.
"""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ParseError, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import is_rule_steward
from accounts.scoping import acting_user
from offlabel.api_errors import responses
from offlabel.parsers import FlatMultiPartParser
from offlabel.permissions import needs
from prescriptions.models import OffLabelRequest
from prescriptions.policies import request_get_visible, requests_visible_to
from regulatory.dossier import dossier_request
from regulatory.models import (
    ATTESTER_LABELS,
    Application,
    Body,
    ChecklistItem,
    LocalChecklistItem,
    Pathway,
    PathwayVersion,
    Reminder,
)
from regulatory.routing import route
from regulatory.rules import checklist_validate, criteria_validate
from regulatory.selectors import local_items_of
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
    NationalRulesRefused,
    application_create,
    application_step,
    checklist_attest,
    checklist_state,
    checklist_upload,
    local_item_add,
    local_item_deactivate,
    pathway_choose,
    pathway_version_edit,
    rule_edit_meaning,
)
from signatures.http import (
    ReauthenticationFields,
    reauth_fields_pop,
    signature_for_api,
    signing_responses,
)
from signatures.services import signature_scope


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
        return Response(RoutingSerializer(route(request_get_visible(request.user, pk))).data)


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
        offlabel = request_get_visible(request.user, pk)
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
        return Response(_checklist_data(request_get_visible(request.user, pk)))


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
    # Only the file: a nested or unknown key is a 400, never silently ignored.
    parser_classes = [FlatMultiPartParser]
    multipart_fields = {"document"}

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
            ApplicationSerializer(
                request_get_visible(request.user, pk).applications.all(), many=True
            ).data
        )

    @extend_schema(
        request=ApplicationSerializer,
        responses=responses(ApplicationSerializer, 400, 404, 415, status=201),
    )
    def post(self, request: Request, pk: int) -> Response:
        if not request.user.has_perm("regulatory.add_application"):
            # Raised, not returned: another hospital's request is refused with a 404 (issue 15).
            raise PermissionDenied("You cannot record applications.")
        payload = ApplicationSerializer(data={**dict(request.data), "request": pk})
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        application = application_create(
            actor=acting_user(request),
            request=request_get_visible(request.user, pk),
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
            DossierSerializer(request_get_visible(request.user, pk).dossiers.all(), many=True).data
        )

    @extend_schema(request=None, responses=responses(DossierSerializer, 400, 404, 503, status=202))
    def post(self, request: Request, pk: int) -> Response:
        """Queue the submission dossier PDF; a Celery worker renders it."""
        dossier = dossier_request(
            actor=acting_user(request), request=request_get_visible(request.user, pk)
        )
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


# --- Rules shared by hospitals (issue 14) ---------------------------------------------------------


def _payload(request: Request) -> Any:
    """The parsed body; JSON nested deeper than the parser's recursion is a 400, not a 500."""
    try:
        return request.data
    except RecursionError:
        raise ParseError("JSON parse error - nested too deeply.") from None


# A pathway's code, as the rules data names it (e.g. it_law_648).
PATHWAY_CODE = OpenApiParameter(
    "code",
    {"type": "string", "pattern": "^[a-z0-9_-]{1,60}$", "maxLength": 60},
    OpenApiParameter.PATH,
    description="The pathway's code, e.g. it_law_648.",
)


class PathwayVersionEditSerializer(ReauthenticationFields):
    """The fields to change (any of them) and, always, what changed and on what source."""

    name = serializers.CharField(required=False, max_length=200)
    summary = serializers.CharField(required=False, allow_blank=True)
    legal_source = serializers.CharField(required=False)
    verified_on = serializers.DateField(required=False)
    confirmed = serializers.BooleanField(required=False)
    unconfirmed_note = serializers.CharField(required=False, allow_blank=True)
    reimbursement = serializers.CharField(required=False, allow_blank=True, max_length=300)
    authorising_body = serializers.ChoiceField(choices=Body.choices, required=False)
    needs_outside_authorisation = serializers.BooleanField(required=False)
    criteria = serializers.JSONField(
        required=False, help_text="List of {code, text, rule, confirmed, source}; not empty."
    )
    checklist = serializers.JSONField(
        required=False,
        help_text="List of {code, text, kind, required, attesters, rule, document_type, "
        "source}; not empty.",
    )
    change_note = serializers.CharField(help_text="What changed, and on which official source.")

    def validate_criteria(self, value: Any) -> Any:
        criteria_validate(value)
        return value

    def validate_checklist(self, value: Any) -> Any:
        checklist_validate(value)
        return value


class PathwayVersionEditApi(APIView):
    # Any signed-in user reaches the view, so that a refused attempt leaves an audit event.
    permission_classes = [needs()]

    @extend_schema(
        parameters=[PATHWAY_CODE],
        request=PathwayVersionEditSerializer,
        responses=signing_responses(PathwayVersionSerializer, 400, 403, 404, 415, status=201),
    )
    def post(self, request: Request, code: str) -> Response:
        """Change a pathway's national rules: a new version (national rules stewards only; a
        hospital's user is refused with 403 and the attempt is audited)."""
        pathway = get_object_or_404(Pathway, code=code)
        user = acting_user(request)
        if not is_rule_steward(user):
            try:
                pathway_version_edit(
                    actor=user, pathway=pathway, changes={}, change_note="", via="api"
                )
            except NationalRulesRefused as exc:
                # Returned, not raised: ATOMIC_REQUESTS keeps the refusal's audit event.
                return Response({"detail": str(exc)}, status=status.HTTP_403_FORBIDDEN)
        payload = PathwayVersionEditSerializer(data=_payload(request))
        payload.is_valid(raise_exception=True)
        changes = reauth_fields_pop(payload.validated_data)
        change_note = changes.pop("change_note")
        # An electronic signature (issue 16): "edited rule <code> version N as ...".
        meaning = rule_edit_meaning(user, pathway)
        proof = signature_for_api(request, meaning)
        if isinstance(proof, Response):
            return proof
        with signature_scope(signer=user, proof=proof, meaning=meaning) as signing:
            version = pathway_version_edit(
                actor=user, pathway=pathway, changes=changes, change_note=change_note, via="api"
            )
            signing.target = version
        return Response(PathwayVersionSerializer(version).data, status=status.HTTP_201_CREATED)


class LocalChecklistItemSerializer(serializers.ModelSerializer[LocalChecklistItem]):
    code = serializers.CharField(read_only=True)
    pathway = serializers.CharField(source="pathway.code", read_only=True)
    attesters = serializers.ListField(
        child=serializers.ChoiceField(choices=list(ATTESTER_LABELS)), required=False
    )
    created_by = serializers.CharField(source="created_by.username", read_only=True)

    class Meta:
        model = LocalChecklistItem
        fields = [
            "id",
            "code",
            "pathway",
            "text",
            "kind",
            "attesters",
            "reason",
            "active",
            "created_by",
            "created_at",
            "deactivated_at",
        ]
        read_only_fields = ["active", "created_at", "deactivated_at"]


class LocalChecklistItemListApi(APIView):
    permission_classes = [needs("regulatory.view_localchecklistitem")]

    @extend_schema(
        parameters=[PATHWAY_CODE],
        responses=responses(LocalChecklistItemSerializer(many=True), 404),
    )
    def get(self, request: Request, code: str) -> Response:
        """Your hospital's own checklist items for this pathway, active and inactive."""
        pathway = get_object_or_404(Pathway, code=code)
        items = local_items_of(request.user).filter(pathway=pathway)
        return Response(LocalChecklistItemSerializer(items, many=True).data)

    @extend_schema(
        parameters=[PATHWAY_CODE],
        request=LocalChecklistItemSerializer,
        responses=responses(LocalChecklistItemSerializer, 400, 403, 404, 415, status=201),
    )
    def post(self, request: Request, code: str) -> Response:
        """Add a stricter local item: it is appended, required, to your hospital's new
        checklists for this pathway (a regulatory officer of the hospital)."""
        if not request.user.has_perm("regulatory.add_localchecklistitem"):
            return Response({"detail": "You cannot add local checklist items."}, status=403)
        pathway = get_object_or_404(Pathway, code=code)
        payload = LocalChecklistItemSerializer(data=_payload(request))
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        item = local_item_add(
            actor=acting_user(request),
            pathway=pathway,
            text=data["text"],
            kind=data["kind"],
            reason=data["reason"],
            attesters=data.get("attesters", []),
        )
        return Response(LocalChecklistItemSerializer(item).data, status=status.HTTP_201_CREATED)


class LocalChecklistItemDeactivateApi(APIView):
    permission_classes = [needs("regulatory.change_localchecklistitem")]

    @extend_schema(request=None, responses=responses(LocalChecklistItemSerializer, 404, 409))
    def post(self, request: Request, item_id: int) -> Response:
        """Leave the item out of your hospital's new checklists (built ones keep it)."""
        item = get_object_or_404(local_items_of(request.user), pk=item_id)
        item = local_item_deactivate(actor=acting_user(request), item=item)
        return Response(LocalChecklistItemSerializer(item).data)
