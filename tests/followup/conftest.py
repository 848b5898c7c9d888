from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from scipy.stats import beta

from accounts.models import User
from pharmacy.models import Dispensation
from prescriptions.models import OffLabelRequest
from prescriptions.services import patient_create, request_create
from tests.prescriptions import conftest as prescriptions_conftest
from tests.prescriptions.conftest import COMPLETE_PROFILE, IDENTITY, REGIMEN

# The request fixtures of the prescriptions tests, shared with these tests.
draft = prescriptions_conftest.draft
patient = prescriptions_conftest.patient
other_physician = prescriptions_conftest.other_physician
foreign_physician = prescriptions_conftest.foreign_physician
foreign_pharmacist = prescriptions_conftest.foreign_pharmacist

# What identifies the test patient: none of it may appear in an export, a report or the audit.
IDENTIFYING: tuple[str, ...] = tuple(
    str(IDENTITY[k]) for k in ("given_name", "family_name", "national_id", "date_of_birth")
)


def days_ago(n: int) -> date:
    return timezone.localdate() - timedelta(days=n)


def start_treatment(
    request: OffLabelRequest,
    *,
    on: date,
    pharmacist: User,
    cycles: int = 1,
    status: str = "active",
) -> OffLabelRequest:
    """What the dispensing service will do: the request goes active and cycles are dispensed
    (rows written directly: that service is being built elsewhere)."""
    OffLabelRequest.objects.filter(pk=request.pk).update(status=status)
    for cycle in range(1, cycles + 1):
        day = on + timedelta(days=28 * (cycle - 1))
        Dispensation.objects.create(
            request=request,
            cycle=cycle,
            payer="hospital_budget",
            total_mg=Decimal("11200"),
            dispensed_by=pharmacist,
            dispensed_at=timezone.make_aware(datetime.combine(day, time(11, 30))),
        )
    request.refresh_from_db()
    return request


def clopper_pearson(k: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """The exact interval from the beta distribution, written out independently of the app."""
    low = 0.0 if k == 0 else float(beta.ppf(alpha / 2, k, n - k + 1))
    high = 1.0 if k == n else float(beta.ppf(1 - alpha / 2, k + 1, n - k))
    return low, high


@pytest.fixture
def treated(draft, pharmacist) -> OffLabelRequest:
    """The draft request, active since 60 days ago with two cycles dispensed."""
    return start_treatment(draft, on=days_ago(60), pharmacist=pharmacist, cycles=2)


@pytest.fixture
def make_treated(physician, pharmacist):
    """A new patient and request of the hospital, treated since ``started`` (days ago)."""

    def make(
        started: int = 100,
        *,
        regimen: str = "azacitidine",
        cycles: int = 1,
        prescriber: User | None = None,
        dispenser: User | None = None,
        status: str = "active",
    ) -> OffLabelRequest:
        doctor = prescriber or physician
        person = patient_create(actor=doctor, profile=COMPLETE_PROFILE, identity=IDENTITY)
        request = request_create(
            actor=doctor, patient=person, fields={**REGIMEN, "regimen": regimen}
        )
        return start_treatment(
            request,
            on=days_ago(started),
            pharmacist=dispenser or pharmacist,
            cycles=cycles,
            status=status,
        )

    return make


@pytest.fixture
def foreign_treated(foreign_physician, foreign_pharmacist) -> OffLabelRequest:
    person = patient_create(actor=foreign_physician, profile=COMPLETE_PROFILE, identity=IDENTITY)
    request = request_create(actor=foreign_physician, patient=person, fields=REGIMEN)
    return start_treatment(request, on=days_ago(90), pharmacist=foreign_pharmacist)


def ae_fields(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "term": "febrile_neutropenia",
        "grade": 3,
        "onset_on": days_ago(30),
        "outcome": "recovered",
        "resolved_on": days_ago(25),
        "relation": "possibly",
        "serious": False,
    }
    fields.update(overrides)
    return fields
