"""Issue 14: PDFs that survive failures.

One claim (a conditional update) so two workers never render the same row; late ack, redelivery
on a lost worker and a time limit on every render task; a sweeper for rows nothing would render
otherwise; a 503 with Retry-After when the broker is down (and nothing half-made); downloads
only through signed-in, permission-checked views; no patient name in the consent inputs; a
GET that never writes."""

from __future__ import annotations

import io
import json
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from celery import current_app
from django.apps import apps as live_apps
from django.conf import settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from audit.models import AuditEvent
from consent.models import ConsentDocument
from consent.services import consent_is_signed, consent_render, consent_request, consent_sign
from consent.tasks import consent_render_task
from evidence.models import Study
from followup.tasks import renewal_report_render_task
from offlabel.exceptions import ApplicationError
from offlabel.rendering import BrokerUnavailable, render_claim, render_sweep
from prescriptions.models import OffLabelRequest
from prescriptions.services import (
    evidence_attach,
    patient_create,
    patient_identity_set,
    request_create,
    request_update,
)
from regulatory.dossier import dossier_render, dossier_request
from regulatory.models import Dossier
from regulatory.services import pathway_choose
from regulatory.tasks import dossier_render_task
from reports.tasks import report_render_task
from tests.factories import UserFactory
from tests.helpers import celery_worker_process
from tests.prescriptions.conftest import COMPLETE_PROFILE, IDENTITY, REGIMEN

NAME, BORN = "Inventatissima", "1958-03-14"
CLOSED_PORT = "redis://127.0.0.1:1/15"  # nothing listens there: the broker is down
REDIS = os.environ.get("OFFLABEL_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _pools_reset() -> None:
    app: Any = current_app  # kombu keeps one pool per broker URL; the app's are dropped
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def broker_at(url: str) -> Iterator[None]:
    """Point this process's Celery app at another broker (the pools are rebuilt)."""
    conf: Any = current_app.conf
    saved = conf.broker_url, conf.broker_transport_options, conf.broker_write_url
    # Celery reads CELERY_BROKER_URL from the environment before its configuration (CI sets
    # it), so the environment is pointed at the other broker too.
    saved_env = os.environ.get("CELERY_BROKER_URL")
    reset = _pools_reset

    os.environ["CELERY_BROKER_URL"] = url
    conf.broker_url, conf.broker_write_url, conf.broker_transport_options = url, None, {}
    reset()
    try:
        yield
    finally:
        if saved_env is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = saved_env
        conf.broker_url, conf.broker_transport_options, conf.broker_write_url = saved
        reset()


def _pdf_text(document: ConsentDocument | Dossier) -> str:
    with document.file.open("rb") as f:
        reader = PdfReader(io.BytesIO(f.read()))
    return " ".join(" ".join(p.extract_text() for p in reader.pages).split())


@pytest.fixture
def ready_request(physician, studies, rules) -> OffLabelRequest:
    person = patient_create(actor=physician, profile=COMPLETE_PROFILE, identity=IDENTITY)
    request = request_create(actor=physician, patient=person, fields=REGIMEN)
    evidence_attach(actor=physician, request=request, study=Study.objects.get(reference=63))
    pathway_choose(actor=physician, request=request, pathway_code="gb_gmc_off_label")
    request.refresh_from_db()
    return request


# --- One claim: two workers never render the same row ------------------------------------


def test_a_row_is_claimed_by_one_worker_only(ready_request, physician):
    document = consent_request(actor=physician, request=ready_request, language="en")
    assert render_claim(ConsentDocument, document.pk) is True
    assert render_claim(ConsentDocument, document.pk) is False  # the second worker loses
    document.refresh_from_db()
    assert document.status == "rendering" and document.attempts == 1
    assert document.rendering_started_at is not None


def test_a_second_worker_does_not_render_a_row_another_is_rendering(ready_request, pharmacist):
    dossier = dossier_request(actor=pharmacist, request=ready_request)
    assert render_claim(Dossier, dossier.pk)  # a first worker is at it
    again = dossier_render(dossier.pk)  # the message delivered twice
    assert again.status == "rendering" and not again.file and again.attempts == 1


def test_a_superseded_form_is_never_rendered_nor_turned_ready(ready_request, physician):
    document = consent_request(actor=physician, request=ready_request, language="en")
    ConsentDocument.objects.filter(pk=document.pk).update(status="superseded")
    assert consent_render(document.pk).status == "superseded"
    assert not ConsentDocument.objects.get(pk=document.pk).file


def test_every_render_task_acks_late_is_redelivered_when_its_worker_is_lost_and_has_a_time_limit():
    for task in (
        consent_render_task,
        dossier_render_task,
        renewal_report_render_task,
        report_render_task,
    ):
        assert task.acks_late and task.reject_on_worker_lost, task.name
        assert task.time_limit == settings.RENDER_TIME_LIMIT_SECONDS, task.name
        assert 0 < task.soft_time_limit < task.time_limit, task.name


def test_the_sweeper_runs_every_minute_in_beat():
    entry = settings.CELERY_BEAT_SCHEDULE["render-sweep"]
    assert entry["task"] == "offlabel.rendering.render_sweep_task"
    assert entry["schedule"] == settings.RENDER_SWEEP_EVERY_SECONDS == 60
    assert settings.RENDER_STALE_AFTER_SECONDS > settings.RENDER_TIME_LIMIT_SECONDS


# --- The sweeper -----------------------------------------------------------------------------


def test_the_sweeper_queues_again_a_row_left_queued_and_a_second_sweep_does_nothing(
    ready_request, pharmacist
):
    dossier = dossier_request(actor=pharmacist, request=ready_request)
    Dossier.objects.filter(pk=dossier.pk).update(queued_at=None)  # its publish failed
    assert render_sweep()["requeued"] == 1
    assert Dossier.objects.get(pk=dossier.pk).queued_at is not None
    assert render_sweep()["requeued"] == 0  # idempotent within the window
    later = timezone.now() + timedelta(seconds=settings.RENDER_REQUEUE_AFTER_SECONDS + 1)
    assert render_sweep(now=later)["requeued"] == 1  # still queued a minute on: again


def test_the_sweeper_reclaims_a_render_older_than_the_time_limit_and_gives_up_after_the_last(
    ready_request, physician
):
    document = consent_request(actor=physician, request=ready_request, language="en")
    assert render_claim(ConsentDocument, document.pk)  # a worker took it, then died
    assert render_sweep()["reclaimed"] == 0  # a render still within its time limit is left
    later = timezone.now() + timedelta(seconds=settings.RENDER_STALE_AFTER_SECONDS + 1)
    assert render_sweep(now=later)["reclaimed"] == 1
    document.refresh_from_db()
    assert document.status == "queued" and document.queued_at is not None
    assert consent_render(document.pk).status == "ready"  # the next delivery renders it
    assert ConsentDocument.objects.get(pk=document.pk).attempts == 2

    dead = consent_request(actor=physician, request=ready_request, language="fr")
    ConsentDocument.objects.filter(pk=dead.pk).update(
        status="rendering",
        attempts=settings.RENDER_MAX_ATTEMPTS,
        rendering_started_at=timezone.now() - timedelta(days=1),
    )
    assert render_sweep()["gave_up"] == 1
    dead.refresh_from_db()
    assert dead.status == "failed" and "time limit" in dead.error


def test_a_render_abandoned_longer_than_the_time_limit_is_taken_over_by_the_next_delivery(
    ready_request, physician
):
    document = consent_request(actor=physician, request=ready_request, language="en")
    ConsentDocument.objects.filter(pk=document.pk).update(
        status="rendering",
        attempts=1,
        rendering_started_at=timezone.now()
        - timedelta(seconds=settings.RENDER_STALE_AFTER_SECONDS + 1),
    )
    stored = consent_render(document.pk)
    assert stored.status == "ready" and stored.attempts == 2


# --- Broker down: 503 with Retry-After, nothing half-made ------------------------------------


@pytest.mark.django_db(transaction=True)
def test_with_the_broker_down_the_api_answers_503_with_retry_after_and_saves_nothing(
    ready_request, physician, pharmacist, api_client
):
    events = AuditEvent.objects.count()
    with broker_at(CLOSED_PORT):
        api_client.force_authenticate(physician)
        answer = api_client.post(
            reverse("api-consent-request", args=[ready_request.pk]),
            {"language": "en"},
            format="json",
        )
        assert answer.status_code == 503, answer.content
        assert answer["Retry-After"] == str(settings.RENDER_RETRY_AFTER_SECONDS)
        assert answer["Content-Type"] == "application/json"
        assert "not reachable" in answer.json()["detail"]
        api_client.force_authenticate(pharmacist)
        dossier = api_client.post(reverse("api-dossiers", args=[ready_request.pk]))
        assert dossier.status_code == 503 and dossier["Retry-After"]
        with pytest.raises(BrokerUnavailable):
            dossier_request(actor=pharmacist, request=ready_request)
    assert not ConsentDocument.objects.exists() and not Dossier.objects.exists()
    assert AuditEvent.objects.count() == events  # no "queued" event for a document that isn't


@pytest.mark.django_db(transaction=True)
def test_with_the_broker_down_the_page_says_so(ready_request, physician, client):
    client.force_login(physician)
    with broker_at(CLOSED_PORT):
        page = client.post(
            reverse("consent:prepare", args=[ready_request.pk]), {"language": "en"}, follow=True
        )
    assert "background task service is not reachable" in page.content.decode()
    assert not ConsentDocument.objects.exists()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_broker_down_then_back_a_real_worker_renders_what_was_asked(
    ready_request, physician, pharmacist, api_client, tmp_path
):
    """Down: the API answers 503 and a publish that fails after commit leaves the row queued.
    Back (real Redis, a real worker): the retry and the sweeper get both rendered."""
    import redis

    try:
        redis.Redis.from_url(REDIS, socket_timeout=3).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"no Redis at {REDIS}")
    api_client.force_authenticate(physician)
    url = reverse("api-consent-request", args=[ready_request.pk])
    with broker_at(CLOSED_PORT):
        assert api_client.post(url, {"language": "en"}, format="json").status_code == 503
    assert not ConsentDocument.objects.exists()
    # The broker answers the check, then goes away before the commit publishes: the row is
    # committed, the publish fails (logged), and the row stays queued for the sweeper.
    queue = f"test-{uuid.uuid4().hex[:10]}"
    default_queue = current_app.conf.task_default_queue
    current_app.conf.task_default_queue = queue
    try:
        with broker_at(REDIS), transaction.atomic():
            dossier = dossier_request(actor=pharmacist, request=ready_request)
            conf: Any = current_app.conf
            conf.broker_url = CLOSED_PORT
            _pools_reset()
        dossier.refresh_from_db()
        assert dossier.status == "queued" and not dossier.file
        with broker_at(CLOSED_PORT):
            later = timezone.now() + timedelta(seconds=settings.RENDER_REQUEUE_AFTER_SECONDS + 1)
            assert render_sweep(now=later)["requeued"] == 0  # still down: left for the next
        assert Dossier.objects.get(pk=dossier.pk).status == "queued"

        env = {
            **os.environ,
            "DATABASE_URL": _database_url_of_test_db(),
            "CELERY_BROKER_URL": REDIS,
        }
        log = tmp_path / "worker.log"
        with broker_at(REDIS), celery_worker_process(queue=queue, name=queue, env=env, log=log):
            answer = api_client.post(url, {"language": "en"}, format="json")  # the retry
            assert answer.status_code == 202, answer.content
            later = timezone.now() + timedelta(seconds=settings.RENDER_REQUEUE_AFTER_SECONDS + 1)
            # The dossier left queued (and the new form, a minute on: a duplicate is harmless).
            assert render_sweep(now=later)["requeued"] >= 1
            assert Dossier.objects.get(pk=dossier.pk).queued_at is not None
            deadline = time.monotonic() + 150
            while time.monotonic() < deadline and (
                ConsentDocument.objects.exclude(status="ready").exists()
                or Dossier.objects.exclude(status="ready").exists()
            ):
                time.sleep(0.5)
        document = ConsentDocument.objects.get()
        assert document.status == "ready", log.read_text()
        assert Dossier.objects.get(pk=dossier.pk).status == "ready", log.read_text()
        assert "consent_render_task" in log.read_text() and "dossier_render_task" in log.read_text()
    finally:
        current_app.conf.task_default_queue = default_queue


def _database_url_of_test_db() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


# --- Downloads: signed in, permission-checked, nothing under /media/ ------------------------


def test_the_dossier_downloads_through_a_permission_checked_view_not_media(
    ready_request, pharmacist, physician, client, other_hospital
):
    dossier = dossier_render(dossier_request(actor=pharmacist, request=ready_request).pk)
    assert dossier.status == "ready"
    client.force_login(pharmacist)
    page = client.get(reverse("requests:detail", args=[ready_request.pk])).content.decode()
    link = reverse("regulatory:dossier-download", args=[dossier.pk])
    assert link in page and "/media/" not in page
    pdf = client.get(link)
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert b"".join(pdf.streaming_content)[:5] == b"%PDF-"
    assert AuditEvent.objects.filter(action="dossier.downloaded", actor=pharmacist).exists()
    # The stored file is not served at its media address.
    assert client.get(f"/{settings.MEDIA_URL}{dossier.file.name}").status_code == 404
    client.logout()
    assert client.get(link).status_code == 302  # to the sign-in page
    stranger = UserFactory.create(username="far.away", hospital=other_hospital, role="pharmacist")
    client.force_login(stranger)
    assert client.get(link).status_code == 404


def test_the_dossier_api_gives_the_download_view_not_a_media_url(
    ready_request, pharmacist, api_client
):
    dossier_render(dossier_request(actor=pharmacist, request=ready_request).pk)
    api_client.force_authenticate(pharmacist)
    body = api_client.get(reverse("api-dossiers", args=[ready_request.pk])).json()
    assert "/media/" not in json.dumps(body)
    assert body[0]["download_url"].endswith("/download/") and "file" not in body[0]


def test_no_page_links_a_pdf_under_media(ready_request, pharmacist, physician, client):
    consent_render(consent_request(actor=physician, request=ready_request, language="en").pk)
    dossier_render(dossier_request(actor=pharmacist, request=ready_request).pk)
    for user in (physician, pharmacist):
        client.force_login(user)
        page = client.get(reverse("requests:detail", args=[ready_request.pk])).content.decode()
        assert "/media/" not in page
        assert reverse("consent:download", args=[ConsentDocument.objects.get().pk]) in page


def test_templates_never_link_a_file_url():
    root = Path(settings.BASE_DIR) / "templates"
    offenders = [
        str(p.relative_to(root))
        for p in root.rglob("*.html")
        if ".file.url" in p.read_text() or "MEDIA_URL" in p.read_text()
    ]
    assert offenders == []


# --- The consent inputs carry a reference and a hash, not the name --------------------------


def test_the_consent_inputs_hold_no_name_nor_date_of_birth_and_the_pdf_prints_them(
    ready_request, physician
):
    document = consent_request(actor=physician, request=ready_request, language="en")
    text = json.dumps(document.inputs)
    assert NAME not in text and "Zebulina" not in text and BORN not in text
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT inputs::text FROM consent_consentdocument WHERE id = %s", [document.pk]
        )
        stored = cursor.fetchone()[0]
    assert NAME not in stored and BORN not in stored
    assert document.inputs["patient"]["identity"] is not None
    assert len(document.inputs["patient"]["identity_sha256"]) == 64
    pdf = _pdf_text(consent_render(document.pk))
    assert f"Zebulina {NAME}" in pdf and BORN in pdf


def test_a_changed_name_supersedes_the_form_in_the_write_that_changes_it(ready_request, physician):
    document = consent_render(
        consent_request(actor=physician, request=ready_request, language="en").pk
    )
    patient_identity_set(
        actor=physician, patient=ready_request.patient, identity={"family_name": "Altronome"}
    )
    document.refresh_from_db()
    assert document.status == "superseded"
    fresh = consent_request(actor=physician, request=ready_request, language="en")
    assert fresh.pk != document.pk
    assert (
        fresh.inputs["patient"]["identity_sha256"] != document.inputs["patient"]["identity_sha256"]
    )
    assert "Altronome" in _pdf_text(consent_render(fresh.pk))


def test_a_form_queued_before_the_name_changed_is_not_printed_with_the_new_name(
    ready_request, physician
):
    document = consent_request(actor=physician, request=ready_request, language="en")
    ready_request.patient.identity.family_name = "Altronome"  # behind the services' back
    ready_request.patient.identity.save()
    with pytest.raises(ApplicationError, match="identifying data changed"):
        consent_render(document.pk)
    assert ConsentDocument.objects.get(pk=document.pk).status == "failed"


def test_the_migration_strips_the_names_from_older_forms_and_keeps_a_signed_form_signed(
    ready_request, physician
):
    from importlib import import_module

    migration = import_module("consent.migrations.0003_inputs_identity_reference")
    document = consent_render(
        consent_request(actor=physician, request=ready_request, language="en").pk
    )
    consent_sign(actor=physician, document=document, method="on_screen")
    assert consent_is_signed(ready_request)
    # The row as the first release wrote it: the name and the date of birth in clear.
    patient = {
        "name": f"Zebulina {NAME}",
        "date_of_birth": BORN,
        "pseudonym": ready_request.patient.pseudonym,
    }
    old = {**document.inputs, "patient": patient}
    ConsentDocument.objects.filter(pk=document.pk).update(
        inputs=old, inputs_hash=migration._inputs_hash(old, document.template_version)
    )
    migration.strip_identity(live_apps, None)
    document.refresh_from_db()
    assert NAME not in json.dumps(document.inputs) and BORN not in json.dumps(document.inputs)
    assert consent_is_signed(ready_request)  # the same hash as the code computes now
    migration.strip_identity(live_apps, None)  # twice: nothing more to do
    assert consent_is_signed(ready_request)


# --- A GET never writes ----------------------------------------------------------------------


def _writes(queries: CaptureQueriesContext) -> list[str]:
    """The writes of a page view, less the session's own bookkeeping (its idle expiry)."""
    return [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
        and '"django_session"' not in q["sql"]
    ]


def test_viewing_the_request_page_after_a_change_writes_nothing_the_change_superseded_it(
    ready_request, physician, client
):
    document = consent_request(actor=physician, request=ready_request, language="en")
    request_update(
        actor=physician,
        request=ready_request,
        fields={"lay_summary": "A new plain-language summary for the patient."},
    )
    document.refresh_from_db()
    assert document.status == "superseded"  # by the write, not by a page view
    client.force_login(physician)
    for url in (
        reverse("requests:detail", args=[ready_request.pk]),
        reverse("consent:panel", args=[ready_request.pk]),
    ):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        assert _writes(queries) == [], url


def test_a_form_made_stale_behind_the_services_back_shows_out_of_date_without_a_write(
    ready_request, physician, client
):
    document = consent_render(
        consent_request(actor=physician, request=ready_request, language="en").pk
    )
    OffLabelRequest.objects.filter(pk=ready_request.pk).update(lay_summary="Changed in the DB.")
    client.force_login(physician)
    with CaptureQueriesContext(connection) as queries:
        panel = client.get(reverse("consent:panel", args=[ready_request.pk])).content.decode()
    assert _writes(queries) == []
    assert "out of date" in panel and "Record the signature" not in panel
    assert ConsentDocument.objects.get(pk=document.pk).status == "ready"
