"""Pharmacy API: a request's safety findings, overrides, TLS precautions, dispensations;
the hospital's drug prices."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.scoping import acting_user
from offlabel.api_errors import responses
from pharmacy.models import Dispensation, DispensationLine, Payer, TlsPrecautions
from pharmacy.safety import safety_check
from pharmacy.selectors import dispensations_of
from pharmacy.services import (
    LineInput,
    dispensation_create,
    drug_price_add,
    safety_override_create,
    tls_precautions_set,
)
from prescriptions.models import DrugPrice, OffLabelRequest
from prescriptions.selectors import requests_visible_to
from prescriptions.services import drug_default
from regulatory.apis import needs

VIEW = "prescriptions.view_offlabelrequest"


def _request(request: Request, pk: int) -> OffLabelRequest:
    return get_object_or_404(requests_visible_to(request.user).select_related("patient"), pk=pk)


class FindingSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    severity = serializers.ChoiceField(choices=["info", "warning", "blocking"])
    title = serializers.CharField()
    message = serializers.CharField()
    source = serializers.CharField()  # type: ignore[assignment]
    wording = serializers.CharField()
    confirmed = serializers.BooleanField()
    fingerprint = serializers.CharField()
    overridden = serializers.BooleanField()


class SafetyReportSerializer(serializers.Serializer[Any]):
    rules_version = serializers.IntegerField()
    label_target_mg = serializers.DecimalField(max_digits=6, decimal_places=1, allow_null=True)
    max_dose_mg = serializers.DecimalField(max_digits=6, decimal_places=1, allow_null=True)
    open_blocking = serializers.IntegerField()
    findings = FindingSerializer(many=True)


class OverrideInput(serializers.Serializer[Any]):
    fingerprint = serializers.CharField(max_length=64)
    reason = serializers.CharField(min_length=10)


class SafetyApi(APIView):
    permission_classes = [needs(VIEW)]

    @extend_schema(responses=responses(SafetyReportSerializer, 404))
    def get(self, request: Request, pk: int) -> Response:
        """The findings for the request as it stands, each with severity and source."""
        report = safety_check(_request(request, pk))
        data = {
            "rules_version": report.rules.version,
            "label_target_mg": report.label_target_mg,
            "max_dose_mg": report.max_dose_mg,
            "open_blocking": len(report.open_blocking),
            "findings": [f.as_data() for f in report.findings],
        }
        return Response(SafetyReportSerializer(data).data)


class SafetyOverrideApi(APIView):
    permission_classes = [needs(VIEW)]

    @extend_schema(
        request=OverrideInput,
        responses=responses(FindingSerializer, 400, 404, 409, 415, status=201),
    )
    def post(self, request: Request, pk: int) -> Response:
        """Override one blocking finding (pharmacists), naming it by its fingerprint."""
        payload = OverrideInput(data=request.data)
        payload.is_valid(raise_exception=True)
        offlabel = _request(request, pk)
        override = safety_override_create(
            actor=acting_user(request), request=offlabel, **payload.validated_data
        )
        finding = next(
            f for f in safety_check(offlabel).findings if f.fingerprint == override.fingerprint
        )
        return Response(FindingSerializer(finding.as_data()).data, status=status.HTTP_201_CREATED)


class TlsSerializer(serializers.ModelSerializer[TlsPrecautions]):
    class Meta:
        model = TlsPrecautions
        fields = [
            "first_dose_at",
            "hydration",
            "antihyperuricaemic",
            "chemistry_corrected",
            "risk_note",
            "updated_at",
        ]
        read_only_fields = ["updated_at"]


class TlsApi(APIView):
    permission_classes = [needs(VIEW)]

    @extend_schema(responses=responses(TlsSerializer, 404))
    def get(self, request: Request, pk: int) -> Response:
        tls = get_object_or_404(TlsPrecautions, request=_request(request, pk))
        return Response(TlsSerializer(tls).data)

    @extend_schema(request=TlsSerializer, responses=responses(TlsSerializer, 400, 404, 415))
    def put(self, request: Request, pk: int) -> Response:
        """Record the first-dose time and the TLS prophylaxis (prescriber or pharmacist)."""
        offlabel = _request(request, pk)
        payload = TlsSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        tls = tls_precautions_set(
            actor=acting_user(request), request=offlabel, fields=dict(payload.validated_data)
        )
        return Response(TlsSerializer(tls).data)


class LineSerializer(serializers.ModelSerializer[DispensationLine]):
    class Meta:
        model = DispensationLine
        fields = ["strength_mg", "quantity", "lot", "expiry", "unit_price"]
        read_only_fields = ["unit_price"]


class DispensationSerializer(serializers.ModelSerializer[Dispensation]):
    lines = LineSerializer(many=True)
    dispensed_by = serializers.CharField(source="dispensed_by.username", read_only=True)

    class Meta:
        model = Dispensation
        fields = [
            "id",
            "cycle",
            "payer",
            "total_mg",
            "cost",
            "currency",
            "price_sources",
            "note",
            "lines",
            "dispensed_by",
            "dispensed_at",
        ]
        read_only_fields = [
            "total_mg",
            "cost",
            "currency",
            "price_sources",
            "dispensed_by",
            "dispensed_at",
        ]


class DispenseInput(serializers.Serializer[Any]):
    cycle = serializers.IntegerField(min_value=1)
    payer = serializers.ChoiceField(
        choices=Payer.choices, required=False, help_text="Default: the payer of the pathway."
    )
    note = serializers.CharField(required=False, allow_blank=True, default="")
    lines = LineSerializer(many=True, allow_empty=False)


class DispensationsApi(APIView):
    permission_classes = [needs(VIEW)]

    @extend_schema(responses=responses(DispensationSerializer(many=True), 404))
    def get(self, request: Request, pk: int) -> Response:
        offlabel = _request(request, pk)
        return Response(DispensationSerializer(dispensations_of(offlabel), many=True).data)

    @extend_schema(
        request=DispenseInput,
        responses=responses(DispensationSerializer, 400, 404, 409, 415, status=201),
    )
    def post(self, request: Request, pk: int) -> Response:
        """Dispense the next cycle (pharmacists): lines of strength, quantity, lot and expiry."""
        payload = DispenseInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        dispensation = dispensation_create(
            actor=acting_user(request),
            request=_request(request, pk),
            cycle=data["cycle"],
            payer=data.get("payer", ""),
            note=data["note"],
            lines=[LineInput(**line) for line in data["lines"]],
        )
        return Response(DispensationSerializer(dispensation).data, status=status.HTTP_201_CREATED)


class DrugPriceSerializer(serializers.ModelSerializer[DrugPrice]):
    price_per_mg = serializers.DecimalField(max_digits=12, decimal_places=6, read_only=True)

    class Meta:
        model = DrugPrice
        fields = [
            "id",
            "strength_mg",
            "price_per_unit",
            "price_per_mg",
            "currency",
            "source",
            "valid_from",
        ]


class DrugPricesApi(APIView):
    permission_classes = [needs("prescriptions.view_drugprice")]

    @extend_schema(responses=responses(DrugPriceSerializer(many=True)))
    def get(self, request: Request) -> Response:
        prices = DrugPrice.objects.filter(hospital=acting_user(request).hospital)
        return Response(DrugPriceSerializer(prices, many=True).data)

    @extend_schema(
        request=DrugPriceSerializer, responses=responses(DrugPriceSerializer, 400, 415, status=201)
    )
    def post(self, request: Request) -> Response:
        """Record the hospital's price of one tablet strength (pharmacists)."""
        payload = DrugPriceSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        price = drug_price_add(
            actor=acting_user(request), drug=drug_default(), **payload.validated_data
        )
        return Response(DrugPriceSerializer(price).data, status=status.HTTP_201_CREATED)
