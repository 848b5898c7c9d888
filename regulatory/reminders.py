"""The daily deadline job (Celery beat): raise reminders for overdue steps, answers awaited too
long, authorisations expiring and renewal reports due. Deadlines are data (``DeadlineRule``).

Idempotent: a reminder is unique per application, rule and due date, and is claimed with
``get_or_create`` inside the transaction, so running the job twice raises (and mails) nothing new.

``reminders_open`` lists every open reminder, of every kind: this app's, and those an app above
registers with ``reminder_source_register`` (the follow-up app's pharmacovigilance reports due,
registered from ``FollowupConfig.ready``), so this app imports nothing of theirs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import User
from accounts.roles import Role
from audit.actions import AuditAction
from audit.services import audit_record
from offlabel.i18n import localized
from prescriptions.models import OffLabelRequest
from prescriptions.policies import requests_visible_to, require_role, require_same_hospital
from regulatory.models import Application, DeadlineRule, Reminder

_S = Application.Status
# A step counted from one date is done once the application records the next one (e.g. a
# "submit before the cut-off" reminder is moot once submitted). Steps counted from the decision
# (the ethics committee informing AIFA) stay until a pharmacist marks the reminder done.
STEP_DONE_WHEN = {
    "prepared_at": "submitted_at",
    "submitted_at": "acknowledged_at",
    "acknowledged_at": "decided_at",
    "information_requested_at": "answered_at",
}


def _applies(rule: DeadlineRule, application: Application, due: date) -> bool:
    """Whether the deadline is still relevant for the application's current state."""
    status = application.status
    if rule.kind == DeadlineRule.Kind.ANSWER_AWAITED:
        return status in Application.AWAITING_BODY_STATES
    if rule.kind == DeadlineRule.Kind.OVERDUE_STEP:
        done_field = STEP_DONE_WHEN.get(rule.anchor)
        return status not in Application.ENDED_STATES and not (
            done_field and getattr(application, done_field)
        )
    granted_without_renewal = (
        status == _S.GRANTED and not application.renewals.exclude(status=_S.WITHDRAWN).exists()
    )
    return granted_without_renewal  # expiring / renewal_due


def due_items(today: date, horizon_days: int = 0) -> list[tuple[Application, DeadlineRule, date]]:
    """(application, rule, due date) for every deadline due on or before today + horizon."""
    found = []
    rules = list(DeadlineRule.objects.all())
    applications = Application.objects.exclude(status__in=Application.ENDED_STATES).select_related(
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
            due = rule.due_on(anchor)
            if due <= today + timedelta(days=horizon_days) and _applies(rule, application, due):
                found.append((application, rule, due))
    return found


def _recipients(application: Application) -> list[str]:
    pharmacists: QuerySet[User] = User.objects.filter(
        hospital_id=application.hospital_id, groups__name=Role.PHARMACIST, is_active=True
    ).exclude(email="")
    return sorted(set(pharmacists.values_list("email", flat=True)))


@transaction.atomic
def reminder_resolve(*, actor: User, reminder: Reminder) -> Reminder:
    """A pharmacist marks a reminder done (e.g. the ethics committee did inform AIFA)."""
    reminder = (
        Reminder.objects.select_for_update()
        .select_related("application__request")
        .get(pk=reminder.pk)
    )
    require_same_hospital(actor, reminder.application.hospital_id)
    require_role(
        actor,
        Role.PHARMACIST,
        Role.COMMITTEE_SECRETARY,
        message=gettext("Only a pharmacist or the committee secretary can mark reminders done."),
    )
    if reminder.resolved_at is None:
        reminder.resolved_at = timezone.now()
        reminder.save(update_fields=["resolved_at"])
        audit_record(
            actor=actor,
            action=AuditAction.REMINDER_RESOLVED,
            target=reminder.application.request,
            summary=f"Done: {reminder.message}"[:500],
            after={"reminder": reminder.pk},
        )
    return reminder


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
                    action=AuditAction.REMINDER_RAISED,
                    target=application.request,
                    hospital=application.request.hospital,
                    summary=message[:500],
                    after={"rule": rule.code, "due_on": due, "emailed_to": recipients},
                )
        except IntegrityError:
            continue  # another run claimed it first
        raised.append(reminder)
    return raised


# --- Every open reminder, of either kind ---------------------------------------------------------


@dataclass(frozen=True)
class OpenReminder:
    """One open reminder as a list shows it, whichever table it lives in: an outside
    application's deadline (``Reminder``) or a pharmacovigilance report due
    (``followup.PharmacovigilanceReminder``)."""

    APPLICATION = "application"
    PHARMACOVIGILANCE = "pharmacovigilance"

    kind: str
    pk: int
    # The day it is due in the hospital's time; None: no deadline is stored (as soon as possible).
    due_on: date | None
    due_at: datetime | None  # the hour too, where the deadline has one (pharmacovigilance)
    overdue: bool
    request_id: int
    reference: str
    pseudonym: str
    what: str  # in the reader's language
    about: str  # the application, or the source of the reporting deadline
    confirmed: bool
    rule_kind: str = ""  # DeadlineRule.Kind of an application reminder
    emailed_to: list[str] = field(default_factory=list)

    @property
    def is_pharmacovigilance(self) -> bool:
        return self.kind == self.PHARMACOVIGILANCE


# The open reminders of one kind kept by an app above this one: the requests the user may see,
# and now -> its rows.
ReminderSource = Callable[[QuerySet[OffLabelRequest], datetime], Iterable[OpenReminder]]
_SOURCES: dict[str, ReminderSource] = {}
# The kinds another app must register: a list without the pharmacovigilance reports due would
# hide a legal deadline, so ``reminders_open`` refuses to answer without them.
REQUIRED_SOURCES = (OpenReminder.PHARMACOVIGILANCE,)


def reminder_source_register(kind: str) -> Callable[[ReminderSource], ReminderSource]:
    """Decorator: ``source`` lists the open reminders of ``kind`` (registering a kind again
    replaces its source)."""

    def register(source: ReminderSource) -> ReminderSource:
        _SOURCES[kind] = source
        return source

    return register


def _sources() -> dict[str, ReminderSource]:
    missing = [kind for kind in REQUIRED_SOURCES if kind not in _SOURCES]
    if missing:
        raise ImproperlyConfigured(
            f"No source of open reminders registered for {', '.join(missing)}: the reminder "
            "lists would leave those deadlines out (the follow-up app registers the "
            "pharmacovigilance reports in its AppConfig.ready)."
        )
    return _SOURCES


def reminders_open(user: Any, *, now: datetime | None = None) -> list[OpenReminder]:
    """Every open reminder on the requests the user may see, soonest first (those without a
    deadline first of all: they are due as soon as possible). Two queries, whatever the number
    of reminders: one per table. ``ImproperlyConfigured`` when a required kind has no source."""
    sources = _sources()
    now = now or timezone.now()
    today = timezone.localdate(now)
    visible = requests_visible_to(user).values("pk")
    rows: list[OpenReminder] = []
    for reminder in (
        Reminder.objects.filter(application__request__in=visible, resolved_at=None)
        .select_related("application__request__patient", "rule")
        .order_by("due_on", "pk")
    ):
        request = reminder.application.request
        rows.append(
            OpenReminder(
                kind=OpenReminder.APPLICATION,
                pk=reminder.pk,
                due_on=reminder.due_on,
                due_at=None,
                overdue=reminder.due_on < today,
                request_id=request.pk,
                reference=request.reference,
                pseudonym=request.patient.pseudonym,
                what=localized(reminder.rule, "text"),
                about=str(reminder.application),
                confirmed=reminder.rule.confirmed,
                rule_kind=reminder.rule.kind,
                emailed_to=list(reminder.emailed_to or []),
            )
        )
    for source in sources.values():
        rows.extend(source(requests_visible_to(user), now))
    rows.sort(
        key=lambda r: (r.due_on or date.min, r.due_at.timestamp() if r.due_at else 0, r.kind, r.pk)
    )
    return rows
