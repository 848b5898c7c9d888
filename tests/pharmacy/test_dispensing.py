"""Tablets per cycle, override gating, dispensing constraints, cost per request and payer."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connections
from django.utils import timezone

from audit.models import AuditEvent
from offlabel.exceptions import ApplicationError, ConflictError
from pharmacy.models import Dispensation, SafetyOverride
from pharmacy.safety import safety_check
from pharmacy.selectors import (
    costs_by_payer,
    plan_cost,
    plan_of,
    requests_with_costs,
    treatment_started_on,
)
from pharmacy.services import LineInput, dispensation_create, safety_override_create
from prescriptions.models import DrugPrice, OffLabelRequest
from prescriptions.services import drug_default, request_transition, request_update
from tests.pharmacy.conftest import (
    FIFTY,
    HUNDRED,
    TEN,
    approve,
    cycle_start,
    planned_tablets,
    tls_record,
)

S = OffLabelRequest.Status
EXPIRY = date(2031, 1, 31)


def _lines(request, cycle, lot="LOT-A1"):
    return [LineInput(s, n, lot, EXPIRY) for s, n in planned_tablets(request, cycle).items()]


def _dispense_on_time(request, pharmacist, cycle, **kwargs):
    """Dispense a cycle on the day it starts (the plan refuses it earlier than its window)."""
    with time_machine.travel(cycle_start(cycle), tick=False):
        return dispensation_create(
            actor=pharmacist, request=request, cycle=cycle, lines=_lines(request, cycle), **kwargs
        )


def _price(hospital, pharmacist, strength, price):
    return DrugPrice.objects.create(
        hospital=hospital,
        drug=drug_default(),
        strength_mg=strength,
        price_per_unit=Decimal(price),
        source="Invented tender 2026/07 (test)",
        valid_from=date(2026, 1, 1),
        entered_by=pharmacist,
    )


# --- Tablets ---------------------------------------------------------------------------------


def test_tablets_for_the_ramp_up_and_the_rest_of_each_cycle(make_request):
    plan = plan_of(make_request())  # 400 mg, 3-day ramp-up 100/200/400, 28-day cycles, 4 cycles
    one = plan.cycle(1)
    assert one.doses[:4] == [HUNDRED, Decimal(200), Decimal(400), Decimal(400)]
    assert one.tablets == {HUNDRED: 107} and one.total_mg == 100 + 200 + 26 * 400
    assert plan.cycle(2).tablets == {HUNDRED: 112}
    assert plan.tablets == {HUNDRED: 107 + 3 * 112} and plan.days_total == 4 * 28


def test_tablets_for_ldac_and_for_posaconazole_70_mg(make_request):
    ldac = plan_of(make_request(regimen="ldac", ramp_up="ldac_4_day", ven_target_dose_mg=600))
    assert ldac.schedule_mg == [HUNDRED, Decimal(200), Decimal(400), Decimal(600)]
    assert ldac.cycle(1).tablets == {HUNDRED: 1 + 2 + 4 + 25 * 6}
    posa = plan_of(
        make_request(
            [{"drug_name": "posaconazole", "interaction": "strong_cyp3a_inhibitor"}],
            ven_target_dose_mg=70,
            ramp_up="custom",
            ramp_up_custom="10/20/50/70 mg",
        )
    )
    # 10 = 1 x 10; 20 = 2 x 10; 50 = 1 x 50; then 70 = 50 + 10 + 10 for 25 days.
    assert posa.cycle(1).tablets == {FIFTY: 26, TEN: 53}
    assert posa.cycle(1).total_mg == 80 + 25 * 70


def test_posaconazole_on_the_standard_ramp_up_is_planned_10_20_50_70(make_request):
    """The review's case: posaconazole, 70 mg target, the standard ramp-up written."""
    posa = plan_of(
        make_request(
            [{"drug_name": "posaconazole", "interaction": "strong_cyp3a_inhibitor"}],
            ven_target_dose_mg=70,
        )
    )
    assert posa.schedule_mg == [TEN, Decimal(20), FIFTY, Decimal(70)]
    assert posa.cycle(1).tablets == {FIFTY: 26, TEN: 53}


def test_the_plan_prices_each_strength_at_its_own_price(make_request, hospital, pharmacist):
    request = make_request(ven_target_dose_mg=70, ramp_up="custom", ramp_up_custom="10/20/50/70 mg")
    _price(hospital, pharmacist, FIFTY, "30.0000")
    _price(hospital, pharmacist, TEN, "6.5000")
    plan = plan_of(request)
    assert plan is not None
    cost = plan_cost(request, plan)
    fifty, ten = plan.tablets[FIFTY], plan.tablets[TEN]
    assert cost.cost == Decimal(fifty * 30 + ten * Decimal("6.5")).quantize(Decimal("0.01"))
    assert cost.missing_prices == []
    newer = _price(hospital, pharmacist, TEN, "7.0000")
    newer.valid_from = timezone.localdate() + timedelta(days=30)  # not valid yet
    newer.save()
    assert plan_cost(request, plan).cost == cost.cost


# --- Overrides -------------------------------------------------------------------------------


@pytest.fixture
def posaconazole_request(draft, physician):
    draft.patient.medications.create(drug_name="posaconazole", interaction="strong_cyp3a_inhibitor")
    return draft


def _submit_and_review(request, physician, pharmacist):
    from tests.prescriptions.conftest import checklist_complete

    checklist_complete(request)
    request = request_transition(actor=physician, request=request, transition="submit")
    return request_transition(actor=pharmacist, request=request, transition="start_review")


def test_a_blocking_finding_stops_approval_until_a_pharmacist_overrides_it(
    posaconazole_request, physician, pharmacist
):
    request = _submit_and_review(posaconazole_request, physician, pharmacist)
    with pytest.raises(ApplicationError, match=r"Dose above the label maximum \(posaconazole\)"):
        request_transition(actor=pharmacist, request=request, transition="approve", reason="ok")
    finding = safety_check(request).open_blocking[0]
    with pytest.raises(ApplicationError, match="Only a pharmacist"):
        safety_override_create(
            actor=physician, request=request, fingerprint=finding.fingerprint, reason="x" * 20
        )
    with pytest.raises(ApplicationError, match="at least 10 characters"):
        safety_override_create(
            actor=pharmacist, request=request, fingerprint=finding.fingerprint, reason="ok"
        )
    safety_override_create(
        actor=pharmacist,
        request=request,
        fingerprint=finding.fingerprint,
        reason="Posaconazole stops tomorrow; haematologist confirmed (invented case).",
    )
    event = AuditEvent.objects.order_by("-sequence")[0]
    assert event.action == "safety.overridden" and event.actor == pharmacist
    assert event.after["code"] == "dose_above_inhibitor" and event.after["rules_version"] == 1
    with pytest.raises(ConflictError, match="already overridden"):
        safety_override_create(
            actor=pharmacist, request=request, fingerprint=finding.fingerprint, reason="x" * 20
        )
    approved = request_transition(
        actor=pharmacist, request=request, transition="approve", reason="ok"
    )
    assert approved.status == S.APPROVED


def test_an_override_holds_only_for_the_finding_as_worded(
    posaconazole_request, physician, pharmacist
):
    finding = safety_check(posaconazole_request).open_blocking[0]
    safety_override_create(
        actor=pharmacist,
        request=posaconazole_request,
        fingerprint=finding.fingerprint,
        reason="Accepted for 400 mg (invented case).",
    )
    assert not safety_check(posaconazole_request).open_blocking
    request_update(
        actor=physician,
        request=posaconazole_request,
        fields={"ven_target_dose_mg": Decimal(200)},
        expected_version=posaconazole_request.version,
    )
    posaconazole_request.refresh_from_db()
    reopened = safety_check(posaconazole_request).open_blocking
    assert [f.message for f in reopened] == [
        "cycle 1 day 1 to cycle 4 day 28: the request asks 100/200 mg; with posaconazole the "
        "label allows at most 10/20/50/70 mg. The plan gives the lower dose, 10/20/50/70 mg."
    ]
    with pytest.raises(ConflictError, match="no longer applies"):
        safety_override_create(
            actor=pharmacist,
            request=posaconazole_request,
            fingerprint=finding.fingerprint,
            reason="The old finding (invented case).",
        )
    assert SafetyOverride.objects.count() == 1


# --- Dispensing ------------------------------------------------------------------------------


def test_dispensing_moves_an_approved_request_to_active_and_is_audited(
    approved, pharmacist, hospital
):
    _price(hospital, pharmacist, HUNDRED, "50.1234")
    tls_record(approved, pharmacist)
    dispensation = dispensation_create(
        actor=pharmacist, request=approved, cycle=1, lines=_lines(approved, 1)
    )
    approved.refresh_from_db()
    assert approved.status == S.ACTIVE
    assert dispensation.total_mg == 10700 and dispensation.payer == "hospital_budget"
    assert dispensation.cost == Decimal("5363.20")  # 107 x 50.1234 = 5363.2038
    assert [e.action for e in AuditEvent.objects.order_by("-sequence")[:2]] == [
        "request.start_dispensing",
        "dispensation.created",
    ]
    assert treatment_started_on(approved) == timezone.localdate()


def test_cycle_1_needs_the_tls_precautions(approved, pharmacist):
    with pytest.raises(ApplicationError, match="Record the TLS precautions before cycle 1"):
        dispensation_create(actor=pharmacist, request=approved, cycle=1, lines=_lines(approved, 1))
    assert not Dispensation.objects.exists()


@pytest.mark.parametrize("status", [S.DRAFT, S.IN_REVIEW, S.SUSPENDED, S.REJECTED, S.COMPLETED])
def test_cannot_dispense_a_request_not_approved_or_suspended(approved, pharmacist, status):
    tls_record(approved, pharmacist)
    OffLabelRequest.objects.filter(pk=approved.pk).update(status=status)
    with pytest.raises(ApplicationError, match="Cannot dispense"):
        dispensation_create(actor=pharmacist, request=approved, cycle=1, lines=_lines(approved, 1))


def test_a_suspended_treatment_cannot_be_dispensed(approved, pharmacist):
    tls_record(approved, pharmacist)
    dispensation_create(actor=pharmacist, request=approved, cycle=1, lines=_lines(approved, 1))
    request_transition(actor=pharmacist, request=approved, transition="suspend", reason="G4 ANC")
    with pytest.raises(ApplicationError, match="is 'Suspended'"):
        _dispense_on_time(approved, pharmacist, 2)


def test_cycles_in_order_once_each_and_within_the_plan(approved, pharmacist, physician):
    tls_record(approved, pharmacist)
    with pytest.raises(ApplicationError, match="Only a pharmacist"):
        dispensation_create(actor=physician, request=approved, cycle=1, lines=_lines(approved, 1))
    with pytest.raises(ApplicationError, match="next cycle to dispense is cycle 1, not 2"):
        dispensation_create(actor=pharmacist, request=approved, cycle=2, lines=_lines(approved, 2))
    dispensation_create(actor=pharmacist, request=approved, cycle=1, lines=_lines(approved, 1))
    with pytest.raises(ConflictError, match=r"Cycle 1 was already dispensed in full by ph\.rossi"):
        dispensation_create(actor=pharmacist, request=approved, cycle=1, lines=_lines(approved, 1))
    for cycle in (2, 3, 4):
        _dispense_on_time(approved, pharmacist, cycle)
    with pytest.raises(ApplicationError, match="All 4 planned cycles are dispensed"):
        dispensation_create(actor=pharmacist, request=approved, cycle=5, lines=_lines(approved, 4))


def test_lines_are_checked_lot_expiry_strength_and_quantity(approved, pharmacist):
    tls_record(approved, pharmacist)
    yesterday = timezone.localdate() - timedelta(days=1)
    bad = [
        ([LineInput(HUNDRED, 107, "LOT-OLD", yesterday)], "expired on"),
        ([LineInput(Decimal(25), 107, "LOT-A1", EXPIRY)], "not a venetoclax tablet strength"),
        ([LineInput(HUNDRED, 107, " ", EXPIRY)], "give the lot number"),
        ([LineInput(HUNDRED, 100, "LOT-A1", EXPIRY)], "partial supply in the note"),
        ([], "at least one line"),
    ]
    for lines, message in bad:
        with pytest.raises(ApplicationError, match=message):
            dispensation_create(actor=pharmacist, request=approved, cycle=1, lines=lines)
    assert not Dispensation.objects.exists()
    two_lots = [LineInput(HUNDRED, 60, "LOT-A1", EXPIRY), LineInput(HUNDRED, 47, "LOT-B2", EXPIRY)]
    assert dispensation_create(actor=pharmacist, request=approved, cycle=1, lines=two_lots)
    short = [LineInput(HUNDRED, 56, "LOT-A1", EXPIRY)]
    with time_machine.travel(cycle_start(2), tick=False):
        made = dispensation_create(
            actor=pharmacist,
            request=approved,
            cycle=2,
            lines=short,
            note="Half a cycle: review after day 14 counts (invented).",
        )
    assert made.total_mg == 5600 and made.partial


def test_an_open_blocking_finding_stops_the_first_dispensation(approved, pharmacist):
    tls_record(approved, pharmacist)
    approved.patient.wbc_10e9_l = Decimal(40)  # counts rose after approval
    approved.patient.save()
    with pytest.raises(ApplicationError, match="WBC too high to start"):
        dispensation_create(actor=pharmacist, request=approved, cycle=1, lines=_lines(approved, 1))


@pytest.mark.django_db(transaction=True)
def test_two_pharmacists_dispensing_the_same_cycle_at_once_one_wins(physician, pharmacist, draft):
    from tests.factories import UserFactory

    other = UserFactory.create(username="ph.verdi", hospital=pharmacist.hospital, role="pharmacist")
    request = approve(draft, physician, pharmacist)
    tls_record(request, pharmacist)
    lines = _lines(request, 1)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def dispense(actor) -> None:
        try:
            start.wait()
            dispensation_create(actor=actor, request=request, cycle=1, lines=lines)
            outcomes.append("dispensed")
        except ConflictError:
            outcomes.append("conflict")
        except Exception as exc:
            outcomes.append(f"error: {exc}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=dispense, args=(a,)) for a in (pharmacist, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["conflict", "dispensed"]
    assert Dispensation.objects.count() == 1
    assert AuditEvent.objects.filter(action="dispensation.created").count() == 1


# --- Cost per request and per payer ----------------------------------------------------------


def test_cost_per_request_and_per_payer(approved, pharmacist, hospital, make_request, physician):
    _price(hospital, pharmacist, HUNDRED, "50.0000")
    tls_record(approved, pharmacist)
    dispensation_create(actor=pharmacist, request=approved, cycle=1, lines=_lines(approved, 1))
    _dispense_on_time(approved, pharmacist, 2, payer="company_free_supply")
    rows = {r["payer"]: r for r in costs_by_payer(Dispensation.objects.all())}
    assert rows["hospital_budget"]["cost_total"] == Decimal("5350.00")  # 107 x 50
    assert rows["company_free_supply"]["cost_total"] == Decimal("5600.00")  # 112 x 50
    assert rows["company_free_supply"]["mg_total"] == 11200
    assert rows["hospital_budget"]["unpriced"] == 0
    request_row = (
        requests_with_costs(hospital)
        .values(  # type: ignore[misc]  # annotations
            "cycles_dispensed", "cost_dispensed"
        )
        .get()
    )
    assert request_row == {"cycles_dispensed": 2, "cost_dispensed": Decimal("10950.00")}
    with pytest.raises(ApplicationError, match="Unknown payer"):
        _dispense_on_time(approved, pharmacist, 3, payer="x")


def test_the_payer_follows_the_pathway(make_request, physician, rules):
    from pharmacy.services import payer_default
    from regulatory.services import pathway_choose

    request = make_request(jurisdiction="IT")
    assert payer_default(request)[0] == "hospital_budget"  # no pathway yet: hospital default
    pathway_choose(actor=physician, request=request, pathway_code="it_law_648", reason="test")
    request.refresh_from_db()
    assert payer_default(request) == (
        "national_service",
        "rules.json it_law_648: SSN (national health service), under Law 648/1996",
    )


def test_the_demo_hospital_gets_invented_prices_once_and_labelled(settings, db, capsys):
    from django.core.management import call_command

    settings.DEBUG = True
    call_command("seed_demo")
    call_command("seed_demo")
    assert "3 invented venetoclax tablet prices added" in capsys.readouterr().out
    prices = DrugPrice.objects.filter(hospital__is_demo=True)
    assert prices.count() == 3
    assert {p.source for p in prices} == {"Invented demo price (not a real tender or list price)"}


def test_demo_prices_are_refused_for_a_real_hospital(pharmacist):
    from pharmacy.services import demo_prices_seed

    pharmacist.hospital.is_demo = False
    pharmacist.hospital.save()
    with pytest.raises(ApplicationError, match="only for the invented demo hospital"):
        demo_prices_seed(actor=pharmacist)
