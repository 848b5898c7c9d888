"""A real Celery worker process consumes a task from the real broker and writes to the real DB."""

import os
import subprocess
import sys
import time
import uuid
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


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_process_consumes_task_from_broker_and_writes_database(physician, tmp_path):
    for i in range(5):
        audit_record(
            actor=physician, action="test.event", object_type="t", object_id=i, summary="s"
        )
    queue = f"test-{uuid.uuid4().hex[:10]}"  # only this worker listens here
    env = {
        **os.environ,
        "DATABASE_URL": _database_url_of_test_db(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
    }
    log = (tmp_path / "worker.log").open("w")
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
        audit_chain_verify_task.apply_async(queue=queue)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not AuditChainCheck.objects.exists():
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()
            time.sleep(0.5)
        check = AuditChainCheck.objects.first()
        assert check is not None, "the worker never wrote: " + (tmp_path / "worker.log").read_text()
        assert check.ok and check.events_checked == 5
        assert "audit_chain_verify_task" in (tmp_path / "worker.log").read_text()
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
        log.close()
