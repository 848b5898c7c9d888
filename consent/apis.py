"""Consent API: request a form (202 + status URL), poll it, sign it, record a withdrawal."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.scoping import acting_user
from consent.models import ConsentDocument, ConsentSignature, Language
from consent.services import consent_request, consent_sign, consent_withdraw
from offlabel.api_errors import responses
from offlabel.parsers import FlatMultiPartParser, LimitedJSONParser
from offlabel.permissions import needs
from prescriptions.policies import request_get_visible, requests_visible_to
from signatures.http import (
    ReauthenticationFields,
    reauth_fields_pop,
    signature_for_api,
    signing_responses,
)
from signatures.models import SignatureAction
from signatures.services import act_meaning, consent_signature_meaning, signature_scope

VIEW = "prescriptions.view_offlabelrequest"


class ConsentDocumentSerializer(serializers.ModelSerializer[ConsentDocument]):
    document_id = serializers.CharField(read_only=True)
    signed = serializers.SerializerMethodField()
    status_url = serializers.SerializerMethodField(help_text="Poll this until the form is ready.")

    class Meta:
        model = ConsentDocument
        fields = [
            "id",
            "document_id",
            "request",
            "language",
            "template_version",
            "status",
            "sha256",
            "pages",
            "error",
            "attempts",
            "requested_at",
            "rendered_at",
            "superseded_at",
            "signed",
            "status_url",
        ]

    def get_signed(self, obj: ConsentDocument) -> bool:
        signature = getattr(obj, "signature", None)
        return bool(signature and signature.withdrawn_at is None)

    def get_status_url(self, obj: ConsentDocument) -> str:
        return reverse("api-consent", args=[obj.pk])


class LanguageInput(serializers.Serializer[Any]):
    language = serializers.ChoiceField(choices=Language.choices)


class SignInput(ReauthenticationFields):
    method = serializers.ChoiceField(choices=ConsentSignature.Method.choices)
    signer = serializers.ChoiceField(choices=ConsentSignature.Signer.choices, default="patient")
    representative_name = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=200
    )
    witness_name = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=200
    )
    scan = serializers.FileField(required=False)


class WithdrawInput(ReauthenticationFields):
    reason = serializers.CharField(max_length=2000)


def _documents(request: Request) -> Any:
    return ConsentDocument.objects.filter(request__in=requests_visible_to(request.user))


class ConsentRequestApi(APIView):
    permission_classes = [needs(VIEW)]

    @extend_schema(
        request=LanguageInput,
        responses=responses(ConsentDocumentSerializer, 400, 404, 415, 503, status=202),
    )
    def post(self, request: Request, pk: int) -> Response:
        """Queue the consent form in a language; answers 202 with the URL to poll."""
        payload = LanguageInput(data=request.data)
        payload.is_valid(raise_exception=True)
        offlabel = request_get_visible(request.user, pk)
        document = consent_request(
            actor=acting_user(request),
            request=offlabel,
            language=payload.validated_data["language"],
        )
        data = ConsentDocumentSerializer(document).data
        return Response(
            data, status=status.HTTP_202_ACCEPTED, headers={"Location": data["status_url"]}
        )


class ConsentDocumentApi(APIView):
    permission_classes = [needs(VIEW)]

    @extend_schema(responses=responses(ConsentDocumentSerializer, 404))
    def get(self, request: Request, document_id: int) -> Response:
        return Response(
            ConsentDocumentSerializer(get_object_or_404(_documents(request), pk=document_id)).data
        )


class ConsentSignApi(APIView):
    permission_classes = [needs(VIEW)]
    # JSON, or a multipart form for the scan: flat keys, these fields only (a 400 otherwise).
    parser_classes = [LimitedJSONParser, FlatMultiPartParser]
    multipart_fields = frozenset(SignInput().fields)

    @extend_schema(
        request=SignInput,
        responses=signing_responses(ConsentDocumentSerializer, 400, 404, 409, 415),
    )
    def post(self, request: Request, document_id: int) -> Response:
        """Record the patient's signature: the physician's electronic signature (403 with
        ``code`` unless you authenticated recently or send ``reauth_password``/``reauth_code``)."""
        payload = SignInput(data=request.data)
        payload.is_valid(raise_exception=True)
        document = get_object_or_404(_documents(request), pk=document_id)
        data = reauth_fields_pop(payload.validated_data)
        user = acting_user(request)
        meaning = consent_signature_meaning(
            user,
            method=data["method"],
            signer=data["signer"],
            representative_name=data["representative_name"],
            witness_name=data["witness_name"],
        )
        proof = signature_for_api(request, meaning)
        if isinstance(proof, Response):
            return proof
        with signature_scope(
            signer=user, proof=proof, meaning=meaning, request=document.request
        ) as signing:
            signing.target = consent_sign(actor=user, document=document, **data)
        document.refresh_from_db()
        return Response(ConsentDocumentSerializer(document).data)


class ConsentWithdrawApi(APIView):
    permission_classes = [needs(VIEW)]

    @extend_schema(
        request=WithdrawInput,
        responses=signing_responses(ConsentDocumentSerializer, 400, 404, 409, 415),
    )
    def post(self, request: Request, document_id: int) -> Response:
        """Record the patient's withdrawal of consent: an electronic signature, as above."""
        payload = WithdrawInput(data=request.data)
        payload.is_valid(raise_exception=True)
        document = get_object_or_404(_documents(request), pk=document_id)
        signature = get_object_or_404(ConsentSignature, document=document)
        user = acting_user(request)
        meaning = act_meaning(SignatureAction.CONSENT_WITHDRAWAL, user)
        proof = signature_for_api(request, meaning)
        if isinstance(proof, Response):
            return proof
        with signature_scope(
            signer=user, proof=proof, meaning=meaning, request=document.request
        ) as signing:
            signing.target = consent_withdraw(
                actor=user, signature=signature, reason=payload.validated_data["reason"]
            )
        document.refresh_from_db()
        return Response(ConsentDocumentSerializer(document).data)
