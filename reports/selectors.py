"""The hospital administrator's report, computed in the database.

Every figure is an aggregate query (GROUP BY, COUNT, SUM, EXISTS): no Python loop over
requests. The request-level figures come from ONE statement over the requests
(``request_figures``): each request is read once, with its first submission and decision, its
first outside grant and whether it was ever approved or rejected, into one row; those rows are
then grouped four ways in the same statement: everything (the counts of decisions, both
durations with their medians and 90th percentiles), by state, by pathway and by physician.
Percentiles are nearest-rank: the smallest duration with at least p of the durations at or
below it, which is exactly what PostgreSQL's ``PERCENTILE_DISC`` returns (elsewhere, SQLite,
the smallest duration whose ``CUME_DIST`` reaches p: the same value). The other figures
(outside applications, consents, dispensing, responses, adverse events, each physician's
cost) are one aggregate query each over their own rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connections
from django.db.models import (
    BooleanField,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    FilteredRelation,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Sum,
)
from django.utils import timezone

from accounts.models import Hospital, User
from consent.models import ConsentDocument, ConsentSignature
from followup.models import AdverseEvent
from followup.selectors import treated_requests, with_outcomes
from offlabel.dates import local_midnight
from pharmacy.models import Dispensation
from pharmacy.selectors import costs_by_payer
from prescriptions.models import OffLabelRequest, RequestTransition
from regulatory.models import Application, PathwayVersion, Reminder

S = OffLabelRequest.Status
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


# The transitions the figures read: the first submission, the first decision, and whether
# the request was ever approved or rejected.
_TIMED_STEPS = tuple(
    dict.fromkeys((S.SUBMITTED, *OffLabelRequest.DECISION_STATES, *EVER_APPROVED, S.REJECTED))
)


def _timed(requests: QuerySet[OffLabelRequest]) -> QuerySet[OffLabelRequest]:
    """One row per request with its first submission and decision, its first outside grant
    and whether it was ever approved or rejected: one join with the transitions and the
    applications grouped by request (MIN and conditional counts are unaffected by the join's
    repeated rows), instead of a correlated lookup per request and per figure. The join takes
    only the transitions and the grants these figures read (a condition of the join, so a
    request without any keeps its row): about half the rows to group."""
    steps = FilteredRelation("transitions", condition=Q(transitions__to_status__in=_TIMED_STEPS))
    grants = FilteredRelation(
        "applications", condition=Q(applications__status=Application.Status.GRANTED)
    )
    return (
        requests.annotate(_steps=steps, _grants=grants)
        .annotate(
            _submitted=Min("_steps__occurred_at", filter=Q(_steps__to_status=S.SUBMITTED)),
            _decided=Min(
                "_steps__occurred_at",
                filter=Q(_steps__to_status__in=OffLabelRequest.DECISION_STATES),
            ),
            _granted=Min("_grants__decided_at"),
            _approvals=Count("_steps", filter=Q(_steps__to_status__in=EVER_APPROVED)),
            _rejections=Count("_steps", filter=Q(_steps__to_status=S.REJECTED)),
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


def _one_row_per_request(requests: QuerySet[OffLabelRequest]) -> QuerySet[Any]:
    """``_timed`` with what the breakdowns group by, as ids: the state, the pathway version
    chosen (or the request's own pathway field) and the prescriber. Names are looked up after
    grouping, so each request's row stays narrow."""
    return _timed(requests).values(  # type: ignore[misc]  # the annotations of _timed
        "status",
        "prescriber_id",
        "pathway",
        "_to_decision",
        "_to_authorisation",
        "_approvals",
        "_rejections",
        _pathway_version=F("pathway_choice__pathway_version"),
        _treated=ExpressionWrapper(Q(status__in=OffLabelRequest.TREATED_STATES), BooleanField()),
    )


@dataclass(frozen=True)
class RequestFigures:
    by_state: dict[str, int]
    approved: int
    rejected: int
    to_decision: Durations
    to_authorisation: Durations
    # [{code, name, n}], most requests first, then by code
    by_pathway: list[dict[str, Any]] = field(default_factory=list)
    # [{prescriber_id, username, first_name, last_name, requests, approved, rejected,
    #   treated}], by username
    physicians: list[dict[str, Any]] = field(default_factory=list)


# The one-pass statement. The requests' rows (one_row_per_request, built by the ORM above) are
# read twice, both times from the statement's own copy: once for everything (the counts and
# the percentiles), once grouped into cells (state x pathway x prescriber, a few hundred at
# most); the breakdowns by state, pathway and physician are sums over the cells. One UNION ALL
# branch per breakdown, which PostgreSQL and SQLite both run (GROUPING SETS would be
# PostgreSQL's alone). Every branch has the columns below; each fills its own and leaves the
# others NULL. A NULL for a number is typed: PostgreSQL reads two untyped NULLs in a UNION as
# text, which a later branch's number would then not match.
_COLUMNS = (
    "breakdown",
    "sort_n",
    "status",
    "pathway_code",
    "pathway_name",
    "prescriber_id",
    "username",
    "first_name",
    "last_name",
    "n",
    "approved",
    "rejected",
    "treated",
    "_to_decision:n",
    "_to_decision:median",
    "_to_decision:p90",
    "_to_authorisation:n",
    "_to_authorisation:median",
    "_to_authorisation:p90",
)
_NUMBERS = {"prescriber_id", "n", "approved", "rejected", "treated"}
_DURATIONS = ("_to_decision", "_to_authorisation")
_COUNTS = {
    "n": "COUNT(*)",
    "approved": 'COUNT(*) FILTER (WHERE "_approvals" > 0)',
    "rejected": 'COUNT(*) FILTER (WHERE "_rejections" > 0)',
    "treated": 'COUNT(*) FILTER (WHERE "_treated")',
}
_CELL_KEY = ('"status"', '"pathway"', '"_pathway_version"', '"prescriber_id"')
_CELLS = (  # constants of this module only: noqa S608
    f"SELECT {', '.join(_CELL_KEY)}, "  # noqa: S608
    + ", ".join(f'{count} AS "{name}"' for name, count in _COUNTS.items())
    + f" FROM one_row_per_request GROUP BY {', '.join(_CELL_KEY)}"
)


def _sum(column: str) -> str:
    return f'CAST(SUM(cell."{column}") AS BIGINT)'  # a SUM of counts is numeric otherwise


_PATHWAY_CODE = 'COALESCE(version."_code", cell."pathway")'
_PRESCRIBER = {
    "prescriber_id": 'prescriber."_id"',
    "username": 'prescriber."_username"',
    "first_name": 'prescriber."_first_name"',
    "last_name": 'prescriber."_last_name"',
}


# The databases with PERCENTILE_DISC (an ordered-set aggregate).
ORDERED_SET_AGGREGATES = frozenset({"postgresql"})


def _percentile_sql(name: str, fraction: float, vendor: str) -> str:
    """Nearest rank: the smallest duration with at least ``fraction`` of the (non-NULL)
    durations at or below it. PostgreSQL's PERCENTILE_DISC is exactly that; elsewhere the
    smallest duration whose CUME_DIST reaches the fraction, the same value."""
    if vendor in ORDERED_SET_AGGREGATES:
        return f'PERCENTILE_DISC({fraction}) WITHIN GROUP (ORDER BY "{name}")'
    ranked = (
        f'SELECT "{name}" AS value, CUME_DIST() OVER (ORDER BY "{name}") AS cume '  # noqa: S608
        f'FROM one_row_per_request WHERE "{name}" IS NOT NULL'
    )
    return f"(SELECT MIN(value) FROM ({ranked}) AS ranked WHERE cume >= {fraction})"  # noqa: S608


def _breakdown(name: str, columns: dict[str, str], rows: str, group_by: tuple[str, ...]) -> str:
    def null(column: str) -> str:
        return "CAST(NULL AS BIGINT)" if column in _NUMBERS else "NULL"

    listed = ", ".join(f'{columns.get(c, null(c))} AS "{c}"' for c in _COLUMNS[1:])
    grouped = f" GROUP BY {', '.join(group_by)}" if group_by else ""
    # Every piece is a constant of this module (no value from a request: those are
    # parameters of the ORM's SQL): noqa S608.
    return f"SELECT '{name}' AS breakdown, {listed} FROM {rows}{grouped}"  # noqa: S608


def _one_pass_sql(vendor: str, requests_sql: str, versions_sql: str, prescribers_sql: str) -> str:
    everything = {"sort_n": "0", **_COUNTS, "treated": "CAST(NULL AS BIGINT)"}
    for name in _DURATIONS:
        everything[f"{name}:n"] = f'COUNT("{name}")'
        everything[f"{name}:median"] = _percentile_sql(name, 0.5, vendor)
        everything[f"{name}:p90"] = _percentile_sql(name, 0.9, vendor)
    state = {"sort_n": "0", "status": 'cell."status"', "n": _sum("n")}
    pathway = {
        "sort_n": f"-{_sum('n')}",  # most requests first, then by code
        "pathway_code": _PATHWAY_CODE,
        "pathway_name": 'version."_name"',
        "n": _sum("n"),
    }
    physician = {"sort_n": "0", **_PRESCRIBER, **{name: _sum(name) for name in _COUNTS}}
    cells = "cells AS cell"
    branches = [
        _breakdown("all", everything, "one_row_per_request", ()),
        _breakdown("state", state, cells, ('cell."status"',)),
        _breakdown(
            "pathway",
            pathway,
            f"{cells} LEFT JOIN pathway_version AS version "
            'ON version."_id" = cell."_pathway_version"',
            (_PATHWAY_CODE, 'version."_name"'),
        ),
        _breakdown(
            "physician",
            physician,
            f'{cells} JOIN prescriber ON prescriber."_id" = cell."prescriber_id"',
            tuple(_PRESCRIBER.values()),
        ),
    ]
    return (
        f"WITH one_row_per_request AS ({requests_sql}), pathway_version AS ({versions_sql}), "
        f"prescriber AS ({prescribers_sql}), cells AS ({_CELLS}) "
        + " UNION ALL ".join(branches)
        + ' ORDER BY "breakdown", "sort_n", "pathway_code", "username"'
    )


def request_figures(requests: QuerySet[OffLabelRequest]) -> RequestFigures:
    """States, decisions, both durations with their percentiles, the requests by pathway and
    the physicians' counts, in ONE statement: the requests are read (with their transitions
    and applications) once, into one row each, and every figure is a grouping of those rows."""
    per_request = _one_row_per_request(requests)
    connection = connections[per_request.db]
    withs = [  # the statement's three WITH queries, in the order of its text
        per_request,
        PathwayVersion.objects.values(_id=F("pk"), _code=F("pathway__code"), _name=F("name")),
        User.objects.values(
            _id=F("pk"),
            _username=F("username"),
            _first_name=F("first_name"),
            _last_name=F("last_name"),
        ),
    ]
    compiled = [queryset.order_by().query.sql_with_params() for queryset in withs]
    sql = _one_pass_sql(connection.vendor, *(part_sql for part_sql, _ in compiled))
    params = [param for _, part_params in compiled for param in part_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = [dict(zip(_COLUMNS, row, strict=True)) for row in cursor.fetchall()]

    def duration(value: Any) -> timedelta | None:
        if value is None or connection.features.has_native_duration_field:
            return value
        # Durations in microseconds (SQLite), converted as Django converts a DurationField.
        return timedelta(microseconds=value)

    (everything,) = (row for row in rows if row["breakdown"] == "all")

    def figures(name: str) -> Durations:
        return Durations(
            everything[f"{name}:n"],
            duration(everything[f"{name}:median"]),
            duration(everything[f"{name}:p90"]),
        )

    return RequestFigures(
        by_state={row["status"]: row["n"] for row in rows if row["breakdown"] == "state"},
        approved=everything["approved"],
        rejected=everything["rejected"],
        to_decision=figures("_to_decision"),
        to_authorisation=figures("_to_authorisation"),
        by_pathway=[
            {"code": row["pathway_code"], "name": row["pathway_name"], "n": row["n"]}
            for row in rows
            if row["breakdown"] == "pathway"
        ],
        physicians=[
            {
                "prescriber_id": row["prescriber_id"],
                "username": row["username"],
                "first_name": row["first_name"],
                "last_name": row["last_name"],
                "requests": row["n"],
                "approved": row["approved"],
                "rejected": row["rejected"],
                "treated": row["treated"],
            }
            for row in rows
            if row["breakdown"] == "physician"
        ],
    )


def _ever(*statuses: str) -> Exists:
    return Exists(RequestTransition.objects.filter(request=OuterRef("pk"), to_status__in=statuses))


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
    report.by_pathway = figures.by_pathway
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
        requests.annotate(_approved=_ever(*EVER_APPROVED), _signed=_signed_consent())
        .filter(_approved=True, _signed=False)
        .values("pk", "status", pseudonym=F("patient__pseudonym"))
        .order_by("pk")
    )
    report.dispensing = costs_by_payer(Dispensation.objects.filter(request__in=requests))

    # Each request that started treatment once: grouped by its best response outside the query
    # that finds the starts (grouping that query itself would test "started" per response).
    started = OffLabelRequest.objects.filter(pk__in=treated_requests(requests).values("pk"))
    treated = with_outcomes(started)  # type: ignore[arg-type]
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
    # What each physician's requests cost: the dispensations, grouped by the prescriber.
    costs = dict(
        requests.order_by()
        .values("prescriber_id")
        .annotate(cost=Sum("dispensations__cost"))
        .values_list("prescriber_id", "cost")
    )
    report.physicians = [
        {**line, "cost": costs.get(line["prescriber_id"]) or Decimal(0)}
        for line in figures.physicians
    ]
    return report
