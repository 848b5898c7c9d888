"""Property tests through the database: every surface reads the one plan.

Named invariants (issue 12):
- dispensed milligrams per cycle never exceed the plan, whatever lines are tried;
- the consent's schedule equals the plan's;
- the dossier's schedule equals the plan's.
Each example runs in a savepoint that is rolled back, on the real database.
"""

from __future__ import annotations

import contextlib
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from offlabel.exceptions import ApplicationError, ConflictError
from pharmacy.models import Dispensation
from pharmacy.safety import steps_text_plain
from pharmacy.selectors import plan_of
from pharmacy.services import (
    LineInput,
    dispensation_create,
    dispense_remaining,
    safety_override_create,
)
from prescriptions.selectors import decimal_plain
from prescriptions.services import request_update
from tests.pharmacy.conftest import approve, tls_record

EXPIRY = date(2031, 1, 31)
STRENGTHS = [Decimal(100), Decimal(50), Decimal(10)]
MEDICATIONS = [
    [],
    [{"drug_name": "posaconazole", "interaction": "unknown"}],
    [{"drug_name": "fluconazole", "interaction": "unknown"}],
    [{"drug_name": "voriconazole", "interaction": "unknown"}],
    [{"drug_name": "amiodarone", "interaction": "unknown"}],
]
FAST = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class _Rollback(Exception):
    pass


def _in_savepoint(body: Any) -> None:
    try:
        with transaction.atomic():
            body()
            raise _Rollback
    except _Rollback:
        pass


lines_strategy = st.lists(
    st.tuples(st.sampled_from(STRENGTHS), st.integers(min_value=1, max_value=120)),
    min_size=1,
    max_size=3,
)


@FAST
@given(
    meds=st.sampled_from(MEDICATIONS),
    target=st.sampled_from([70, 100, 200, 400]),
    attempts=st.lists(lines_strategy, min_size=1, max_size=4),
)
def test_dispensed_mg_per_cycle_never_exceed_the_plan(
    approved, pharmacist, physician, meds, target, attempts
):
    """Invariant: whatever a pharmacist enters (any strengths, any quantities, with a note),
    the milligrams dispensed for cycle 1 never exceed the plan's cycle 1."""

    def body() -> None:
        for med in meds:
            approved.patient.medications.create(**med)
        approved.ven_target_dose_mg = Decimal(target)
        approved.save(update_fields=["ven_target_dose_mg"])
        tls_record(approved, pharmacist)
        for finding in [f for f in _open(approved) if f.overridable]:
            safety_override_create(
                actor=pharmacist,
                request=approved,
                fingerprint=finding.fingerprint,
                reason="Property test: go ahead (invented).",
            )
        plan = plan_of(approved)
        assert plan is not None
        for attempt in attempts:
            with contextlib.suppress(ApplicationError, ConflictError):  # refusals are fine
                dispensation_create(
                    actor=pharmacist,
                    request=approved,
                    cycle=1,
                    lines=[LineInput(s, n, f"L{i}", EXPIRY) for i, (s, n) in enumerate(attempt)],
                    note="Any reason at all (property test).",
                )
            given_mg = sum(
                (d.total_mg for d in Dispensation.objects.filter(request=approved, cycle=1)),
                Decimal(0),
            )
            assert given_mg <= plan.cycle(1).total_mg
        # What the plan still leaves is always accepted, and then the cycle is exactly the plan.
        left = dispense_remaining(approved, plan, 1)
        if left:
            dispensation_create(
                actor=pharmacist,
                request=approved,
                cycle=1,
                lines=[LineInput(s, n, "LAST", EXPIRY) for s, n in left.items()],
            )
        dispensed = Dispensation.objects.filter(request=approved, cycle=1)
        assert sum((d.total_mg for d in dispensed), Decimal(0)) == plan.cycle(1).total_mg

    _in_savepoint(body)


def _open(request: Any) -> list[Any]:
    from pharmacy.safety import safety_check

    return safety_check(request).open_blocking


@FAST
@given(
    meds=st.sampled_from(MEDICATIONS),
    target=st.sampled_from([50, 70, 100, 200, 400]),
    ramp_up=st.sampled_from(["hma_3_day", "label_adjusted", "custom"]),
    cycles=st.integers(min_value=1, max_value=4),
)
def test_the_consent_and_the_dossier_print_the_plans_schedule(
    draft, physician, meds, target, ramp_up, cycles
):
    """Invariants: the consent's ramp-up days and daily dose equal the plan's; the dossier
    prints each cycle's daily doses as the plan has them."""
    from consent.services import consent_inputs
    from regulatory.dossier import dossier_html
    from regulatory.models import Dossier

    def body() -> None:
        for med in meds:
            draft.patient.medications.create(**med)
        request = request_update(
            actor=physician,
            request=draft,
            fields={
                "ven_target_dose_mg": Decimal(target),
                "ramp_up": ramp_up,
                "ramp_up_custom": "10/20/50/70 mg" if ramp_up == "custom" else "",
                "cycles_planned": cycles,
            },
            expected_version=draft.version,
        )
        plan = plan_of(request)
        assert plan is not None
        consent = consent_inputs(request, "en")
        schedule = [decimal_plain(d) for d in plan.schedule_mg]
        assert consent["ramp_up"] == (schedule if len(schedule) > 1 else [])
        assert consent["dose_mg"] == decimal_plain(plan.steady_mg)  # type: ignore[arg-type]
        assert consent["cycle_doses"] == [steps_text_plain(c.doses) for c in plan.cycles]
        dossier = Dossier(request=request, pathway_version=request.pathway_choice.pathway_version)
        text = dossier_html(dossier)
        for c in plan.cycles:
            assert (
                f"Cycle {c.number}: VEN days 1–{c.ven_days} of {c.length_days}, daily doses "
                + (f"{steps_text_plain(c.doses)} mg")
                in text
            )
        assert "Ramp-up " + "/".join(schedule) + " mg" in text

    _in_savepoint(body)


pytestmark = pytest.mark.django_db
__all__ = ["approve"]
