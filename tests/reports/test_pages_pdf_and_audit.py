"""The report page, its downloads and the PDF (by a real worker); the audit trail viewer and
the chain check from the page."""

from __future__ import annotations

import io
import time
import uuid

import pytest
from celery import current_app
from django.urls import reverse
from openpyxl import load_workbook
from pypdf import PdfReader

from audit.models import AuditChainCheck, AuditEvent
from audit.tasks import audit_chain_verify_task
from reports.models import ReportExport
from reports.selectors import ReportFilters
from reports.services import report_export_render, report_export_request
from tests.pharmacy.conftest import approve, dispense_cycle_one
from tests.prescriptions.conftest import draft, patient  # noqa: F401 - fixtures
from tests.test_celery_worker import celery_worker


@pytest.fixture
def treated(draft, physician, pharmacist):  # noqa: F811
    return dispense_cycle_one(approve(draft, physician, pharmacist), pharmacist)


def test_only_the_hospital_administrator_opens_the_report(client, hospital_admin, pharmacist):
    client.force_login(pharmacist)
    assert client.get(reverse("reports:report")).status_code == 403
    assert client.get(reverse("reports:csv")).status_code == 403
    client.force_login(hospital_admin)
    assert client.get(reverse("reports:report")).status_code == 200


def test_report_page_shows_figures_and_charts_and_exports_are_audited(
    client, hospital_admin, treated
):
    client.force_login(hospital_admin)
    page = client.get(reverse("reports:report")).content.decode()
    assert "Requests by state" in page and '<img src="data:image/svg+xml;base64,' in page
    assert "None: every approved request has a signed consent." in page
    assert "Active (dispensing)" in page and "Hospital budget" in page
    bad = client.get(
        reverse("reports:report"), {"date_from": "2026-05-01", "date_to": "2026-04-01"}
    )
    assert "The end of the period is before its start." in bad.content.decode()
    csv = client.get(reverse("reports:csv"), {"state": "active"})
    assert csv.status_code == 200 and "Requests by state" in csv.content.decode()
    assert AuditEvent.objects.filter(action="report.exported_csv", actor=hospital_admin).exists()
    xlsx = client.get(reverse("reports:xlsx"))
    workbook = load_workbook(io.BytesIO(xlsx.content))
    assert "summary" in workbook.sheetnames
    assert AuditEvent.objects.filter(action="report.exported_xlsx").exists()


def test_the_pdf_report_has_every_table_and_chart(hospital_admin, treated):
    export = report_export_request(actor=hospital_admin, filters=ReportFilters())
    report_export_render(export.pk)
    export.refresh_from_db()
    assert export.status == "ready" and len(export.sha256) == 64
    with export.file.open("rb") as handle:
        reader = PdfReader(io.BytesIO(handle.read()))
    text = " ".join(" ".join(p.extract_text() for p in reader.pages).split())
    for heading in (
        "Summary",
        "Requests by state",
        "Requests by pathway",
        "Dispensing volume and cost by payer",
        "Adverse events by CTCAE grade",
        "Per physician",
        "Approved requests without a signed consent (must be none)",
    ):
        assert heading in text, heading
    assert f"page 1 of {len(reader.pages)}" in text
    assert "Dispensed value by payer" in text  # the chart's title, drawn as SVG text
    again = report_export_render(export.pk)  # a duplicate message changes nothing
    assert again.sha256 == export.sha256


def test_a_pharmacist_cannot_queue_the_pdf_report(pharmacist):
    from offlabel.exceptions import ApplicationError

    with pytest.raises(ApplicationError, match="hospital administrator"):
        report_export_request(actor=pharmacist, filters=ReportFilters())


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_renders_the_pdf_report_queued_from_the_page(client, hospital_admin, tmp_path):
    queue = f"test-{uuid.uuid4().hex[:10]}"
    log_path = tmp_path / "worker.log"
    default_queue = current_app.conf.task_default_queue
    current_app.conf.task_default_queue = queue
    try:
        with celery_worker(queue, log_path) as worker:
            client.force_login(hospital_admin)
            client.post(reverse("reports:pdf"), {"state": "", "query": ""})
            export = ReportExport.objects.get()
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and ReportExport.objects.get(pk=export.pk).status in (
                "queued",
                "rendering",
            ):
                assert worker.poll() is None, log_path.read_text()
                time.sleep(0.5)
            export.refresh_from_db()
            assert export.status == "ready", log_path.read_text()
            download = client.get(reverse("reports:export-download", args=[export.pk]))
            assert b"".join(download.streaming_content)[:5] == b"%PDF-"
            assert AuditEvent.objects.filter(action="report.downloaded").exists()
    finally:
        current_app.conf.task_default_queue = default_queue


def _events_table(page: str) -> str:
    return page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]


def test_audit_viewer_filters_and_links_the_request_timeline(client, hospital_admin, treated):
    client.force_login(hospital_admin)
    page = client.get(reverse("reports:audit"), {"reference": treated.reference})
    text = page.content.decode()
    # The events' table (the filter above it offers every action code).
    rows = _events_table(text)
    assert "request.approve" in rows and "dispensation.created" in rows
    assert "consent.requested" in rows
    assert f'href="/requests/{treated.pk}/' in rows
    only = _events_table(
        client.get(reverse("reports:audit"), {"action": "request.approve"}).content.decode()
    )
    assert "request.approve" in only and "dispensation.created" not in only
    for bad in ("banana", "OL-²"):  # "²".isdigit() is true, but it is no number
        wrong = client.get(reverse("reports:audit"), {"reference": bad})
        assert wrong.status_code == 200
        assert "Write the request reference as OL-000042." in wrong.content.decode()
    assert "Inventatissima" not in text  # names never reach the trail


def test_the_administrator_runs_the_chain_check_from_the_page(
    client, hospital_admin, treated, django_capture_on_commit_callbacks
):
    client.force_login(hospital_admin)
    with django_capture_on_commit_callbacks() as queued:
        client.post(reverse("reports:audit-verify"))
    assert len(queued) == 1  # the check is queued for a worker, on commit
    audit_chain_verify_task()  # what the worker runs
    check = AuditChainCheck.objects.get()
    assert check.ok and check.events_checked == AuditEvent.objects.count()
    panel = client.get(reverse("reports:audit-checks")).content.decode()
    assert "intact" in panel and str(check.events_checked) in panel
