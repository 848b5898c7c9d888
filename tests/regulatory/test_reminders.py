"""The daily deadline job with a frozen clock: reminders raised once, e-mailed once."""

from datetime import date, timedelta

import pytest
import time_machine
from django.core import mail

from audit.models import AuditEvent
from regulatory.models import Reminder
from regulatory.reminders import reminders_raise
from regulatory.services import application_create, application_step

START = date(2026, 3, 2)


@pytest.fixture
def fund_application(make_request, pharmacist, rules):
    pharmacist.email = "pharmacy@example-hospital.invalid"
    pharmacist.save()
    request = make_request()
    with time_machine.travel(START, tick=False):
        application = application_create(
            actor=pharmacist,
            request=request,
            body="aifa",
            prepared_at=START,
            protocol_number="FONDO5-INVENTED-7",
        )
        application_step(actor=pharmacist, application=application, step="submit", on=START)
    return application


def _raise_on(day):
    with time_machine.travel(day, tick=False):
        return reminders_raise()


def test_an_answer_awaited_too_long_is_raised_once(fund_application):
    assert _raise_on(START + timedelta(days=10)) == []  # nothing is due yet
    mail.outbox.clear()
    day = START + timedelta(days=60)
    first = _raise_on(day)
    kinds = {r.rule.kind for r in first}
    assert "answer_awaited" in kinds
    assert len(mail.outbox) == len(first) and mail.outbox[0].to == [
        "pharmacy@example-hospital.invalid"
    ]
    assert fund_application.request.reference in mail.outbox[0].subject
    assert _raise_on(day) == []  # a second run raises nothing new
    assert _raise_on(day + timedelta(days=1)) == []  # nor does the next day's run
    assert len(mail.outbox) == len(first)
    assert Reminder.objects.filter(application=fund_application).count() == len(first)
    assert AuditEvent.objects.filter(action="reminder.raised").count() == len(first)


def test_expiry_and_renewal_report_reminders_before_the_authorisation_ends(
    fund_application, pharmacist
):
    decided = START + timedelta(days=20)
    valid_until = decided + timedelta(days=180)
    with time_machine.travel(decided, tick=False):
        application_step(
            actor=pharmacist,
            application=fund_application,
            step="grant",
            on=decided,
            valid_until=valid_until,
        )
    assert not Reminder.objects.filter(
        resolved_at=None
    ).exists()  # the decision closed the open ones
    before_window = {r.rule.kind for r in _raise_on(valid_until - timedelta(days=46))}
    assert "expiring" not in before_window and "renewal_due" not in before_window
    renewal = {r.rule.kind for r in _raise_on(valid_until - timedelta(days=45))}
    assert "renewal_due" in renewal and "expiring" not in renewal
    expiring = _raise_on(valid_until - timedelta(days=30))
    assert {r.rule.kind for r in expiring} == {"expiring"}
    assert expiring[0].due_on == valid_until - timedelta(days=30)
    assert _raise_on(valid_until - timedelta(days=29)) == []


def test_a_renewal_in_progress_stops_the_expiry_reminders(fund_application, pharmacist):
    decided = START + timedelta(days=20)
    valid_until = decided + timedelta(days=60)
    with time_machine.travel(decided, tick=False):
        application_step(
            actor=pharmacist,
            application=fund_application,
            step="grant",
            on=decided,
            valid_until=valid_until,
        )
        application_create(
            actor=pharmacist,
            request=fund_application.request,
            body="aifa",
            prepared_at=decided,
            renewal_of=fund_application,
        )
    raised = _raise_on(valid_until - timedelta(days=10))
    assert not [
        r for r in raised if r.application_id == fund_application.pk and r.rule.kind == "expiring"
    ]


def test_the_celery_task_runs_the_same_job(fund_application):
    from regulatory.tasks import reminders_raise_task

    with time_machine.travel(START + timedelta(days=60), tick=False):
        assert reminders_raise_task() >= 1
        assert reminders_raise_task() == 0


def test_a_step_reminder_closes_once_the_step_is_recorded(make_request, pharmacist, rules):
    request = make_request()
    with time_machine.travel(START, tick=False):
        application = application_create(
            actor=pharmacist, request=request, body="aifa", prepared_at=START
        )
    # Prepared on 2 March: the cut-off is the 10th of the month that follows (issue 13).
    assert not [r for r in _raise_on(date(2026, 4, 8)) if r.rule.code.startswith("aifa_fund")]
    cutoff = [r for r in _raise_on(date(2026, 4, 9)) if r.rule.code.startswith("aifa_fund_monthly")]
    assert cutoff, "a prepared but unsent 5% Fund request gets the cut-off reminder"
    with time_machine.travel(date(2026, 4, 9), tick=False):
        application_step(
            actor=pharmacist, application=application, step="submit", on=date(2026, 4, 9)
        )
    assert Reminder.objects.get(pk=cutoff[0].pk).resolved_at is not None


def test_a_pharmacist_marks_a_reminder_done(fund_application, pharmacist, physician):
    from offlabel.exceptions import ApplicationError
    from regulatory.reminders import reminder_resolve

    reminder = _raise_on(START + timedelta(days=60))[0]
    with pytest.raises(ApplicationError):
        reminder_resolve(actor=physician, reminder=reminder)
    reminder_resolve(actor=pharmacist, reminder=reminder)
    reminder.refresh_from_db()
    assert reminder.resolved_at is not None
    assert AuditEvent.objects.filter(action="reminder.resolved").count() == 1
