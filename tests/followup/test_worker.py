"""The renewal report end to end: queued on commit, rendered by a real Celery worker."""

from __future__ import annotations

import time
import uuid

import pytest
from celery import current_app

from followup.models import RenewalReport
from followup.report import renewal_report_request
from followup.services import response_assessment_create
from tests.followup.conftest import days_ago
from tests.test_celery_worker import celery_worker


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_renders_the_renewal_report_queued_on_commit(make_treated, physician, tmp_path):
    request = make_treated(60, cycles=2)
    response_assessment_create(
        actor=physician, request=request, assessed_on=days_ago(5), response="cri"
    )
    queue = f"test-{uuid.uuid4().hex[:10]}"
    log_path = tmp_path / "worker.log"
    default_queue = current_app.conf.task_default_queue
    current_app.conf.task_default_queue = queue  # what on_commit's .delay() routes to
    try:
        with celery_worker(queue, log_path) as worker:
            report = renewal_report_request(  # autocommit: on_commit runs now
                actor=physician,
                request=request,
                conclusion="CRi after two cycles with manageable cytopenias: renewal requested.",
            )
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and RenewalReport.objects.get(
                pk=report.pk
            ).status in ("queued", "rendering"):
                assert worker.poll() is None, log_path.read_text()
                time.sleep(0.5)
            report.refresh_from_db()
            assert report.status == "ready", log_path.read_text()
            assert len(report.sha256) == 64 and report.attempts == 1
            with report.file.open("rb") as pdf:
                assert pdf.read(5) == b"%PDF-"
    finally:
        current_app.conf.task_default_queue = default_queue
