"""A suspected adverse reaction (serious or not) raises one reporting reminder with the legal
deadline, e-mails the hospital's pharmacists, and is resolved (audited) when the report
reference is recorded."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from audit.models import AuditEvent
from followup.models import PharmacovigilanceReminder, ReportingDeadline
from followup.services import adverse_event_create, adverse_event_update, pv_reminder_resolve
from offlabel.exceptions import ApplicationError, ConflictError, NotVisible
from tests.factories import UserFactory
from tests.followup.conftest import ae_fields, days_ago


@pytest.fixture
def mailboxes(pharmacist, physician, hospital, foreign_pharmacist):
    """E-mail addresses: the hospital's pharmacists should get the reminder, nobody else."""
    pharmacist.email = "ph.rossi@hospital.invalid"
    pharmacist.save()
    second = UserFactory.create(username="ph.second", hospital=hospital, role="pharmacist")
    second.email = "ph.second@hospital.invalid"
    second.save()
    physician.email = "dr.house@hospital.invalid"
    physician.save()
    foreign_pharmacist.email = "ph.foreign@other.invalid"
    foreign_pharmacist.save()
    return ["ph.rossi@hospital.invalid", "ph.second@hospital.invalid"]


def _serious(**overrides):
    return ae_fields(
        term="sepsis",
        grade=4,
        serious=True,
        outcome="recovering",
        resolved_on=None,
        **overrides,
    )


def test_the_italian_deadline_is_stored_as_data_with_its_source(db):
    rule = ReportingDeadline.objects.get(country="IT", biological=False, is_current=True)
    assert rule.hours == 48 and rule.version == 2
    assert "DM 30 April 2015" in rule.source and "serious or not" in rule.source
    assert not rule.confirmed and "Verify against the current text" in rule.unconfirmed_note
    assert ReportingDeadline.objects.get(country="IT", biological=True, is_current=True).hours == 36


def test_a_serious_event_raises_one_reminder_due_two_days_after_awareness_and_one_mail(
    treated, physician, mailboxes, django_capture_on_commit_callbacks
):
    aware = days_ago(1)
    with django_capture_on_commit_callbacks(execute=True):
        event = adverse_event_create(actor=physician, request=treated, **_serious(aware_on=aware))
    reminder = PharmacovigilanceReminder.objects.get()
    assert reminder.adverse_event == event
    # Aware yesterday: the deadline runs from the start of that day, 48 hours.
    aware_at = timezone.make_aware(datetime.combine(aware, time.min))
    assert reminder.aware_at == aware_at
    assert reminder.due_at == aware_at + timedelta(hours=48)
    assert timezone.localtime(reminder.due_at).date() == aware + timedelta(days=2)
    assert reminder.deadline_hours == 48 and "DM 30 April 2015" in reminder.deadline_source
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sorted(sent.to) == mailboxes
    assert treated.reference in sent.subject
    assert "Sepsis" in sent.body and f"{reminder.due_at:%Y}" in sent.body
    assert "verify against the current text" in sent.body
    assert treated.patient.pseudonym in sent.body
    raised = AuditEvent.objects.get(action="pv_reminder.raised")
    assert raised.after["reminder"] == reminder.pk and raised.after["emailed_to"] == mailboxes


def test_aware_today_means_due_48_hours_from_now(treated, physician, mailboxes):
    before = timezone.now()
    adverse_event_create(actor=physician, request=treated, **_serious())
    after = timezone.now()
    reminder = PharmacovigilanceReminder.objects.get()
    assert reminder.due_at is not None
    assert before + timedelta(hours=48) <= reminder.due_at <= after + timedelta(hours=48)


def test_an_event_unlikely_related_raises_nothing_even_if_serious(
    treated, physician, mailboxes, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        adverse_event_create(
            actor=physician, request=treated, **_serious(relation="unlikely", aware_on=None)
        )
    assert not PharmacovigilanceReminder.objects.exists()
    assert mail.outbox == []
    assert not AuditEvent.objects.filter(action="pv_reminder.raised").exists()


def test_no_mail_leaves_when_the_transaction_rolls_back(
    treated, physician, mailboxes, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        adverse_event_create(actor=physician, request=treated, **_serious())
        raise RuntimeError("something later in the same request failed")
    assert callbacks == [] and mail.outbox == []
    assert not PharmacovigilanceReminder.objects.exists()


def test_an_event_that_becomes_suspected_raises_its_reminder_once(
    treated, physician, mailboxes, django_capture_on_commit_callbacks
):
    event = adverse_event_create(
        actor=physician, request=treated, **ae_fields(grade=3, relation="unrelated")
    )
    assert not PharmacovigilanceReminder.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        adverse_event_update(actor=physician, event=event, fields={"relation": "possibly"})
        adverse_event_update(actor=physician, event=event, fields={"relation": "probably"})
    assert PharmacovigilanceReminder.objects.filter(adverse_event=event).count() == 1
    assert len(mail.outbox) == 1


def test_the_reminder_keeps_the_deadline_it_was_raised_with(treated, physician):
    adverse_event_create(actor=physician, request=treated, **_serious(aware_on=days_ago(2)))
    ReportingDeadline.objects.filter(country="IT", biological=False).update(hours=24)
    reminder = PharmacovigilanceReminder.objects.get()
    assert reminder.deadline_hours == 48 and reminder.due_at is not None
    assert reminder.due_at - reminder.aware_at == timedelta(hours=48)


def test_without_a_stored_deadline_the_reminder_says_so(treated, physician, hospital):
    hospital.country = "GB"
    hospital.save()
    adverse_event_create(actor=physician, request=treated, **_serious())
    reminder = PharmacovigilanceReminder.objects.get()
    assert reminder.due_at is None and reminder.deadline is None
    assert "no deadline is stored for GB" in reminder.message


def test_resolving_records_the_reference_and_is_audited(treated, physician, pharmacist):
    adverse_event_create(actor=physician, request=treated, **_serious(aware_on=days_ago(1)))
    reminder = PharmacovigilanceReminder.objects.get()
    with pytest.raises(ApplicationError, match="reference"):
        pv_reminder_resolve(actor=pharmacist, reminder=reminder, report_reference="  ")
    resolved = pv_reminder_resolve(
        actor=pharmacist, reminder=reminder, report_reference="RNF-2026-000123"
    )
    assert resolved.resolved_at is not None and resolved.resolved_by == pharmacist
    assert resolved.reported_on == timezone.localdate()
    audit = AuditEvent.objects.get(action="pv_reminder.resolved")
    assert audit.actor == pharmacist and audit.object_id == str(treated.pk)
    assert "RNF-2026-000123" in audit.summary and audit.after["late"] is False
    with pytest.raises(ConflictError, match="Already reported"):
        pv_reminder_resolve(actor=physician, reminder=reminder, report_reference="again")
    assert AuditEvent.objects.filter(action="pv_reminder.resolved").count() == 1


def test_only_the_hospitals_pharmacist_or_the_prescriber_resolves(
    treated, physician, foreign_pharmacist, hospital_admin
):
    adverse_event_create(actor=physician, request=treated, **_serious())
    reminder = PharmacovigilanceReminder.objects.get()
    with pytest.raises(NotVisible):
        pv_reminder_resolve(actor=foreign_pharmacist, reminder=reminder, report_reference="X-1")
    with pytest.raises(ApplicationError, match="prescribing physician or a pharmacist"):
        pv_reminder_resolve(actor=hospital_admin, reminder=reminder, report_reference="X-1")
    reminder.refresh_from_db()
    assert reminder.resolved_at is None
    assert not AuditEvent.objects.filter(action="pv_reminder.resolved").exists()


def test_the_open_reminder_shows_on_the_registry_and_the_request_panel(
    client, treated, physician, pharmacist
):
    adverse_event_create(actor=physician, request=treated, **_serious())
    reminder = PharmacovigilanceReminder.objects.get()
    client.force_login(pharmacist)
    registry = client.get(reverse("followup:registry")).content.decode()
    assert "Pharmacovigilance reports due" in registry and escape(reminder.message) in registry
    panel = client.get(reverse("requests:detail", args=[treated.pk])).content.decode()
    assert escape(reminder.message) in panel and "verify against the current text" in panel
    # Recording the report through the page closes it everywhere.
    response = client.post(
        reverse("followup:pv-resolve", args=[reminder.pk]),
        {"report_reference": "RNF-77", "next": reverse("followup:registry")},
    )
    assert response.status_code == 302 and response["Location"] == reverse("followup:registry")
    registry = client.get(reverse("followup:registry")).content.decode()
    assert "Pharmacovigilance reports due" not in registry
    panel = client.get(reverse("requests:detail", args=[treated.pk])).content.decode()
    assert "reference RNF-77" in panel
