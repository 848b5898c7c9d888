"""report_compute reads the requests in one pass: states, decisions, both durations and their
percentiles come from one aggregate query, and the report's query count is fixed, whatever
the number of requests. (The figures themselves are checked in test_report.py.)"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reports.selectors import ReportFilters, report_compute, request_figures, requests_in_scope
from tests.reports.test_report import dataset  # noqa: F401  (the 60 invented requests)

REPORT_QUERIES = 9  # the request figures, pathways, open and overdue applications,
# approvals without consent, dispensing, responses, adverse events, physicians


def _report_queries(hospital, filters: ReportFilters) -> int:
    with CaptureQueriesContext(connection) as captured:
        report_compute(hospital=hospital, filters=filters)
    return len(captured.captured_queries)


@pytest.mark.django_db
def test_the_report_makes_a_fixed_number_of_queries_whatever_the_rows(
    hospital, django_assert_max_num_queries, request
):
    empty = _report_queries(hospital, ReportFilters())  # before any request exists
    request.getfixturevalue("dataset")
    with django_assert_max_num_queries(REPORT_QUERIES):
        report = report_compute(hospital=hospital, filters=ReportFilters())
    assert report.total > 50 and report.to_decision.n > 0  # the rows are really there
    assert _report_queries(hospital, ReportFilters()) == empty


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PERCENTILE_DISC is PostgreSQL's")
def test_states_decisions_and_percentiles_come_from_one_query(dataset, hospital):  # noqa: F811
    requests = requests_in_scope(hospital, ReportFilters())
    with CaptureQueriesContext(connection) as captured:
        figures = request_figures(requests)
    assert len(captured.captured_queries) == 1
    sql = captured.captured_queries[0]["sql"]
    assert "PERCENTILE_DISC(0.5)" in sql and "PERCENTILE_DISC(0.9)" in sql
    assert sum(figures.by_state.values()) == requests.count()
    assert figures.to_decision.median is not None and figures.to_authorisation.p90 is not None
