"""Writes of the follow-up registry: response assessments, adverse events (and the
pharmacovigilance reminder a suspected adverse reaction raises), the follow-up record, and the
audited Law 648 export.

Every write checks, in this order: the request is of the actor's hospital (else "not found"),
the actor is its prescribing physician or a pharmacist of the hospital, treatment has started
(an active, completed or suspended request with a first dispensation), and every date lies
between the start of treatment and today. The change and its audit event share a transaction.
Audit summaries name the request by reference and the patient by pseudonym only.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext, pgettext_lazy
from django_stubs_ext import StrOrPromise

from accounts.models import User
from accounts.roles import Role, roles_of
from audit.actions import AuditAction
from audit.services import audit_record, model_update_audited
from followup.ctcae import grade_problem
from followup.models import (
    AdverseEvent,
    FollowUp,
    Mrd,
    PharmacovigilanceReminder,
    ReportingDeadline,
    ResponseAssessment,
    pv_reminder_params,
    pv_reminder_sentence,
)
from followup.selectors import (
    RegistryFilters,
    RequestWithOutcomes,
    treated_requests,
    with_outcomes,
)
from offlabel.dates import date_is_future, local_midnight
from offlabel.exceptions import ApplicationError, ConflictError
from offlabel.i18n import english
from pharmacy.selectors import treatment_started_on
from prescriptions.models import OffLabelRequest
from prescriptions.policies import (
    acts_as_prescriber,
    request_lock_for_change,
    requests_visible_to,
    require_same_hospital,
)
from prescriptions.services import inputs_changed

logger = logging.getLogger(__name__)

FOLLOWUP_FIELDS = (
    "transplant_on",
    "treatment_end_on",
    "treatment_end_reason",
    "treatment_end_note",
    "death_on",
    "death_cause",
    "last_contact_on",
)
# How a refusal names each date ("The date of death (…) is in the future.").
FOLLOWUP_DATES = {
    "transplant_on": pgettext_lazy("date in a sentence", "transplant date"),
    "treatment_end_on": pgettext_lazy("date in a sentence", "end of treatment"),
    "death_on": pgettext_lazy("date in a sentence", "date of death"),
    "last_contact_on": pgettext_lazy("date in a sentence", "last contact date"),
}
ADVERSE_EVENT_UPDATABLE = (
    "grade",
    "serious",
    "outcome",
    "resolved_on",
    "recovered_to_grade_2_on",
    "relation",
    "description",
)
REGISTRY_ROLES = {Role.PHARMACIST, Role.PHYSICIAN, Role.HOSPITAL_ADMIN}


def _label(request: OffLabelRequest) -> str:
    return f"{request.reference} ({request.patient.pseudonym})"


def _writer_check(actor: User, request: OffLabelRequest) -> None:
    """Follow-up is recorded by a pharmacist of the hospital or by the request's prescriber."""
    if Role.PHARMACIST in roles_of(actor) or acts_as_prescriber(actor, request):
        return
    raise ApplicationError(
        gettext(
            "Only the prescribing physician or a pharmacist of the hospital can record follow-up."
        )
    )


def treated_request_for_change(
    actor: User, request: OffLabelRequest
) -> tuple[OffLabelRequest, date]:
    """The request, locked, and the day treatment started; or the reason the actor cannot
    record follow-up on it."""
    locked = request_lock_for_change(actor, request, related=("patient", "hospital", "drug"))
    _writer_check(actor, locked)
    if locked.status not in OffLabelRequest.TREATED_STATES:
        raise ApplicationError(
            gettext(
                "%(reference)s is '%(status)s': follow-up is recorded once treatment has started "
                "(active, completed or suspended)."
            )
            % {"reference": locked.reference, "status": locked.get_status_display()}
        )
    started = treatment_started_on(locked)
    if started is None:
        raise ApplicationError(
            gettext("%(reference)s: no cycle has been dispensed yet, so treatment has not started.")
            % {"reference": locked.reference}
        )
    return locked, started


def _date_check(value: date, started: date, what: StrOrPromise, field: str) -> None:
    facts = {"what": what, "date": f"{value:%Y-%m-%d}", "started": f"{started:%Y-%m-%d}"}
    if date_is_future(value):  # the one rule for dates of what has happened (offlabel.dates)
        raise ApplicationError(
            gettext("The %(what)s (%(date)s) is in the future.") % facts, extra={"field": field}
        )
    if value < started:
        raise ApplicationError(
            gettext("The %(what)s (%(date)s) is before the start of treatment (%(started)s).")
            % facts,
            extra={"field": field},
        )


# --- Response assessments ------------------------------------------------------------------------


@transaction.atomic
def response_assessment_create(
    *,
    actor: User,
    request: OffLabelRequest,
    assessed_on: date,
    response: str,
    mrd: str = Mrd.NOT_ASSESSED,
    method: str = "",
    note: str = "",
) -> ResponseAssessment:
    request, started = treated_request_for_change(actor, request)
    _date_check(
        assessed_on, started, pgettext_lazy("date in a sentence", "assessment date"), "assessed_on"
    )
    assessment = ResponseAssessment(
        request=request,
        assessed_on=assessed_on,
        response=response,
        mrd=mrd,
        method=method.strip(),
        note=note.strip(),
        recorded_by=actor,
    )
    assessment.full_clean()
    assessment.save()
    audit_record(
        actor=actor,
        action=AuditAction.ASSESSMENT_RECORDED,
        target=request,
        summary=f"{_label(request)}: response {english(assessment.get_response_display)}, "
        f"{english(assessment.get_mrd_display)}, assessed on {assessed_on:%Y-%m-%d}",
        after={
            "assessment": assessment.pk,
            "assessed_on": assessed_on,
            "response": response,
            "mrd": mrd,
        },
    )
    # Remission is an input of the treatment plan (cycle length, delays): a new plan version.
    inputs_changed(actor=actor, requests=[request])
    return assessment


# --- Adverse events and pharmacovigilance ---------------------------------------------------------


def _event_data(event: AdverseEvent) -> dict[str, Any]:
    return {
        "term": event.term,
        "term_other": event.term_other,
        "grade": event.grade,
        "serious": event.serious,
        "onset_on": event.onset_on,
        "resolved_on": event.resolved_on,
        "recovered_to_grade_2_on": event.recovered_to_grade_2_on,
        "outcome": event.outcome,
        "relation": event.relation,
    }


def _event_grade_check(event: AdverseEvent) -> None:
    """A grade the term does not define in CTCAE v5.0 (febrile neutropenia grade 1) is refused
    with the grades it does define; also a model rule, checked here first to name the field."""
    problem = grade_problem(event.term, event.grade)
    if problem:
        raise ApplicationError(problem, extra={"field": "grade"})


def _event_dates_check(event: AdverseEvent, started: date) -> None:
    _date_check(
        event.onset_on, started, pgettext_lazy("date in a sentence", "onset date"), "onset_on"
    )
    if event.resolved_on is not None:
        _date_check(
            event.resolved_on,
            started,
            pgettext_lazy("date in a sentence", "resolution date"),
            "resolved_on",
        )
    if event.recovered_to_grade_2_on is not None:
        _date_check(
            event.recovered_to_grade_2_on,
            started,
            pgettext_lazy("date in a sentence", "date of recovery to grade 2 or lower"),
            "recovered_to_grade_2_on",
        )
        # Also a model rule (AdverseEvent.clean); checked here first to name the field.
        if event.recovered_to_grade_2_on < event.onset_on:
            raise ApplicationError(
                gettext("The event cannot recover to grade 2 or lower before its onset."),
                extra={"field": "recovered_to_grade_2_on"},
            )


@transaction.atomic
def adverse_event_create(
    *,
    actor: User,
    request: OffLabelRequest,
    term: str,
    grade: int,
    onset_on: date,
    outcome: str,
    relation: str,
    serious: bool = False,
    term_other: str = "",
    resolved_on: date | None = None,
    recovered_to_grade_2_on: date | None = None,
    description: str = "",
    aware_on: date | None = None,
) -> AdverseEvent:
    """Record an adverse event; a suspected adverse reaction (relation possible or stronger),
    serious or not, also raises its reporting reminder (DM 30-4-2015 art. 22).

    ``aware_on``: when the reporter became aware of the reaction (today if not given); the
    reporting deadline runs from then. A cytopenia (and its recovery) is an input of the
    treatment plan: the plan gets a new version in the same transaction."""
    request, started = treated_request_for_change(actor, request)
    event = AdverseEvent(
        request=request,
        term=term,
        term_other=term_other,
        grade=grade,
        serious=serious,
        onset_on=onset_on,
        resolved_on=resolved_on,
        recovered_to_grade_2_on=recovered_to_grade_2_on,
        outcome=outcome,
        relation=relation,
        description=description.strip(),
        recorded_by=actor,
    )
    _event_grade_check(event)
    _event_dates_check(event, started)
    event.full_clean()
    event.save()
    term = english(lambda: event.term_label)  # the audit trail is English
    audit_record(
        actor=actor,
        action=AuditAction.ADVERSE_EVENT_RECORDED,
        target=request,
        summary=f"{_label(request)}: adverse event {term} grade {grade}"
        + (" (serious)" if serious else "")
        + f", onset {onset_on:%Y-%m-%d}, {english(event.get_relation_display).lower()} to VEN",
        after={"adverse_event": event.pk, **_event_data(event)},
    )
    if event.is_suspected_reaction:
        pv_reminder_raise(actor=actor, event=event, aware_on=aware_on)
    inputs_changed(actor=actor, requests=[request])
    return event


@transaction.atomic
def adverse_event_update(
    *, actor: User, event: AdverseEvent, fields: dict[str, Any], aware_on: date | None = None
) -> AdverseEvent:
    """Change how an event evolved (grade, outcome, resolution, recovery to grade <= 2,
    seriousness, relation). An event that becomes a suspected adverse reaction (its relation
    becomes possible or stronger) raises its reporting reminder then;
    the treatment plan gets a new version in the same transaction."""
    unknown = set(fields) - set(ADVERSE_EVENT_UPDATABLE)
    if unknown:
        raise ApplicationError(
            gettext("Cannot change %(fields)s of an adverse event.")
            % {"fields": ", ".join(sorted(unknown))}
        )
    event = AdverseEvent.objects.select_related("request").get(pk=event.pk)
    request, started = treated_request_for_change(actor, event.request)
    event = AdverseEvent.objects.select_for_update().get(pk=event.pk)

    def checks(changed: AdverseEvent) -> None:
        _event_grade_check(changed)
        _event_dates_check(changed, started)

    model_update_audited(
        event,
        fields=ADVERSE_EVENT_UPDATABLE,
        data=fields,
        actor=actor,
        action=AuditAction.ADVERSE_EVENT_UPDATED,
        # The term is not among the fields a change may touch: named before or after, alike.
        summary_prefix=f"{_label(request)}: adverse event {english(lambda: event.term_label)} "
        "updated",
        target=request,
        snapshot=_event_data,
        before_save=checks,
    )
    if (
        event.is_suspected_reaction
        and not PharmacovigilanceReminder.objects.filter(adverse_event=event).exists()
    ):
        pv_reminder_raise(actor=actor, event=event, aware_on=aware_on)
    inputs_changed(actor=actor, requests=[request])
    return event


def reporting_deadline_for(country: str, *, biological: bool) -> ReportingDeadline | None:
    """The current rule of the country for the medicine's kind (``Drug.biological``)."""
    return ReportingDeadline.objects.filter(
        country=country, biological=biological, is_current=True
    ).first()


def _pharmacist_emails(hospital_id: int) -> list[str]:
    emails = (
        User.objects.filter(hospital_id=hospital_id, groups__name=Role.PHARMACIST, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    return sorted(set(emails))


def _mail_after_commit(subject: str, body: str, recipients: list[str]) -> None:
    """Sent only once the reminder is committed, so a rolled-back event mails nobody. A mail
    server failure is logged, not raised: the reminder is on the pages either way."""
    if not recipients:
        return

    def send() -> None:
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
        except Exception:
            logger.exception("pharmacovigilance reminder e-mail not sent: %s", subject)

    transaction.on_commit(send)


@transaction.atomic
def pv_reminder_raise(
    *, actor: User, event: AdverseEvent, aware_on: date | None = None
) -> PharmacovigilanceReminder:
    """Raise the reporting reminder of a suspected adverse reaction: once per event (a
    one-to-one row), in the transaction that recorded the event or made it suspected."""
    request = event.request
    today = timezone.localdate()
    aware_on = aware_on or today
    if aware_on > today or aware_on < event.onset_on:
        raise ApplicationError(
            gettext("The date you became aware of the event lies between its onset and today."),
            extra={"field": "aware_on"},
        )
    # Aware today: the deadline runs from now. Aware on an earlier day: from the start of that
    # day, so the reminder is never later than the law's deadline.
    aware_at = timezone.now() if aware_on == today else local_midnight(aware_on)
    biological = request.drug.biological
    deadline = reporting_deadline_for(request.hospital.country, biological=biological)
    due_at = aware_at + timedelta(hours=deadline.hours) if deadline else None
    params = pv_reminder_params(
        event=event,
        request_label=_label(request),
        network=deadline.network if deadline else "",
        due_at=due_at,
        country=request.hospital.country,
        biological=biological,
    )
    # Stored (and e-mailed) in English; pages and the API show it in the reader's language
    # from ``params`` (display_message).
    with translation.override("en"):
        message = pv_reminder_sentence(params)
    recipients = _pharmacist_emails(request.hospital_id)
    reminder = PharmacovigilanceReminder.objects.create(
        adverse_event=event,
        hospital_id=request.hospital_id,
        deadline=deadline,
        deadline_hours=deadline.hours if deadline else None,
        deadline_source=deadline.source if deadline else "",
        deadline_confirmed=deadline.confirmed if deadline else False,
        aware_at=aware_at,
        due_at=due_at,
        message=message[:400],
        message_params=params,
        emailed_to=recipients,
    )
    audit_record(
        actor=actor,
        action=AuditAction.PV_REMINDER_RAISED,
        target=request,
        summary=message,
        after={
            "reminder": reminder.pk,
            "adverse_event": event.pk,
            "due_at": due_at,
            "deadline_hours": reminder.deadline_hours,
            "biological": biological,
            "source": reminder.deadline_source,
            "emailed_to": recipients,
        },
    )
    _mail_after_commit(
        f"[offlabel] Pharmacovigilance report due: {request.reference}",
        f"{message}\n\nSource of the deadline: {reminder.deadline_source or 'none stored'}"
        + ("" if reminder.deadline_confirmed else " (verify against the current text)")
        + f"\nRecord the report reference on the request page: /requests/{request.pk}/#followup",
        recipients,
    )
    return reminder


@transaction.atomic
def pv_reminder_resolve(
    *,
    actor: User,
    reminder: PharmacovigilanceReminder,
    report_reference: str,
    reported_on: date | None = None,
) -> PharmacovigilanceReminder:
    """The report was sent: record its reference (e.g. the national network's number)."""
    reminder = (
        PharmacovigilanceReminder.objects.select_for_update()
        .select_related("adverse_event__request__patient")
        .get(pk=reminder.pk)
    )
    request = reminder.adverse_event.request
    require_same_hospital(actor, reminder.hospital_id)
    _writer_check(actor, request)
    if reminder.resolved_at is not None:
        raise ConflictError(
            gettext("Already reported on %(date)s (reference %(reference)s).")
            % {"date": f"{reminder.reported_on:%Y-%m-%d}", "reference": reminder.report_reference}
        )
    report_reference = report_reference.strip()
    if not report_reference:
        raise ApplicationError(
            gettext("Give the reference of the report sent."), extra={"field": "report_reference"}
        )
    reported_on = reported_on or timezone.localdate()
    if date_is_future(reported_on):
        raise ApplicationError(
            gettext("The report date is in the future."), extra={"field": "reported_on"}
        )
    if reported_on < timezone.localdate(reminder.aware_at):
        raise ApplicationError(
            gettext("The report date is before you became aware of the event."),
            extra={"field": "reported_on"},
        )
    reminder.report_reference = report_reference
    reminder.reported_on = reported_on
    reminder.resolved_at = timezone.now()
    reminder.resolved_by = actor
    reminder.full_clean()
    reminder.save()
    late = reminder.due_at is not None and reminder.resolved_at > reminder.due_at
    audit_record(
        actor=actor,
        action=AuditAction.PV_REMINDER_RESOLVED,
        target=request,
        summary=f"{_label(request)}: suspected adverse reaction "
        f"'{english(lambda: reminder.adverse_event.term_label)}' reported on "
        f"{reported_on:%Y-%m-%d}, "
        f"reference {report_reference}" + (" (after the deadline)" if late else ""),
        after={
            "reminder": reminder.pk,
            "report_reference": report_reference,
            "reported_on": reported_on,
            "late": late,
        },
    )
    return reminder


# --- Follow-up record ----------------------------------------------------------------------------


def _followup_data(record: FollowUp) -> dict[str, Any]:
    return {name: getattr(record, name) for name in FOLLOWUP_FIELDS}


@transaction.atomic
def followup_update(*, actor: User, request: OffLabelRequest, fields: dict[str, Any]) -> FollowUp:
    """Set any of transplant, end of treatment (date and reason), death (date and cause) and
    last contact. Fields not given keep their value; None (or "") clears one."""
    unknown = set(fields) - set(FOLLOWUP_FIELDS)
    if unknown:
        raise ApplicationError(
            gettext("Cannot set %(fields)s on a follow-up record.")
            % {"fields": ", ".join(sorted(unknown))}
        )
    request, started = treated_request_for_change(actor, request)
    record = FollowUp.objects.filter(request=request).first() or FollowUp(request=request)
    # A cleared date is None, a cleared text "" (a text is stripped).
    data: dict[str, Any] = {
        name: (value or None) if name in FOLLOWUP_DATES else (value or "").strip()
        for name, value in fields.items()
    }
    for name, what in FOLLOWUP_DATES.items():
        value = data.get(name)
        if value is not None:
            _date_check(value, started, what, name)
    record.updated_by = actor
    model_update_audited(
        record,
        fields=FOLLOWUP_FIELDS,
        data=data,
        actor=actor,
        action=AuditAction.FOLLOWUP_UPDATED,
        summary_prefix=f"{_label(request)}: follow-up",
        target=request,
        snapshot=_followup_data,
    )
    return record


# --- Law 648 monitoring registry export ----------------------------------------------------------


def registry_readable_by(actor: User) -> bool:
    return bool(roles_of(actor) & REGISTRY_ROLES) and actor.hospital_id is not None


def registry_648_export(
    *, actor: User, filters: RegistryFilters | None = None
) -> list[RequestWithOutcomes]:
    """The treated requests the actor may see, with their outcomes, for the Law 648 AIFA
    monitoring registry. The download itself is an audit event (references, never names)."""
    if not registry_readable_by(actor):
        raise ApplicationError(
            gettext("Only pharmacists, physicians and hospital administrators can export.")
        )
    visible = OffLabelRequest.objects.filter(pk__in=requests_visible_to(actor).values("pk"))
    rows = list(with_outcomes(treated_requests(visible, filters)).order_by("started_at", "pk"))
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.REGISTRY_EXPORT_648,
            object_type="accounts.hospital",
            object_id=actor.hospital_id or "",
            summary=f"Law 648 monitoring export downloaded: {len(rows)} treated requests",
            after={
                "references": [r.reference for r in rows],
                "filters": {
                    "regimen": filters.regimen if filters else "",
                    "started_from": filters.started_from if filters else None,
                    "started_to": filters.started_to if filters else None,
                },
            },
        )
    return rows
