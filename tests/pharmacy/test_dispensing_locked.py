"""Dispensing locked to the treatment plan (issue 12): the form pre-filled from the plan, more
than the plan refused whatever the note, partial supplies with a reason and the remainder due,
no cycle before its start less the hospital's window, and cycles held by cytopenias."""

from __future__ import annotations

import html
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from audit.models import AuditEvent
from offlabel.exceptions import ApplicationError
from pharmacy.models import Dispensation, TreatmentPlanVersion
from pharmacy.selectors import plan_of
from pharmacy.services import LineInput, dispensation_create, dispense_remaining
from prescriptions.models import OffLabelRequest
from prescriptions.services import request_update
from tests.pharmacy.conftest import (
    FIFTY,
    FIRST_DOSE,
    HUNDRED,
    TEN,
    approve,
    cycle_start,
    planned_tablets,
    tls_record,
)

EXPIRY = date(2031, 1, 31)
POSACONAZOLE = {"drug_name": "posaconazole", "interaction": "strong_cyp3a_inhibitor"}


@pytest.fixture
def posaconazole_approved(draft, physician, pharmacist):
    """The review's case: posaconazole, VEN 70 mg, the label's ramp-up adjusted for it."""
    draft.patient.medications.create(**POSACONAZOLE)
    draft = request_update(
        actor=physician,
        request=draft,
        fields={"ven_target_dose_mg": Decimal(70), "ramp_up": "label_adjusted"},
        expected_version=draft.version,
    )
    request = approve(draft, physician, pharmacist)
    tls_record(request, pharmacist)
    return request


def _lines(tablets, lot="LOT-P1"):
    return [LineInput(s, n, lot, EXPIRY) for s, n in tablets.items()]


def test_the_plan_for_posaconazole_70_mg_is_10_20_50_70_with_50_and_10_mg_tablets(
    posaconazole_approved,
):
    plan = plan_of(posaconazole_approved)
    assert plan is not None
    assert plan.schedule_mg == [TEN, Decimal(20), FIFTY, Decimal(70)]
    assert plan.cycle(1).tablets == {FIFTY: 26, TEN: 53}  # 1830 mg
    assert plan.cycle(2).tablets == {FIFTY: 28, TEN: 56}  # 28 x 70 = 1960 mg
    assert plan.cycle(2).total_mg == 1960


def test_the_dispense_form_is_pre_filled_with_the_plans_strengths(
    client, posaconazole_approved, pharmacist
):
    client.force_login(pharmacist)
    page = html.unescape(
        client.get(reverse("pharmacy:request", args=[posaconazole_approved.pk])).content.decode()
    )
    assert '<option value="50" selected>50 mg</option>' in page
    assert '<option value="10" selected>10 mg</option>' in page
    assert '<option value="100" selected>' not in page
    assert 'value="26"' in page and 'value="53"' in page
    assert "The plan leaves 1830 mg to dispense for cycle 1" in page


def test_four_times_the_plan_is_refused_even_with_a_note(posaconazole_approved, pharmacist):
    """The review: cycle 2 recorded as 28 x 100 + 56 x 100 mg = 8,400 mg against 1,960 mg."""
    dispensation_create(
        actor=pharmacist,
        request=posaconazole_approved,
        cycle=1,
        lines=_lines(planned_tablets(posaconazole_approved, 1)),
    )
    with (
        time_machine.travel(cycle_start(2), tick=False),
        pytest.raises(ApplicationError) as refused,
    ):
        dispensation_create(
            actor=pharmacist,
            request=posaconazole_approved,
            cycle=2,
            lines=[LineInput(HUNDRED, 28, "L1", EXPIRY), LineInput(HUNDRED, 56, "L2", EXPIRY)],
            note="The physician asked for more (invented).",
        )
    message = refused.value.message
    assert "8400 mg entered (84 × 100 mg)" in message
    assert "1960 mg (28 × 50 mg + 56 × 10 mg" in message
    assert "A note cannot change this" in message
    assert Dispensation.objects.filter(cycle=2).count() == 0


def test_a_strength_mix_that_does_not_make_the_daily_doses_is_refused(
    posaconazole_approved, pharmacist
):
    with pytest.raises(ApplicationError) as refused:
        dispensation_create(
            actor=pharmacist,
            request=posaconazole_approved,
            cycle=1,
            lines=[LineInput(HUNDRED, 18, "L1", EXPIRY)],  # 1800 mg, under the plan's 1830
            note="Out of 50 mg tablets (invented).",
        )
    assert "do not make the plan's daily doses" in refused.value.message
    assert "18 × 100 mg" in refused.value.message
    assert "26 × 50 mg + 53 × 10 mg" in refused.value.message


def test_a_partial_supply_needs_a_reason_and_the_remainder_stays_due(
    posaconazole_approved, pharmacist
):
    half = {FIFTY: 13, TEN: 26}
    with pytest.raises(ApplicationError, match="give the reason for this partial supply"):
        dispensation_create(
            actor=pharmacist, request=posaconazole_approved, cycle=1, lines=_lines(half)
        )
    first = dispensation_create(
        actor=pharmacist,
        request=posaconazole_approved,
        cycle=1,
        lines=_lines(half),
        note="Two weeks now, the rest at the next visit (invented).",
    )
    assert first.partial and first.total_mg == 13 * 50 + 26 * 10
    plan = plan_of(posaconazole_approved)
    assert dispense_remaining(posaconazole_approved, plan, 1) == {FIFTY: 13, TEN: 27}
    with pytest.raises(ApplicationError, match="next cycle to dispense is cycle 1, not 2"):
        dispensation_create(
            actor=pharmacist,
            request=posaconazole_approved,
            cycle=2,
            lines=_lines(planned_tablets(posaconazole_approved, 2)),
        )
    rest = dispensation_create(
        actor=pharmacist,
        request=posaconazole_approved,
        cycle=1,
        lines=_lines({FIFTY: 13, TEN: 27}, lot="LOT-P2"),
    )
    assert not rest.partial
    total = sum(d.total_mg for d in Dispensation.objects.filter(cycle=1))
    assert total == plan.cycle(1).total_mg == 1830


def test_cycle_2_is_refused_before_its_start_less_the_hospitals_window(
    posaconazole_approved, pharmacist
):
    dispensation_create(
        actor=pharmacist,
        request=posaconazole_approved,
        cycle=1,
        lines=_lines(planned_tablets(posaconazole_approved, 1)),
    )
    lines = _lines(planned_tablets(posaconazole_approved, 2))
    start = FIRST_DOSE.date() + timedelta(days=28)  # 2026-12-29
    with pytest.raises(ApplicationError) as refused:  # the same day as cycle 1 (the review)
        dispensation_create(actor=pharmacist, request=posaconazole_approved, cycle=2, lines=lines)
    assert refused.value.message.startswith(
        f"Too early for cycle 2: the plan starts it on {start.isoformat()}, so it can be "
        f"dispensed from {(start - timedelta(days=3)).isoformat()} (3 days before"
    )
    day_before_window = cycle_start(2) - timedelta(days=4)
    with (
        time_machine.travel(day_before_window, tick=False),
        pytest.raises(ApplicationError, match="Too early for cycle 2"),
    ):
        dispensation_create(actor=pharmacist, request=posaconazole_approved, cycle=2, lines=lines)
    with time_machine.travel(cycle_start(2) - timedelta(days=3), tick=False):
        made = dispensation_create(
            actor=pharmacist, request=posaconazole_approved, cycle=2, lines=lines
        )
    assert made.total_mg == 1960 and made.plan_version is not None


def test_the_hospital_sets_its_own_early_window(posaconazole_approved, pharmacist, hospital):
    hospital.dispense_early_window_days = 7
    hospital.save()
    dispensation_create(
        actor=pharmacist,
        request=posaconazole_approved,
        cycle=1,
        lines=_lines(planned_tablets(posaconazole_approved, 1)),
    )
    with time_machine.travel(cycle_start(2) - timedelta(days=7), tick=False):
        made = dispensation_create(
            actor=pharmacist,
            request=posaconazole_approved,
            cycle=2,
            lines=_lines(planned_tablets(posaconazole_approved, 2)),
        )
    assert made.cycle == 2


def test_a_later_cycle_is_held_by_an_every_cycle_finding_but_not_by_an_initiation_one(
    approved, pharmacist, physician
):
    tls_record(approved, pharmacist)
    dispensation_create(
        actor=pharmacist, request=approved, cycle=1, lines=_lines(planned_tablets(approved, 1))
    )
    approved.patient.wbc_10e9_l = Decimal(40)  # initiation only: not a reason to stop cycle 2
    approved.patient.save()
    lines = _lines(planned_tablets(approved, 2))
    with time_machine.travel(cycle_start(2), tick=False):
        dispensation_create(actor=pharmacist, request=approved, cycle=2, lines=lines)
    approved.patient.medications.create(drug_name="rifampicin", interaction="unknown")
    with (
        time_machine.travel(cycle_start(3), tick=False),
        pytest.raises(ApplicationError, match="CYP3A inducer: avoid"),
    ):
        dispensation_create(
            actor=pharmacist, request=approved, cycle=3, lines=_lines(planned_tablets(approved, 3))
        )


def test_the_next_cycle_waits_for_recovery_from_a_grade_4_cytopenia_after_remission(
    approved, pharmacist, physician
):
    from followup.services import adverse_event_create, response_assessment_create

    tls_record(approved, pharmacist)
    dispensation_create(
        actor=pharmacist, request=approved, cycle=1, lines=_lines(planned_tablets(approved, 1))
    )
    approved.refresh_from_db()
    with time_machine.travel(cycle_start(1) + timedelta(days=24), tick=False):
        response_assessment_create(
            actor=physician, request=approved, assessed_on=date(2026, 12, 20), response="cr"
        )
        event = adverse_event_create(
            actor=physician,
            request=approved,
            term="neutrophil_count_decreased",
            grade=4,
            onset_on=date(2026, 12, 22),
            outcome="not_recovered",
            relation="probably",
        )
    plan = plan_of(approved)
    assert plan is not None and plan.cycle(2).waits_for.startswith(
        "grade 4 neutrophil count decreased since 2026-12-22"
    )
    with (
        time_machine.travel(cycle_start(2), tick=False),
        pytest.raises(ApplicationError, match="waits for recovery"),
    ):
        dispensation_create(
            actor=pharmacist, request=approved, cycle=2, lines=_lines(planned_tablets(approved, 1))
        )
    versions = TreatmentPlanVersion.objects.filter(request=approved).count()
    from followup.services import adverse_event_update

    with time_machine.travel(date(2027, 1, 5), tick=False):
        adverse_event_update(
            actor=physician,
            event=event,
            fields={"recovered_to_grade_2_on": date(2027, 1, 4), "outcome": "recovering"},
        )
    assert TreatmentPlanVersion.objects.filter(request=approved).count() == versions + 1
    plan = plan_of(approved)
    assert plan is not None
    two = plan.cycle(2)
    assert two.start_on == date(2027, 1, 4) and not two.waits_for  # delayed, same dose
    assert two.ven_days == 28 and two.total_mg == 28 * 400
    with time_machine.travel(date(2027, 1, 5), tick=False):
        made = dispensation_create(
            actor=pharmacist, request=approved, cycle=2, lines=_lines(planned_tablets(approved, 2))
        )
    assert made.cycle == 2


def test_a_change_to_the_plans_inputs_makes_a_new_version_and_is_audited(
    draft, physician, pharmacist
):
    before = TreatmentPlanVersion.objects.filter(request=draft).count()
    assert before >= 1
    request_update(
        actor=physician,
        request=draft,
        fields={"cycles_planned": 6},
        expected_version=draft.version,
    )
    latest = TreatmentPlanVersion.objects.filter(request=draft).order_by("-number").first()
    assert latest is not None and latest.number == before + 1
    assert latest.changed == ["cycles"] and len(latest.schedule) == 6
    assert AuditEvent.objects.filter(action="plan.version_created").count() >= before + 1
    # Unchanged inputs make no new version.
    draft.refresh_from_db()
    request_update(
        actor=physician, request=draft, fields={"cycles_planned": 6}, expected_version=draft.version
    )
    assert TreatmentPlanVersion.objects.filter(request=draft).count() == before + 1


def test_the_queue_shows_blocking_findings_and_the_request_page_the_plan_version(
    client, draft, pharmacist, physician
):
    from prescriptions.services import request_transition
    from tests.prescriptions.conftest import checklist_complete

    draft.patient.medications.create(**POSACONAZOLE)
    request_update(
        actor=physician, request=draft, fields={"cycles_planned": 3}, expected_version=draft.version
    )
    draft.refresh_from_db()
    checklist_complete(draft)
    request_transition(actor=physician, request=draft, transition="submit")
    client.force_login(pharmacist)
    queue = client.get(reverse("requests:queue")).content.decode()
    assert "Blocking" in queue and '<strong class="error">1</strong>' in queue
    detail = client.get(reverse("requests:detail", args=[draft.pk])).content.decode()
    number = TreatmentPlanVersion.objects.filter(request=draft).order_by("-number")[0].number
    assert f"Treatment plan version {number}" in detail
    assert "ramp-up 10/20/50/70 mg" in detail
    assert OffLabelRequest.objects.get(pk=draft.pk).safety_summary.open_blocking == 1


def test_the_registry_export_reads_the_plans_daily_dose(draft, physician):
    """Law 648 export: the dose is the plan's (70 mg with posaconazole), not the 400 asked."""
    from followup.exports import planned_daily_doses

    draft.patient.medications.create(**POSACONAZOLE)
    request_update(
        actor=physician, request=draft, fields={"cycles_planned": 3}, expected_version=draft.version
    )
    assert planned_daily_doses([draft]) == {draft.pk: Decimal(70)}
