"""Pharmacy API: a request's safety findings, overrides, TLS precautions, dispensations;
the hospital's drug prices."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.scoping import acting_user
from offlabel.api_errors import responses
from offlabel.permissions import needs
from pharmacy.models import Dispensation, DispensationLine, Payer, TlsPrecautions
from pharmacy.safety import safety_check
from pharmacy.selectors import dispensations_of, plan_version_latest
from pharmacy.services import (
    LineInput,
    dispensation_create,
    drug_price_add,
    safety_override_create,
    tls_precautions_set,
)
from prescriptions.models import DrugPrice
from prescriptions.policies import request_get_visible
from prescriptions.selectors import decimal_plain
from prescriptions.services import drug_default
from signatures.http import ReauthenticationFields, signature_for_api, signing_responses
from signatures.models import SignatureAction
from signatures.services import act_meaning, signature_scope

VIEW = "prescriptions.view_offlabelrequest"


class FindingSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    severity = serializers.ChoiceField(choices=["info", "warning", "blocking"])
    title = serializers.CharField()
    message = serializers.CharField()
    source = serializers.CharField()  # type: ignore[assignment]
    wording = serializers.CharField()
    confirmed = serializers.BooleanField()
    rule = serializers.CharField(help_text="The rule's code in the label rules file.")
    scope = serializers.ChoiceField(choices=["initiation", "every_cycle"])
    overridable = serializers.BooleanField()
    fingerprint = serializers.CharField()
    overridden = serializers.BooleanField()


class SafetyReportSerializer(serializers.Serializer[Any]):
    rules_version = serializers.IntegerField()
    label_target_mg = serializers.DecimalField(max_digits=6, decimal_places=1, allow_null=True)
    max_dose_mg = serializers.DecimalField(max_digits=6, decimal_places=1, allow_null=True)
    open_blocking = serializers.IntegerField()
    findings = FindingSerializer(many=True)


class PlanLimitSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    max_mg = serializers.DecimalField(max_digits=7, decimal_places=1)
    who = serializers.CharField()
    rule = serializers.CharField()


class PlanDaySerializer(serializers.Serializer[Any]):
    day = serializers.IntegerField()
    on = serializers.DateField(allow_null=True)
    requested_mg = serializers.DecimalField(max_digits=7, decimal_places=1)
    max_mg = serializers.DecimalField(max_digits=7, decimal_places=1, allow_null=True)
    dose_mg = serializers.DecimalField(max_digits=7, decimal_places=1)
    tablets = serializers.DictField(child=serializers.IntegerField())
    limits = PlanLimitSerializer(many=True)


class PlanCycleSerializer(serializers.Serializer[Any]):
    cycle = serializers.IntegerField()
    start_on = serializers.DateField(allow_null=True)
    length_days = serializers.IntegerField()
    ven_days = serializers.IntegerField()
    waits_for = serializers.CharField(allow_blank=True)
    earliest_dispense_on = serializers.DateField(allow_null=True)
    tablets = serializers.DictField(child=serializers.IntegerField())
    total_mg = serializers.DecimalField(max_digits=9, decimal_places=1)
    days = PlanDaySerializer(many=True)


class PlanModificationSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    cycle = serializers.IntegerField(allow_null=True)
    starts_on = serializers.DateField(allow_null=True)
    ends_on = serializers.DateField(allow_null=True)
    detail = serializers.CharField()
    rule = serializers.CharField()


class PlanSerializer(serializers.Serializer[Any]):
    version = serializers.IntegerField(allow_null=True)
    rules_version = serializers.IntegerField()
    requested_ramp_up_mg = serializers.ListField(
        child=serializers.DecimalField(max_digits=7, decimal_places=1), allow_null=True
    )
    ramp_up_mg = serializers.ListField(
        child=serializers.DecimalField(max_digits=7, decimal_places=1)
    )
    steady_mg = serializers.DecimalField(max_digits=7, decimal_places=1, allow_null=True)
    total_mg = serializers.DecimalField(max_digits=10, decimal_places=1)
    modifications = PlanModificationSerializer(many=True)
    cycles = PlanCycleSerializer(many=True)


def _tablets_data(tablets: Any) -> dict[str, int]:
    return {decimal_plain(s): n for s, n in dict(tablets).items()}


class PlanApi(APIView):
    permission_classes = [needs(VIEW)]

    @extend_schema(responses=responses(PlanSerializer, 404))
    def get(self, request: Request, pk: int) -> Response:
        """The treatment plan: every cycle and day with its dose, the label-adjusted maximum
        and the rules that set it, the tablets, and the modifications in force. 404 when the
        request has no target dose or cycles yet."""
        offlabel = request_get_visible(request.user, pk)
        plan = safety_check(offlabel).plan
        if plan is None:
            raise NotFound("The request has no target dose or number of cycles: no plan yet.")
        version = plan_version_latest(offlabel)
        window = offlabel.hospital.dispense_early_window_days
        data = {
            "version": version.number if version else None,
            "rules_version": plan.rules.version,
            "requested_ramp_up_mg": plan.requested_steps_mg,
            "ramp_up_mg": plan.schedule_mg,
            "steady_mg": plan.steady_mg,
            "total_mg": plan.total_mg,
            "modifications": [
                {
                    "code": m.code,
                    "cycle": m.cycle,
                    "starts_on": m.starts_on,
                    "ends_on": m.ends_on,
                    "detail": m.detail,
                    "rule": m.rule_path,
                }
                for m in plan.modifications
            ],
            "cycles": [
                {
                    "cycle": c.number,
                    "start_on": c.start_on,
                    "length_days": c.length_days,
                    "ven_days": c.ven_days,
                    "waits_for": c.waits_for,
                    "earliest_dispense_on": c.earliest_dispense_on(window),
                    "tablets": _tablets_data(c.tablets),
                    "total_mg": c.total_mg,
                    "days": [
                        {
                            "day": d.day,
                            "on": d.on,
                            "requested_mg": d.requested_mg,
                            "max_mg": d.max_mg,
                            "dose_mg": d.dose_mg,
                            "tablets": _tablets_data(d.tablets),
                            "limits": [
                                {
                                    "code": lim.code,
                                    "max_mg": lim.max_mg,
                                    "who": lim.who,
                                    "rule": lim.rule_path,
                                }
                                for lim in d.limits
                            ],
                        }
                        for d in c.days
                    ],
                }
                for c in plan.cycles
            ],
        }
        return Response(PlanSerializer(data).data)


class OverrideInput(serializers.Serializer[Any]):
    fingerprint = serializers.CharField(max_length=64)
    reason = serializers.CharField(min_length=10)


class SafetyApi(APIView):
    permission_classes = [needs(VIEW)]

    @extend_schema(responses=responses(SafetyReportSerializer, 404))
    def get(self, request: Request, pk: int) -> Response:
        """The findings for the request as it stands, each with severity and source."""
        report = safety_check(request_get_visible(request.user, pk))
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
        offlabel = request_get_visible(request.user, pk)
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
        tls = get_object_or_404(TlsPrecautions, request=request_get_visible(request.user, pk))
        return Response(TlsSerializer(tls).data)

    @extend_schema(request=TlsSerializer, responses=responses(TlsSerializer, 400, 404, 415))
    def put(self, request: Request, pk: int) -> Response:
        """Record the first-dose time and the TLS prophylaxis (prescriber or pharmacist)."""
        offlabel = request_get_visible(request.user, pk)
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


class DispenseInput(ReauthenticationFields):
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
        offlabel = request_get_visible(request.user, pk)
        return Response(DispensationSerializer(dispensations_of(offlabel), many=True).data)

    @extend_schema(
        request=DispenseInput,
        responses=signing_responses(DispensationSerializer, 400, 404, 409, 415, status=201),
    )
    def post(self, request: Request, pk: int) -> Response:
        """Dispense the next cycle (pharmacists): lines of strength, quantity, lot and expiry.
        An electronic signature ("dispensed cycle 2"): 403 with ``code`` unless you
        authenticated recently or send ``reauth_password``/``reauth_code``."""
        payload = DispenseInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        user = acting_user(request)
        offlabel = request_get_visible(request.user, pk)
        meaning = act_meaning(SignatureAction.DISPENSE, user, cycle=data["cycle"])
        proof = signature_for_api(request, meaning)
        if isinstance(proof, Response):
            return proof
        with signature_scope(
            signer=user, proof=proof, meaning=meaning, request=offlabel
        ) as signing:
            dispensation = dispensation_create(
                actor=user,
                request=offlabel,
                cycle=data["cycle"],
                payer=data.get("payer", ""),
                note=data["note"],
                lines=[LineInput(**line) for line in data["lines"]],
            )
            signing.target = dispensation
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
