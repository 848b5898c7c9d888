"""The pharmacy queue page and the request list API against bare one-query views.

Both go through ``django.test.Client`` with a pharmacist's session (``force_login``), the
whole middleware stack and ``ATOMIC_REQUESTS``; the baselines are the views in
``benchmarks/urls.py``: the same filter, ORDER BY and LIMIT read from the same index, which
``plan_check`` asserts on PostgreSQL (for the pages' queries too) before anything is timed. Times
are medians after a warm-up, pages and baselines alternating.

The pages keep their count ("N waiting", the API's ``count``): what pharmacists see and the API
promises. It is an index-only scan of the hospital's entries in the same partial index, so it
grows with one hospital's waiting or kept requests, not with the table, and costs a fraction of a
millisecond per thousand entries.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from benchmarks.dataset import Cast
from benchmarks.results import Row, ms, paired_medians, ratio
from benchmarks.urls import bare_list_rows, bare_queue_rows
from prescriptions.models import OffLabelRequest
from prescriptions.selectors import list_rows, pharmacy_queue, request_list

TARGET = 2.0
QUEUE_URL = "/requests/queue/"
API_URL = "/api/v1/requests/"
BARE_QUEUE_URL = "/bench/bare/queue/"
BARE_LIST_URL = "/bench/bare/list/"
BASELINE_OF = {"queue": "bare_queue", "api": "bare_list"}
# The index each list reads its first page from (prescriptions.models.OffLabelRequest.Meta).
INDEX_OF = {"queue": "request_waiting_idx", "api": "request_recent_idx"}


def query_plan(queryset: QuerySet[Any, Any]) -> str:
    """PostgreSQL's plan of a queryset (EXPLAIN, without running it)."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def plan_check(cast: Cast) -> dict[str, str]:
    """On PostgreSQL: the first page of the queue and of the list, the page's query and the bare
    baseline's alike, is an index scan of the list's index with no Sort node (else the baseline
    would not be the floor, and the page's cost would grow with the table). The index of each
    list; empty on SQLite, whose planner is not the production one."""
    if connection.vendor != "postgresql":
        return {}
    pharmacist, hospital_id = cast.pharmacist, cast.hospital.pk
    first_pages = {
        "queue": (list_rows(pharmacy_queue(pharmacist))[:25], bare_queue_rows(hospital_id)),
        "api": (
            list_rows(request_list(pharmacist).order_by("-updated_at", "-pk"))[:25],
            bare_list_rows(hospital_id),
        ),
    }
    for key, querysets in first_pages.items():
        for queryset in querysets:
            plan = query_plan(queryset)
            assert f"Index Scan using {INDEX_OF[key]} " in plan and " Sort" not in plan, plan
    return INDEX_OF


@dataclass(frozen=True)
class Endpoint:
    url: str
    check: Callable[[Any], None]  # a test-client response


def _html_rows(response: Any) -> None:
    assert b"OL-0" in response.content, "the queue page shows no request"


def _api_rows(expected: int) -> Callable[[Any], None]:
    def check(response: Any) -> None:
        body = json.loads(response.content)
        assert body["count"] == expected and len(body["results"]) == 25, body.get("count")

    return check


def _bare_rows(response: Any) -> None:
    assert len(json.loads(response.content)["results"]) == 25


def _endpoints(cast: Cast) -> dict[str, Endpoint]:
    total = OffLabelRequest.objects.filter(hospital=cast.hospital).count()
    return {
        "queue": Endpoint(QUEUE_URL, _html_rows),
        "api": Endpoint(API_URL, _api_rows(total)),
        "bare_queue": Endpoint(BARE_QUEUE_URL, _bare_rows),
        "bare_list": Endpoint(BARE_LIST_URL, _bare_rows),
    }


def _client(cast: Cast) -> Client:
    from benchmarks.dataset import pharmacist_client

    client: Client = pharmacist_client(cast)
    return client


def _get(client: Client, endpoint: Endpoint) -> Callable[[], None]:
    accept = "application/json" if endpoint.url.startswith("/api/") else "text/html"

    def get() -> None:
        response = client.get(endpoint.url, HTTP_ACCEPT=accept)
        assert response.status_code == 200, (endpoint.url, response.status_code)
        endpoint.check(response)

    return get


@override_settings(ROOT_URLCONF="benchmarks.urls")
def query_counts(cast: Cast) -> dict[str, int]:
    """SQL queries of one request to each endpoint (a fresh session-loaded user each time)."""
    client = _client(cast)
    counts = {}
    for key, endpoint in _endpoints(cast).items():
        get = _get(client, endpoint)
        get()  # anything cached per process (content types, templates) is not per request
        with CaptureQueriesContext(connection) as captured:
            get()
        counts[key] = len(captured.captured_queries)
    return counts


@override_settings(ROOT_URLCONF="benchmarks.urls")
def pages_benchmark(
    cast: Cast,
    *,
    runs: int,
    warmup: int,
    small: dict[str, int],
    small_n: int,
    large: dict[str, int],
) -> list[Row]:
    n = OffLabelRequest.objects.filter(hospital=cast.hospital).count()
    waiting = OffLabelRequest.objects.filter(
        hospital=cast.hospital, status__in=OffLabelRequest.QUEUE_STATES
    )
    indexes = plan_check(cast)
    client = _client(cast)
    endpoints = _endpoints(cast)
    rows = []
    for key, label in (
        ("queue", f"Queue page `{QUEUE_URL}` ({waiting.count():,} waiting)"),
        ("api", f"Request list API `{API_URL}`"),
    ):
        page_s, bare_s = paired_medians(
            _get(client, endpoints[key]),
            _get(client, endpoints[BASELINE_OF[key]]),
            runs=runs,
            warmup=warmup,
        )
        rows.append(
            Row(
                what=f"{label}, {n:,} requests, pharmacist, median of {runs}",
                baseline="bare view, one `.values()` query, same 25 rows and columns"
                + (f", in order from `{indexes[key]}`" if indexes else "")
                + f": {ms(bare_s)}",
                measured=ms(page_s),
                ratio=ratio(page_s / bare_s),
                target=f"< {TARGET:g}x",
                met=page_s / bare_s < TARGET,
            )
        )
    for key, label in (("queue", "queue page"), ("api", "request list API")):
        rows.append(
            Row(
                what=f"SQL queries of the {label}, {small_n:,} vs {n:,} requests",
                baseline=f"{small[key]} queries at {small_n:,} "
                f"(bare view: {small[BASELINE_OF[key]]})",
                measured=f"{large[key]} queries at {n:,}",
                ratio=ratio(large[key] / small[key]),
                target="equal (1.00x)",
                met=large[key] == small[key],
            )
        )
    return rows
