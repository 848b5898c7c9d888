"""A real Celery worker process consumes a task from the real broker and writes to the real DB."""

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from audit.models import AuditChainCheck
from audit.services import audit_record
from audit.tasks import audit_chain_verify_task

ROOT = Path(__file__).resolve().parent.parent


def _database_url_of_test_db() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


@contextmanager
def celery_worker(queue: str, log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A real worker process on the test database, consuming only ``queue``."""
    # Same settings as this process: the same broker, the test database and var/media.
    env = {
        **os.environ,
        "DATABASE_URL": _database_url_of_test_db(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
    }
    with log_path.open("w") as log:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "offlabel",
                "worker",
                "-Q",
                queue,
                "--pool",
                "solo",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel",
                "INFO",
                "-n",
                f"{queue}@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield worker
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_process_consumes_task_from_broker_and_writes_database(physician, tmp_path):
    for i in range(5):
        audit_record(
            actor=physician, action="test.event", object_type="t", object_id=i, summary="s"
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
            while (
                time.monotonic() < deadline
                and Dossier.objects.get(pk=dossier.pk).status == "queued"
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
