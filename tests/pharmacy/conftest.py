from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from pharmacy.services import tls_precautions_set
from prescriptions.models import OffLabelRequest
from prescriptions.services import patient_create, request_create, request_transition
from tests.prescriptions.conftest import (  # noqa: F401 - fixtures used by these tests
    COMPLETE_PROFILE,
    IDENTITY,
    REGIMEN,
    checklist_complete,
    draft,
    foreign_pharmacist,
    patient,
)

ROME = ZoneInfo("Europe/Rome")
FIRST_DOSE = datetime(2026, 12, 1, 9, 0, tzinfo=ROME)


@pytest.fixture
def make_request(physician) -> Any:
    """A request for an invented patient with the given medications, profile and regimen
    changes (no workflow: the safety checks read any request)."""

    def make(
        medications: list[dict[str, Any]] | None = None,
        profile: dict[str, Any] | None = None,
        **regimen: Any,
    ) -> OffLabelRequest:
        new_patient = patient_create(
            actor=physician,
            profile={**COMPLETE_PROFILE, **(profile or {})},
            medications=medications or [],
            identity=IDENTITY,
        )
        return request_create(actor=physician, patient=new_patient, fields={**REGIMEN, **regimen})

    return make


def approve(request: OffLabelRequest, physician: Any, pharmacist: Any) -> OffLabelRequest:
    checklist_complete(request)
    for actor, transition in (
        (physician, "submit"),
        (pharmacist, "start_review"),
        (pharmacist, "approve"),
    ):
        request = request_transition(
            actor=actor, request=request, transition=transition, reason="ok (test)"
        )
    return request


@pytest.fixture
def approved(draft, physician, pharmacist) -> OffLabelRequest:  # noqa: F811
    """The generic draft (VEN 400 mg + azacitidine, 3-day ramp-up, 4 cycles) approved."""
    return approve(draft, physician, pharmacist)


def tls_record(request: OffLabelRequest, actor: Any, **changes: Any) -> None:
    tls_precautions_set(
        actor=actor,
        request=request,
        fields={
            "first_dose_at": FIRST_DOSE,
            "hydration": True,
            "antihyperuricaemic": "allopurinol 300 mg daily",
            "chemistry_corrected": True,
            **changes,
        },
    )


HUNDRED, FIFTY, TEN = Decimal(100), Decimal(50), Decimal(10)


def dispense_cycle_one(request: OffLabelRequest, pharmacist: Any) -> OffLabelRequest:
    """What the pharmacy does to start treatment: TLS precautions, then cycle 1 as planned."""
    from datetime import date

    from pharmacy.services import LineInput, dispensation_create

    tls_record(request, pharmacist)
    dispensation_create(
        actor=pharmacist,
        request=request,
        cycle=1,
        lines=[
            LineInput(s, n, "LOT-T1", date(2031, 1, 31))
            for s, n in planned_tablets(request, 1).items()
        ],
    )
    request.refresh_from_db()
    return request


def planned_tablets(request: OffLabelRequest, cycle: int) -> dict[Decimal, int]:
    """The plan's tablets for one cycle, as every surface reads them."""
    from pharmacy.selectors import plan_of

    plan = plan_of(request)
    assert plan is not None and plan.cycle(cycle) is not None
    return plan.cycle(cycle).tablets


def cycle_start(cycle: int) -> datetime:
    """Noon on the day cycle ``cycle`` starts (28-day cycles from FIRST_DOSE)."""
    from datetime import timedelta

    return (FIRST_DOSE + timedelta(days=28 * (cycle - 1))).replace(hour=12)
