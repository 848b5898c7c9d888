"""Reads of the pharmacy: when treatment started, and what was dispensed."""

from __future__ import annotations

from datetime import date

from django.utils import timezone

from pharmacy.models import Dispensation
from prescriptions.models import OffLabelRequest


def treatment_started_on(request: OffLabelRequest) -> date | None:
    """The day of the first dispensation (cycle 1), in local time; None before it."""
    first = Dispensation.objects.filter(request=request).order_by("cycle").first()
    return timezone.localdate(first.dispensed_at) if first else None
