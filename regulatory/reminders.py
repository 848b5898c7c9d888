"""The daily deadline job (Celery beat): raise reminders for overdue steps, answers awaited too
long, authorisations expiring and renewal reports due. Deadlines are data (``DeadlineRule``).

Idempotent: a reminder is unique per application, rule and due date, and is claimed with
``get_or_create`` inside the transaction, so running the job twice raises (and mails) nothing new.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from audit.services import audit_record
from regulatory.models import Application, DeadlineRule, Reminder

OPEN = ("preparing", "submitted", "acknowledged", "information_requested", "answered")
AWAITING_BODY = ("submitted", "acknowledged", "answered")


def _applies(rule: DeadlineRule, application: Application, due: date) -> bool:
    """Whether the deadline is still relevant for the application's current state."""
    status = application.status
    if rule.kind == DeadlineRule.Kind.ANSWER_AWAITED:
        return status in AWAITING_BODY
    if rule.kind == DeadlineRule.Kind.OVERDUE_STEP:
        return status not in ("withdrawn", "denied")
    granted_without_renewal = (
        status == "granted" and not application.renewals.exclude(status="withdrawn").exists()
    )
    return granted_without_renewal  # expiring / renewal_due


def due_items(today: date, horizon_days: int = 0) -> list[tuple[Application, DeadlineRule, date]]:
    """(application, rule, due date) for every deadline due on or before today + horizon."""
    found = []
    rules = list(DeadlineRule.objects.all())
    applications = Application.objects.exclude(status__in=["denied", "withdrawn"]).select_related(
        "request"
    )
    for application in applications:
        for rule in rules:
            if (
                rule.body != application.body
                or rule.application_type != application.application_type
            ):
                continue
            anchor = getattr(application, rule.anchor, None)
            if anchor is None:
                continue
            due = anchor + timedelta(days=rule.offset_days)
            if due <= today + timedelta(days=horizon_days) and _applies(rule, application, due):
                found.append((application, rule, due))
    return found


def _recipients(application: Application) -> list[str]:
    pharmacists: QuerySet[User] = User.objects.filter(
        hospital_id=application.hospital_id, groups__name=Role.PHARMACIST, is_active=True
    ).exclude(email="")
    return sorted(set(pharmacists.values_list("email", flat=True)))


def reminders_raise(*, today: date | None = None) -> list[Reminder]:
    today = today or timezone.localdate()
    raised = []
    for application, rule, due in due_items(today):
        message = (
            f"{application.request.reference}: {rule.text} (due {due:%Y-%m-%d}; {application})"
        )
        try:
            with transaction.atomic():
                reminder, created = Reminder.objects.get_or_create(
                    application=application,
                    rule=rule,
                    due_on=due,
                    defaults={"message": message[:400]},
                )
                if not created:
                    continue
                recipients = _recipients(application)
                if recipients:
                    send_mail(
                        f"[offlabel] {rule.get_kind_display()}: {application.request.reference}",
                        message,
                        settings.DEFAULT_FROM_EMAIL,
                        recipients,
                    )
                reminder.emailed_to = recipients
                reminder.save(update_fields=["emailed_to"])
                audit_record(
                    actor=None,
                    action="reminder.raised",
                    target=application.request,
                    hospital=application.request.hospital,
                    summary=message[:500],
                    after={"rule": rule.code, "due_on": due, "emailed_to": recipients},
                )
        except IntegrityError:
            continue  # another run claimed it first
        raised.append(reminder)
    return raised
