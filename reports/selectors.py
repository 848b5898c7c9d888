"""The hospital administrator's report, computed in the database.

Every figure is an aggregate query (GROUP BY, COUNT, SUM, EXISTS) or, for the medians and 90th
percentiles, a window function (CUME_DIST) over durations the database computes: no Python
loop over requests. Percentiles are nearest-rank: the smallest duration with at least p of the
durations at or below it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import (
    Count,
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Window,
)
from django.db.models.functions import Coalesce, CumeDist
from django.utils import timezone

from accounts.models import Hospital
from consent.models import ConsentDocument, ConsentSignature
from followup.models import AdverseEvent
from followup.selectors import TREATED_STATES, treated_requests, with_outcomes
from offlabel.dates import local_midnight
from pharmacy.models import Dispensation
from pharmacy.selectors import costs_by_payer
from prescriptions.models import OffLabelRequest, RequestTransition
from regulatory.models import Application, Reminder

S = OffLabelRequest.Status
DECISIONS = (S.APPROVED, S.REJECTED, S.AWAITING_AUTHORISATION)  # the pharmacy's decision
EVER_APPROVED = (S.APPROVED,)
OPEN_APPLICATION = (
    Application.Status.PREPARING,
    Application.Status.SUBMITTED,
    Application.Status.ACKNOWLEDGED,
    Application.Status.INFORMATION_REQUESTED,
    Application.Status.ANSWERED,
)


@dataclass(frozen=True)
class ReportFilters:
    """Which requests the report covers: created in the period, and the other choices."""

    date_from: date | None = None
    date_to: date | None = None
    department_id: int | None = None
    physician_id: int | None = None
    pathway: str = ""
    state: str = ""

    def as_data(self) -> dict[str, Any]:
        return {
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
            "department_id": self.department_id,
            "physician_id": self.physician_id,
            "pathway": self.pathway,
            "state": self.state,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> ReportFilters:
        return cls(
            date_from=date.fromisoformat(data["date_from"]) if data.get("date_from") else None,
            date_to=date.fromisoformat(data["date_to"]) if data.get("date_to") else None,
            department_id=data.get("department_id"),
            physician_id=data.get("physician_id"),
            pathway=data.get("pathway") or "",
            state=data.get("state") or "",
        )


@dataclass(frozen=True)
class Durations:
    n: int
    median: timedelta | None
    p90: timedelta | None

    @staticmethod
    def days(value: timedelta | None) -> float | None:
        return None if value is None else round(value.total_seconds() / 86400, 1)

    @property
    def median_days(self) -> float | None:
        return self.days(self.median)

    @property
    def p90_days(self) -> float | None:
        return self.days(self.p90)


@dataclass
class Report:
    hospital: Hospital
    filters: ReportFilters
    generated_at: datetime
    total: int = 0
    by_state: list[Any] = field(default_factory=list)
    by_pathway: list[Any] = field(default_factory=list)
    approved: int = 0
    rejected: int = 0
    to_decision: Durations = Durations(0, None, None)
    to_authorisation: Durations = Durations(0, None, None)
    applications_open: int = 0
    applications_overdue: list[Any] = field(default_factory=list)
    approved_without_consent: list[Any] = field(default_factory=list)
    dispensing: list[Any] = field(default_factory=list)
    responses: list[Any] = field(default_factory=list)
    adverse_events: list[Any] = field(default_factory=list)
    physicians: list[Any] = field(default_factory=list)

    @property
    def decided(self) -> int:
        return self.approved + self.rejected

    @property
    def approval_rate(self) -> float | None:
        return None if not self.decided else 100 * self.approved / self.decided

    @property
    def rejection_rate(self) -> float | None:
        return None if not self.decided else 100 * self.rejected / self.decided


def requests_in_scope(hospital: Hospital, filters: ReportFilters) -> QuerySet[OffLabelRequest]:
    # A discarded draft was never a request anyone acted on: the report leaves it out.
    queryset = OffLabelRequest.objects.kept().filter(hospital=hospital)
    if filters.date_from:
        queryset = queryset.filter(created_at__gte=local_midnight(filters.date_from))
    if filters.date_to:
        queryset = queryset.filter(
            created_at__lt=local_midnight(filters.date_to + timedelta(days=1))
        )
    if filters.department_id:
        queryset = queryset.filter(prescriber__department_id=filters.department_id)
    if filters.physician_id:
        queryset = queryset.filter(prescriber_id=filters.physician_id)
    if filters.pathway:
        queryset = queryset.filter(pathway_choice__pathway_version__pathway__code=filters.pathway)
    if filters.state:
        queryset = queryset.filter(status=filters.state)
    return queryset


def _first_transition(*statuses: str) -> Subquery:
    return Subquery(
        RequestTransition.objects.filter(request=OuterRef("pk"), to_status__in=statuses)
        .order_by("occurred_at")
        .values("occurred_at")[:1],
        output_field=DateTimeField(),
    )


def _ever(*statuses: str) -> Exists:
    return Exists(RequestTransition.objects.filter(request=OuterRef("pk"), to_status__in=statuses))


def _percentile(queryset: QuerySet[Any], name: str, q: float) -> timedelta | None:
    ranked = queryset.annotate(_cume=Window(CumeDist(), order_by=F(name).asc())).values_list(
        name, "_cume"
    )
    row = ranked.filter(_cume__gte=q).order_by(name).first()  # filtered outside the window
    return None if row is None else row[0]


def _durations(queryset: QuerySet[Any], name: str) -> Durations:
    present = queryset.filter(**{f"{name}__isnull": False})
    return Durations(
        n=present.count(),
        median=_percentile(present, name, 0.5),
        p90=_percentile(present, name, 0.9),
    )


def durations_to_decision(requests: QuerySet[OffLabelRequest]) -> Durations:
    timed = requests.annotate(
        _submitted=_first_transition(S.SUBMITTED), _decided=_first_transition(*DECISIONS)
    ).annotate(_to_decision=ExpressionWrapper(F("_decided") - F("_submitted"), DurationField()))
    return _durations(timed, "_to_decision")


def durations_to_authorisation(requests: QuerySet[OffLabelRequest]) -> Durations:
    """From submission to the day the first outside authorisation was granted (the body's
    decision date is a day, so this is counted from the submission's midnight)."""
    granted = Subquery(
        Application.objects.filter(request=OuterRef("pk"), status=Application.Status.GRANTED)
        .order_by("decided_at")
        .values("decided_at")[:1]
    )
    timed = requests.annotate(_submitted=_first_transition(S.SUBMITTED), _granted=granted).annotate(
        _to_authorisation=ExpressionWrapper(F("_granted") - F("_submitted__date"), DurationField())
    )
    return _durations(timed, "_to_authorisation")


def _signed_consent() -> Exists:
    return Exists(
        ConsentSignature.objects.filter(
            document__request=OuterRef("pk"),
            document__status=ConsentDocument.Status.READY,
            withdrawn_at__isnull=True,
        )
    )


def report_compute(*, hospital: Hospital, filters: ReportFilters) -> Report:
    requests = requests_in_scope(hospital, filters)
    report = Report(hospital=hospital, filters=filters, generated_at=timezone.now())
    labels = dict(S.choices)
    report.by_state = [
        {**row, "label": labels.get(row["status"], row["status"])}
        for row in requests.values("status").annotate(n=Count("pk")).order_by("-n", "status")
    ]
    report.total = sum(row["n"] for row in report.by_state)
    report.by_pathway = list(
        requests.values(
            code=Coalesce(F("pathway_choice__pathway_version__pathway__code"), F("pathway")),
            name=F("pathway_choice__pathway_version__name"),
        )
        .annotate(n=Count("pk"))
        .order_by("-n", "code")
    )
    flags = requests.annotate(
        _approved=_ever(*EVER_APPROVED), _rejected=_ever(S.REJECTED), _signed=_signed_consent()
    )
    decided = flags.aggregate(
        approved=Count("pk", filter=Q(_approved=True)),
        rejected=Count("pk", filter=Q(_rejected=True)),
    )
    report.approved, report.rejected = decided["approved"], decided["rejected"]
    report.to_decision = durations_to_decision(requests)
    report.to_authorisation = durations_to_authorisation(requests)

    applications = Application.objects.filter(request__in=requests, status__in=OPEN_APPLICATION)
    report.applications_open = applications.count()
    overdue = Reminder.objects.filter(
        application__in=applications, resolved_at__isnull=True, due_on__lt=timezone.localdate()
    )
    report.applications_overdue = list(
        overdue.values(
            "application_id",
            reference_pk=F("application__request_id"),
            pseudonym=F("application__request__patient__pseudonym"),
            body=F("application__body"),
        )
        .annotate(due_on=Min("due_on"), reminders=Count("pk"))
        .order_by("due_on")
    )
    report.approved_without_consent = list(
        flags.filter(_approved=True, _signed=False)
        .values("pk", "status", pseudonym=F("patient__pseudonym"))
        .order_by("pk")
    )
    report.dispensing = costs_by_payer(Dispensation.objects.filter(request__in=requests))

    treated = with_outcomes(treated_requests(requests))
    report.responses = list(
        treated.values("best_response")
        .annotate(n=Count("pk", distinct=True))
        .order_by("best_response")
    )
    report.adverse_events = list(
        AdverseEvent.objects.filter(request__in=requests)
        .values("grade")
        .annotate(events=Count("pk"), patients=Count("request", distinct=True))
        .order_by("grade")
    )
    cost = Subquery(
        Dispensation.objects.filter(request=OuterRef("pk"))
        .values("request")
        .annotate(total=Sum("cost"))
        .values("total")[:1]
    )
    report.physicians = list(
        flags.annotate(_cost=cost)
        .values(
            "prescriber_id",
            username=F("prescriber__username"),
            first_name=F("prescriber__first_name"),
            last_name=F("prescriber__last_name"),
        )
        .annotate(
            requests=Count("pk"),
            approved=Count("pk", filter=Q(_approved=True)),
            rejected=Count("pk", filter=Q(_rejected=True)),
            treated=Count("pk", filter=Q(status__in=TREATED_STATES)),
            cost=Coalesce(Sum("_cost"), Decimal(0)),
        )
        .order_by("username")
    )
    return report
