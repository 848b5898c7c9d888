"""The journeys of issue 7 in a real browser: a physician files a request; the consent form is
rendered by a real Celery worker and downloaded; a pharmacist reviews and approves it after
the consent and the checklist; an administrator opens the report."""

from __future__ import annotations

import io
import uuid
from typing import Any

import pytest
from celery import current_app
from pypdf import PdfReader

from evidence.services import studies_load_review
from pharmacy.rules import label_rules_load
from prescriptions.models import OffLabelRequest
from regulatory.loader import rules_load
from tests.factories import TEST_PASSWORD, HospitalFactory, UserFactory
from tests.prescriptions.conftest import COMPLETE_PROFILE, IDENTITY
from tests.test_celery_worker import celery_worker

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def _sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("[name=username]", username)
    page.fill("[name=password]", TEST_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def _fill(page: Any, name: str, value: object) -> None:
    field = page.locator(f"[name='{name}']")
    if field.evaluate("e => e.tagName") == "SELECT":
        field.select_option(str(value))
    else:
        field.fill(str(value))


@pytest.mark.django_db(transaction=True)
def test_request_consent_approval_and_report_in_the_browser(live_server, page_for, tmp_path):
    studies_load_review()
    rules_load()
    label_rules_load()
    hospital = HospitalFactory.create(name="Invented Browser Hospital", code="inv-browser")
    UserFactory.create(username="dr.browser", hospital=hospital, role="physician")
    UserFactory.create(username="ph.browser", hospital=hospital, role="pharmacist")
    UserFactory.create(username="adm.browser", hospital=hospital, role="hospital_admin")
    base = live_server.url
    queue = f"test-{uuid.uuid4().hex[:10]}"
    default_queue = current_app.conf.task_default_queue
    current_app.conf.task_default_queue = queue  # the live server queues here, on commit
    try:
        with celery_worker(queue, tmp_path / "worker.log"):
            _journey(page_for, base)
    finally:
        current_app.conf.task_default_queue = default_queue
    print("\n".join(sorted(set(page_for.problems))))
    assert page_for.problems == [], sorted(set(page_for.problems))  # no CSP violation/error


def _journey(page_for: Any, base: str) -> None:
    # 1. The physician files the request, step by step.
    doctor = page_for()
    _sign_in(doctor, base, "dr.browser")
    doctor.goto(f"{base}/requests/new/")
    for name, value in COMPLETE_PROFILE.items():
        _fill(doctor, name, value)
    _fill(doctor, "mut_IDH2", "present")
    _fill(doctor, "identity-given_name", IDENTITY["given_name"])
    _fill(doctor, "identity-family_name", IDENTITY["family_name"])
    _fill(doctor, "identity-date_of_birth", str(IDENTITY["date_of_birth"]))
    doctor.click("button:has-text('Save and continue')")
    doctor.wait_for_url("**/regimen/")
    for name, value in {
        "regimen": "azacitidine",
        "ven_target_dose_mg": "400",
        "ramp_up": "hma_3_day",
        "cycles_planned": "4",
        "jurisdiction": "GB",
        "clinical_rationale": "First relapse after induction; unfit for re-induction "
        "(invented browser case).",
    }.items():
        _fill(doctor, name, value)
    doctor.click("button:has-text('Save and continue')")
    doctor.wait_for_url("**/evidence/")
    doctor.locator("button:has-text('Attach')").first.click()  # the top-ranked study (htmx)
    doctor.wait_for_selector("button:has-text('Remove')")
    doctor.click("text=Continue to the regulatory pathway")
    doctor.locator("button.primary:has-text('Follow')").click()
    doctor.wait_for_url("**/review/")
    doctor.click("button:has-text('Submit to the pharmacy')")
    doctor.wait_for_selector("text=Submitted")
    request = OffLabelRequest.objects.get()
    assert request.status == "submitted"

    # 2. Consent: rendered by the worker, downloaded, signed on screen; checklist attested.
    doctor.click("button:has-text('Prepare the consent form')")
    doctor.wait_for_selector("a:has-text('Download PDF')", timeout=90_000)  # htmx polling
    with doctor.expect_download() as download_info:
        doctor.click("a:has-text('Download PDF')")
    pdf = download_info.value.path().read_bytes()
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert pdf[:5] == b"%PDF-" and str(IDENTITY["family_name"]) in text
    doctor.click("summary:has-text('Record the signature')")
    doctor.click("button:has-text('Record signature')")
    doctor.wait_for_selector("text=Signed")
    while doctor.locator("button:has-text('Attest')").count():
        doctor.locator("button:has-text('Attest')").first.click()
        doctor.wait_for_load_state()

    # 3. The pharmacist reviews and approves from the queue.
    pharmacist = page_for()
    _sign_in(pharmacist, base, "ph.browser")
    pharmacist.goto(f"{base}/requests/queue/")
    pharmacist.click(f"text={request.reference}")
    pharmacist.click("button:has-text('Start review')")
    pharmacist.wait_for_selector("text=In pharmacy review")
    approve = pharmacist.locator(
        "form.action-form", has=pharmacist.locator("button:text-is('Approve')")
    )
    assert not approve.locator("textarea[name=reason]").count()  # approving asks no reason
    approve.locator("button:text-is('Approve')").click()
    pharmacist.wait_for_selector("text=is now 'Approved'")
    request.refresh_from_db()
    assert request.status == "approved"

    # 4. The administrator opens the report and sees the approval counted.
    admin = page_for()
    _sign_in(admin, base, "adm.browser")
    admin.goto(f"{base}/reports/")
    admin.wait_for_selector("text=Requests by state")
    summary = admin.locator("table.summary").inner_text()
    assert "Approved\t1" in summary and "Approval rate\t100.0%" in summary
    assert admin.locator("figure.chart img, figure.chart svg").count() >= 1
