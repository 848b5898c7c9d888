"""Reads of the pharmacy: when treatment started, what was dispensed, and what it cost."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Count, DecimalField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Hospital
from pharmacy.models import Dispensation, Payer
from prescriptions.models import OffLabelRequest

_MONEY = DecimalField(max_digits=14, decimal_places=2)


def treatment_started_on(request: OffLabelRequest) -> date | None:
    """The day of the first dispensation (cycle 1), in local time; None before it."""
    first = Dispensation.objects.filter(request=request).order_by("cycle").first()
    return timezone.localdate(first.dispensed_at) if first else None


def dispensations_of(request: OffLabelRequest) -> QuerySet[Dispensation]:
    return (
        Dispensation.objects.filter(request=request)
        .select_related("dispensed_by")
        .prefetch_related("lines")
        .order_by("cycle")
    )


def costs_by_payer(dispensations: QuerySet[Dispensation]) -> list[dict[str, Any]]:
    """Cost and volume per payer, summed in the database. Cycles without a price are counted
    apart, so a missing price never reads as zero."""
    rows = (
        dispensations.values("payer", "currency")
        .annotate(
            cycles=Count("pk"),
            mg_total=Coalesce(Sum("total_mg"), Value(Decimal(0)), output_field=_MONEY),
            cost_total=Coalesce(Sum("cost"), Value(Decimal(0)), output_field=_MONEY),
            unpriced=Count("pk", filter=Q(cost__isnull=True)),
        )
        .order_by("payer", "currency")
    )
    labels = dict(Payer.choices)
    return [{**row, "payer_label": labels.get(row["payer"], row["payer"])} for row in rows]


def hospital_dispensations(hospital: Hospital) -> QuerySet[Dispensation]:
    return Dispensation.objects.filter(request__hospital=hospital)


def requests_with_costs(hospital: Hospital) -> QuerySet[OffLabelRequest]:
    """Requests with at least one dispensation, with cycles, milligrams and cost summed."""
    return (
        OffLabelRequest.objects.filter(hospital=hospital)
        .select_related("patient")
        .annotate(
            cycles_dispensed=Count("dispensations"),
            mg_dispensed=Sum("dispensations__total_mg"),
            cost_dispensed=Sum("dispensations__cost"),
            unpriced=Count("dispensations", filter=Q(dispensations__cost__isnull=True)),
        )
        .filter(cycles_dispensed__gt=0)
        .order_by("-pk")
    )
