"""The hospital administrator's report, computed in the database.

Every figure is an aggregate query (GROUP BY, COUNT, SUM, EXISTS): no Python loop over
requests. The request-level figures (states, decisions, both durations with their medians and
90th percentiles) come from ONE pass over the requests (``request_figures``): conditional
counts and, on PostgreSQL, ``PERCENTILE_DISC`` in the same ``aggregate()``, so each request's
first transitions are looked up once, not once per figure. Percentiles are nearest-rank: the
smallest duration with at least p of the durations at or below it, which is exactly what
``PERCENTILE_DISC`` returns (elsewhere a CUME_DIST window query per percentile does).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connections
from django.db.models import (
    Aggregate,
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


class PercentileDisc(Aggregate):
    """PostgreSQL's nearest-rank percentile, an ordered-set aggregate (NULLs are left out)."""

    function = "PERCENTILE_DISC"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        super().__init__(expression, fraction=float(fraction), **extra)


@dataclass(frozen=True)
class RequestFigures:
    by_state: dict[str, int]
    approved: int
    rejected: int
    to_decision: Durations
    to_authorisation: Durations


def _timed(requests: QuerySet[OffLabelRequest]) -> QuerySet[OffLabelRequest]:
    """One row per request with its first submission and decision, its first outside grant
    and whether it was ever approved or rejected: one join with the transitions and the
    applications grouped by request (MIN and conditional counts are unaffected by the join's
    repeated rows), instead of a correlated lookup per request and per figure."""
    transition_to = "transitions__to_status"
    return (
        requests.annotate(
            _submitted=Min("transitions__occurred_at", filter=Q(**{transition_to: S.SUBMITTED})),
            _decided=Min(
                "transitions__occurred_at", filter=Q(**{f"{transition_to}__in": DECISIONS})
            ),
            _granted=Min(
                "applications__decided_at",
                filter=Q(applications__status=Application.Status.GRANTED),
            ),
            _approvals=Count("transitions", filter=Q(**{f"{transition_to}__in": EVER_APPROVED})),
            _rejections=Count("transitions", filter=Q(**{transition_to: S.REJECTED})),
        )
        .annotate(
            _to_decision=ExpressionWrapper(F("_decided") - F("_submitted"), DurationField()),
            # The body's decision date is a day: counted from the submission's midnight.
            _to_authorisation=ExpressionWrapper(
                F("_granted") - F("_submitted__date"), DurationField()
            ),
        )
        .order_by()
    )


def request_figures(requests: QuerySet[OffLabelRequest]) -> RequestFigures:
    """States, decisions and both durations in one ``aggregate()`` over the requests."""
    timed = _timed(requests)
    aggregates: dict[str, Any] = {
        f"state:{value}": Count("pk", filter=Q(status=value)) for value in S.values
    }
    aggregates["approved"] = Count("pk", filter=Q(_approvals__gt=0))
    aggregates["rejected"] = Count("pk", filter=Q(_rejections__gt=0))
    durations = ("_to_decision", "_to_authorisation")
    one_pass = connections[timed.db].vendor == "postgresql"
    for name in durations:
        aggregates[f"{name}:n"] = Count(name)
        if one_pass:
            aggregates[f"{name}:median"] = PercentileDisc(name, 0.5, output_field=DurationField())
            aggregates[f"{name}:p90"] = PercentileDisc(name, 0.9, output_field=DurationField())
    row = timed.aggregate(**aggregates)

    def figures(name: str) -> Durations:
        if one_pass:
            return Durations(row[f"{name}:n"], row[f"{name}:median"], row[f"{name}:p90"])
        present = timed.filter(**{f"{name}__isnull": False})
        return Durations(
            row[f"{name}:n"], _percentile(present, name, 0.5), _percentile(present, name, 0.9)
        )

    return RequestFigures(
        by_state={value: row[f"state:{value}"] for value in S.values if row[f"state:{value}"]},
        approved=row["approved"],
        rejected=row["rejected"],
        to_decision=figures("_to_decision"),
        to_authorisation=figures("_to_authorisation"),
    )


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
    figures = request_figures(requests)
    report.by_state = [
        {"status": status, "n": n, "label": labels.get(status, status)}
        for status, n in sorted(figures.by_state.items(), key=lambda item: (-item[1], item[0]))
    ]
    report.total = sum(figures.by_state.values())
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
    report.approved, report.rejected = figures.approved, figures.rejected
    report.to_decision = figures.to_decision
    report.to_authorisation = figures.to_authorisation

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
