"""The pharmacy queue and the request list read their first page from an index, in order: no
sort over the hospital's requests, so a page costs the same at ten thousand requests as at a
million (issue 17, "an honest floor"). PostgreSQL's planner, on a few thousand invented
requests after ANALYZE, as in production; the index's predicate is checked everywhere."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.db.models import Index, Q, QuerySet
from django.utils import timezone

from benchmarks.pages import query_plan
from prescriptions.models import OffLabelRequest
from prescriptions.selectors import list_rows, pharmacy_queue, request_list
from prescriptions.services import drug_default

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the production planner is PostgreSQL's"
)
S = OffLabelRequest.Status
QUEUE_STATES = OffLabelRequest.QUEUE_STATES  # moved from prescriptions.selectors (issue 18)
# Half of them waiting, as in the benchmark's data: the queue is a large share of the table.
STATUSES = [*QUEUE_STATES, S.DRAFT, S.CHANGES_REQUESTED, S.ACTIVE, S.COMPLETED, S.REJECTED]


def _index(name: str) -> Index:
    return next(index for index in OffLabelRequest._meta.indexes if index.name == name)


def test_the_waiting_index_covers_exactly_the_queue_states():
    """The partial index serves the queue only while its predicate is the queue's filter: a
    state added to QUEUE_STATES and not to the index would sort the queue over the table."""
    index = _index("request_waiting_idx")
    assert isinstance(index.condition, Q)
    children: dict[str, Any] = dict(index.condition.children)  # type: ignore[arg-type]
    assert sorted(children["status__in"]) == sorted(QUEUE_STATES)
    assert children["discarded_at__isnull"] is True


@pytest.fixture
def many_requests(hospital, physician, patient):
    """3,000 invented requests of one hospital across the states, then ANALYZE."""
    drug, now = drug_default(), timezone.now()
    statuses = itertools.cycle(STATUSES)
    OffLabelRequest.objects.bulk_create(
        OffLabelRequest(
            hospital=hospital,
            patient=patient,
            prescriber=physician,
            drug=drug,
            regimen=OffLabelRequest.Regimen.AZACITIDINE,
            ven_target_dose_mg=Decimal(400),
            status=next(statuses),
            status_changed_at=now - timedelta(minutes=i),
        )
        for i in range(3000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE prescriptions_offlabelrequest")


def _assert_read_in_order(queryset: QuerySet[OffLabelRequest], index: str) -> None:
    plan = query_plan(queryset)
    assert f"Index Scan using {index} " in plan, plan
    assert " Sort" not in plan, plan


@on_postgresql
def test_the_queue_page_is_read_from_the_waiting_index_without_a_sort(pharmacist, many_requests):
    first_page = list_rows(pharmacy_queue(pharmacist))[:25]
    _assert_read_in_order(first_page, "request_waiting_idx")
    # The page is the oldest waiting, as the index reads them.
    waiting = OffLabelRequest.objects.filter(status__in=QUEUE_STATES)
    assert [r.pk for r in first_page] == list(
        waiting.order_by("status_changed_at", "pk").values_list("pk", flat=True)[:25]
    )


@on_postgresql
def test_the_request_list_is_read_from_the_recent_index_without_a_sort(pharmacist, many_requests):
    first_page = list_rows(request_list(pharmacist).order_by("-updated_at", "-pk"))[:25]
    _assert_read_in_order(first_page, "request_recent_idx")
