"""The ``--scale`` benchmark's COPY loader (``benchmarks.scale``) at a tiny size: the rows it
writes are rows the models accept (constraints, validators, one hospital's pseudonyms unique),
in ``benchmarks.dataset``'s proportions, and the audit events it appends continue the chain so
that ``audit_chain_verify`` accepts it. PostgreSQL only (COPY); no timing here."""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Any

import pytest
from django.db import connection
from django.db.models import Count, Model
from django.utils import timezone

from audit.models import AuditChainHead, AuditEvent
from audit.services import audit_chain_verify
from benchmarks import dataset
from benchmarks.scale import (
    LOADED_MODELS,
    CopyQueue,
    CopyTable,
    casts_create,
    foreign_keys_verify,
    scale_load,
)
from pharmacy.models import Dispensation
from prescriptions.models import EvidenceAttachment, OffLabelRequest, Patient, RequestTransition
from regulatory.models import Application, PathwayChoice

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the scale load uses PostgreSQL's COPY"
)
S = OffLabelRequest.Status
PER_HOSPITAL = 30
EVENTS = 500


@pytest.fixture
def region(db: Any, rules: Any, studies: Any) -> list[dataset.Cast]:
    """The bench hospital grown by the ORM path first (10 requests, 50 events), as the scale
    run does before its load, and one more hospital of the region."""
    bench = dataset.cast_create()
    dataset.requests_grow_to(bench, 10)
    dataset.audit_fill_to(bench, 50)
    return [bench, *casts_create(1)]


@pytest.fixture
def loaded(region: list[dataset.Cast]) -> Any:
    messages: list[str] = []
    report = scale_load(
        region,
        requests_per_hospital=PER_HOSPITAL,
        events=EVENTS,
        progress=messages.append,
        writers=0,  # the rows stay in the test's transaction
    )
    return report, messages


def test_every_hospital_ends_with_its_share_of_requests(region, loaded):
    report, messages = loaded
    counts = dict(
        OffLabelRequest.objects.values_list("hospital").annotate(n=Count("pk")).order_by()
    )
    assert counts == {cast.hospital.pk: PER_HOSPITAL for cast in region}
    assert report.rows["requests"] == 2 * PER_HOSPITAL - 10  # the bench hospital had 10
    assert report.rows["audit events"] == EVENTS - 50
    assert report.total == sum(report.rows.values()) and report.seconds > 0
    assert any("audit events: 450 of 450" in message for message in messages)
    # The copies skip the row triggers for their own transactions only: in the caller's
    # transaction (here the test's) foreign keys are checked row by row again afterwards.
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('session_replication_role')")
        assert cursor.fetchone()[0] == "origin"


def _dangling_keys(model: type[Model]) -> list[str]:
    """Foreign keys of ``model``'s rows that point at nothing, read with the ORM."""
    dangling = []
    for key in model._meta.concrete_fields:
        if not key.is_relation or key.related_model is None:
            continue
        pointed = set(model._default_manager.values_list(key.attname, flat=True)) - {None}
        existing = set(key.related_model._default_manager.values_list("pk", flat=True))
        dangling += [f"{model.__name__}.{key.name}={pk}" for pk in pointed - existing]
    return dangling


def test_loaded_rows_hold_the_database_constraints_and_the_models_validation(region, loaded):
    # The load leaves foreign keys to its own set-wise check; checked again here, by the ORM.
    for model in LOADED_MODELS:
        assert _dangling_keys(model) == []
    assert foreign_keys_verify(LOADED_MODELS) > 0
    connection.check_constraints()  # what the rows written by the ORM path queued
    for request in OffLabelRequest.objects.select_related("patient"):
        request.full_clean()
        request.patient.full_clean()
        assert request.patient.hospital_id == request.hospital_id
        assert request.prescriber.hospital_id == request.hospital_id
        assert list(request.patient.treating_physicians.all()) == [request.prescriber]
    pseudonyms = Counter(Patient.objects.values_list("hospital_id", "pseudonym"))
    assert max(pseudonyms.values()) == 1
    assert Patient.objects.count() == OffLabelRequest.objects.count() == 2 * PER_HOSPITAL
    for model in (RequestTransition, EvidenceAttachment, Application, Dispensation):
        for row in model.objects.all():
            row.full_clean(validate_unique=False)
    # The routing snapshot stays at its default ({}), as in dataset.py's rows: the form never
    # writes a choice, so "blank" is the only thing full_clean would say of it.
    for choice in PathwayChoice.objects.all():
        choice.full_clean(validate_unique=False, exclude=["routing_snapshot"])


def test_loaded_requests_have_the_rows_of_their_path(region, loaded):
    for request in OffLabelRequest.objects.prefetch_related(
        "transitions", "attachments", "applications", "dispensations"
    ):
        path = dataset.PATHS[request.status]
        steps = [(t.from_status, t.to_status) for t in request.transitions.all()]
        assert steps == list(itertools.pairwise(path))
        has_choice = PathwayChoice.objects.filter(request=request).exists()
        assert has_choice == (request.status != S.DRAFT)
        assert len(request.attachments.all()) in ({0} if request.status == S.DRAFT else {1, 2, 3})
        if request.applications.all():
            assert request.needs_outside_authorisation
            assert request.status in {S.AWAITING_AUTHORISATION, *dataset.AUTHORISED}
        assert bool(request.dispensations.all()) == (request.status in dataset.TREATED)


def test_the_appended_audit_chain_verifies_and_points_at_the_hospitals_requests(region, loaded):
    report = audit_chain_verify()
    assert report.ok, report.message
    assert report.events_checked == AuditEvent.objects.count() == EVENTS
    head = AuditChainHead.objects.get(pk=1)
    last = AuditEvent.objects.order_by("-sequence").first()
    assert last is not None and (head.last_sequence, head.last_hash) == (EVENTS, last.event_hash)
    hospital_of = dict(OffLabelRequest.objects.values_list("pk", "hospital_id"))
    new_events = AuditEvent.objects.filter(sequence__gt=50)
    for object_id, hospital_id in new_events.values_list("object_id", "hospital_id"):
        assert hospital_of[int(object_id)] == hospital_id
    assert set(new_events.values_list("hospital_id", flat=True)) == {
        cast.hospital.pk for cast in region
    }


def test_the_set_wise_check_finds_a_key_that_points_at_nothing(region):
    if not CopyQueue(threads=0).skip_row_triggers:
        pytest.skip("the database user cannot skip row triggers: the keys are checked per row")
    cast = region[0]
    table = CopyTable(
        RequestTransition,
        ["request_id", "from_status", "to_status", "actor_id", "occurred_at"],
        now=timezone.now(),
    )
    missing = (
        OffLabelRequest.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    ) + 1
    CopyQueue(threads=0).put(
        [
            (
                "transitions",
                table,
                [(missing, S.DRAFT, S.SUBMITTED, cast.pharmacist.pk, timezone.now())],
            )
        ]
    )
    with pytest.raises(RuntimeError, match=r"RequestTransition\.request: 1"):
        foreign_keys_verify([RequestTransition])
