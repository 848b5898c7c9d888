"""A real Celery worker process consumes a task from the real broker and writes to the real DB."""

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from audit.actions import AuditAction
from audit.models import AuditChainCheck
from audit.services import audit_record
from audit.tasks import audit_chain_verify_task
from tests.helpers import celery_worker_process

ROOT = Path(__file__).resolve().parent.parent


def _database_url_of_test_db() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


@contextmanager
def celery_worker(
    queue: str, log_path: Path, pool: str = "solo", **extra_env: str
) -> Iterator[subprocess.Popen[bytes]]:
    """A real worker on the test database consuming only ``queue``, in its own process group
    (so a kill reaches a prefork pool's children too)."""
    # Same settings as this process: the same broker, the test database and var/media.
    env = {
        **os.environ,
        "DATABASE_URL": _database_url_of_test_db(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        **extra_env,
    }
    with celery_worker_process(queue=queue, name=queue, env=env, log=log_path, pool=pool) as worker:
        yield worker


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_process_consumes_task_from_broker_and_writes_database(physician, tmp_path):
    for i in range(5):
        audit_record(
            actor=physician,
            action=AuditAction.HOSPITAL_CREATED,
            object_type="t",
            object_id=i,
            summary="s",
        )
    queue = f"test-{uuid.uuid4().hex[:10]}"  # only this worker listens here
    log_path = tmp_path / "worker.log"
    with celery_worker(queue, log_path) as worker:
        audit_chain_verify_task.apply_async(queue=queue)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not AuditChainCheck.objects.exists():
            assert worker.poll() is None, log_path.read_text()
            time.sleep(0.5)
        check = AuditChainCheck.objects.first()
        assert check is not None, "the worker never wrote: " + log_path.read_text()
        assert check.ok and check.events_checked == 5
        assert "audit_chain_verify_task" in log_path.read_text()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_renders_a_dossier_queued_on_commit(physician, pharmacist, studies, rules, tmp_path):
    """The dossier path end to end: committed request -> broker -> worker -> PDF in the database."""
    from celery import current_app

    from evidence.models import Study
    from prescriptions.services import evidence_attach, patient_create, request_create
    from regulatory.dossier import dossier_request
    from regulatory.models import Dossier
    from regulatory.services import pathway_choose
    from tests.prescriptions.conftest import COMPLETE_PROFILE, REGIMEN

    patient = patient_create(actor=physician, profile=COMPLETE_PROFILE)
    request = request_create(actor=physician, patient=patient, fields=REGIMEN)
    evidence_attach(actor=physician, request=request, study=Study.objects.get(reference=63))
    pathway_choose(actor=physician, request=request, pathway_code="gb_gmc_off_label")
    queue = f"test-{uuid.uuid4().hex[:10]}"
    log_path = tmp_path / "worker.log"
    default_queue = current_app.conf.task_default_queue
    current_app.conf.task_default_queue = queue  # what on_commit's .delay() routes to
    try:
        with celery_worker(queue, log_path) as worker:
            dossier = dossier_request(
                actor=pharmacist, request=request
            )  # autocommit: on_commit runs now
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and Dossier.objects.get(pk=dossier.pk).status in (
                "queued",
                "rendering",
            ):
                assert worker.poll() is None, log_path.read_text()
                time.sleep(0.5)
            dossier.refresh_from_db()
            assert dossier.status == "ready", log_path.read_text()
            assert len(dossier.sha256) == 64 and dossier.file.name.endswith(".pdf")
            with dossier.file.open("rb") as pdf:
                assert pdf.read(5) == b"%PDF-"
    finally:
        current_app.conf.task_default_queue = default_queue


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    not settings.CELERY_BROKER_URL.startswith("redis"),
    reason="kombu's filesystem transport never redelivers an unacknowledged message; "
    "CI runs this on Redis",
)
def test_a_worker_killed_mid_render_loses_nothing_and_one_pdf_is_stored(
    physician, studies, rules, tmp_path
):
    from celery import current_app

    from consent.models import ConsentDocument
    from consent.services import consent_request
    from evidence.models import Study
    from prescriptions.services import evidence_attach, patient_create, request_create
    from regulatory.services import pathway_choose
    from tests.prescriptions.conftest import COMPLETE_PROFILE, IDENTITY, REGIMEN

    patient = patient_create(actor=physician, profile=COMPLETE_PROFILE, identity=IDENTITY)
    request = request_create(actor=physician, patient=patient, fields=REGIMEN)
    evidence_attach(actor=physician, request=request, study=Study.objects.get(reference=63))
    pathway_choose(actor=physician, request=request, pathway_code="gb_gmc_off_label")
    started = time.time()
    queue = f"test-{uuid.uuid4().hex[:10]}"
    log_path = tmp_path / "workers.log"
    fast_redelivery = {"CELERY_VISIBILITY_TIMEOUT": "6"}
    default_queue = current_app.conf.task_default_queue
    current_app.conf.task_default_queue = queue
    try:
        # prefork: its event loop restores unacknowledged messages (the solo pool's does not).
        with celery_worker(queue, log_path, pool="prefork", **fast_redelivery) as first:
            document = consent_request(
                actor=physician, request=request, language="fr"
            )  # queued on commit
            deadline = time.monotonic() + 60
            while ConsentDocument.objects.get(pk=document.pk).status != "rendering":
                assert time.monotonic() < deadline and first.poll() is None, log_path.read_text()
                time.sleep(0.02)
            os.killpg(first.pid, signal.SIGKILL)  # mid-render: nothing acknowledged, nothing stored
            first.wait(timeout=10)
        killed = ConsentDocument.objects.get(pk=document.pk)
        assert killed.status == "rendering" and not killed.file, (
            "the render finished before the kill"
        )
        # The redelivered message takes the abandoned render over once it is older than the
        # stale window (production: the time limit + 30 s; here 3 s, the first worker is dead).
        taking_over = {**fast_redelivery, "RENDER_STALE_AFTER_SECONDS": "3"}
        with celery_worker(queue, log_path, pool="prefork", **taking_over) as second:
            deadline = time.monotonic() + 90
            while ConsentDocument.objects.get(pk=document.pk).status != "ready":
                assert time.monotonic() < deadline and second.poll() is None, log_path.read_text()
                time.sleep(0.5)
        stored = ConsentDocument.objects.get(pk=document.pk)
        assert stored.attempts == 2 and len(stored.sha256) == 64
        assert ConsentDocument.objects.filter(request=request).count() == 1
        media = Path(settings.MEDIA_ROOT) / Path(str(stored.file.name)).parent
        written = [
            p.name for p in media.glob(f"{stored.document_id}*.pdf") if p.stat().st_mtime >= started
        ]
        assert written == [Path(str(stored.file.name)).name]  # exactly one PDF stored
    finally:
        current_app.conf.task_default_queue = default_queue
