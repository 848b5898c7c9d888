"""The administrator's report (``reports.selectors.report_compute``) against one aggregate query
over the same rows: the hospital's requests grouped by state, with the count of the hospital's
audit events as a scalar subquery of the same statement (issue 17's baseline).

The report itself reads no audit events: its figures come from the requests and the rows that
hang off them (transitions, applications, dispensations, consents, follow-up). Most of the
baseline's time is its audit-event count (at 10,000 requests and 100,000 events about nine
tenths of the database's CPU time for the statement), so a second, informative row measures
the report against the requests' own GROUP BY, without the audit events, to show what the
ratio is against the requests alone.
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import Count, Subquery
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from benchmarks.dataset import Cast
from benchmarks.results import Row, ms, paired_medians, ratio
from prescriptions.models import OffLabelRequest
from reports.selectors import ReportFilters, report_compute

TARGET_RATIO = 4.0  # issue 17: the report in one pass, at most 4x one aggregate query


def _report(cast: Cast) -> Any:
    return report_compute(hospital=cast.hospital, filters=ReportFilters())


def _aggregate(cast: Cast) -> list[Any]:
    events = (
        AuditEvent.objects.filter(hospital=cast.hospital)
        .order_by()
        .values("hospital")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return list(
        OffLabelRequest.objects.filter(hospital=cast.hospital)
        .order_by()
        .values("status")
        .annotate(n=Count("pk"), audit_events=Subquery(events))
    )


def _requests_aggregate(cast: Cast) -> list[Any]:
    """The requests by state alone: the baseline without its audit-event count."""
    return list(
        OffLabelRequest.objects.filter(hospital=cast.hospital)
        .order_by()
        .values("status")
        .annotate(n=Count("pk"))
    )


def report_query_count(cast: Cast) -> int:
    _report(cast)
    with CaptureQueriesContext(connection) as captured:
        _report(cast)
    return len(captured.captured_queries)


def report_benchmark(cast: Cast, *, runs: int, small_queries: int, small_n: int) -> list[Row]:
    n = OffLabelRequest.objects.filter(hospital=cast.hospital).count()
    events = AuditEvent.objects.count()
    report = _report(cast)
    rows = _aggregate(cast)
    assert report.total == sum(row["n"] for row in rows) == n, (report.total, n)
    assert len(rows) > 0 and rows[0]["audit_events"] > 0
    report_s, aggregate_s = paired_medians(
        lambda: _report(cast), lambda: _aggregate(cast), runs=runs, warmup=1
    )
    against_requests_s, requests_s = paired_medians(
        lambda: _report(cast), lambda: _requests_aggregate(cast), runs=runs, warmup=1
    )
    queries = report_query_count(cast)
    return [
        Row(
            what=f"Admin report `report_compute`, {n:,} requests, {events:,} audit events, "
            f"median of {runs}",
            baseline=f"one aggregate query (requests by state + audit-event count): "
            f"{ms(aggregate_s)}",
            measured=ms(report_s),
            ratio=ratio(report_s / aggregate_s),
            target=f"≤ {TARGET_RATIO:.2f}x",
            met=report_s / aggregate_s <= TARGET_RATIO,
        ),
        Row(
            what=f"Admin report `report_compute` against the requests alone, {n:,} requests, "
            f"median of {runs}",
            baseline=f"one aggregate query (requests by state, no audit events): {ms(requests_s)}",
            measured=ms(against_requests_s),
            ratio=ratio(against_requests_s / requests_s),
            target="— (informative: the report reads no audit events)",
            met=None,
        ),
        Row(
            what=f"SQL queries of `report_compute`, {small_n:,} vs {n:,} requests",
            baseline=f"{small_queries} queries at {small_n:,}",
            measured=f"{queries} queries at {n:,}",
            ratio=ratio(queries / small_queries),
            target="equal (1.00x)",
            met=queries == small_queries,
        ),
    ]
