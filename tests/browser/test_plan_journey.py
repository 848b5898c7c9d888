"""Issue 12's case in a real browser: posaconazole with VEN 70 mg and the standard 3-day
ramp-up. The plan (10/20/50/70 mg, then 70 mg) is the one the pharmacy page, the consent form
(rendered by a real Celery worker) and the dispense form all show; the request's 100/200 mg
steps are a blocking finding a pharmacist overrides; more than the plan and a cycle before its
start are refused on the page."""

from __future__ import annotations

import io
import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from celery import current_app
from django.utils import timezone
from pypdf import PdfReader

from audit.models import AuditEvent
from evidence.services import studies_load_review
from pharmacy.models import Dispensation
from pharmacy.rules import label_rules_load
from prescriptions.models import OffLabelRequest
from regulatory.loader import rules_load
from tests.browser.test_journeys import _fill, _sign_in
from tests.factories import HospitalFactory, UserFactory
from tests.prescriptions.conftest import COMPLETE_PROFILE, IDENTITY
from tests.test_celery_worker import celery_worker

pytestmark = [pytest.mark.browser, pytest.mark.worker]


@pytest.mark.django_db(transaction=True)
def test_posaconazole_70_mg_plan_consent_override_and_locked_dispensing_in_the_browser(
    live_server, page_for, tmp_path
):
    studies_load_review()
    rules_load()
    label_rules_load()
    hospital = HospitalFactory.create(name="Invented Plan Hospital", code="inv-plan")
    UserFactory.create(username="dr.plan", hospital=hospital, role="physician")
    UserFactory.create(username="ph.plan", hospital=hospital, role="pharmacist")
    base = live_server.url
    queue = f"test-{uuid.uuid4().hex[:10]}"
    default_queue = current_app.conf.task_default_queue
    current_app.conf.task_default_queue = queue  # the live server queues here, on commit
    try:
        with celery_worker(queue, tmp_path / "worker.log"):
            _journey(page_for, base)
    finally:
        current_app.conf.task_default_queue = default_queue
    assert page_for.problems == [], sorted(set(page_for.problems))  # no CSP violation/error


def _messages(page: Any) -> str:
    return " ".join(page.locator(".msg, .messages, [role=alert]").all_inner_texts())


def _journey(page_for: Any, base: str) -> None:
    # 1. The physician files the request: posaconazole, VEN 70 mg, the standard 3-day ramp-up.
    doctor = page_for()
    doctor.on("dialog", lambda d: d.accept())
    _sign_in(doctor, base, "dr.plan")
    doctor.goto(f"{base}/requests/new/")
    for name, value in COMPLETE_PROFILE.items():
        _fill(doctor, name, value)
    _fill(doctor, "med_0_name", "Posaconazole")
    _fill(doctor, "med_0_interaction", "strong_cyp3a_inhibitor")
    _fill(doctor, "med_0_started_on", (timezone.localdate() - timedelta(days=7)).isoformat())
    _fill(doctor, "identity-given_name", IDENTITY["given_name"])
    _fill(doctor, "identity-family_name", IDENTITY["family_name"])
    _fill(doctor, "identity-date_of_birth", str(IDENTITY["date_of_birth"]))
    doctor.click("button:has-text('Save and continue')")
    doctor.wait_for_url("**/regimen/")
    for name, value in {
        "regimen": "azacitidine",
        "ven_target_dose_mg": "70",
        "ramp_up": "hma_3_day",
        "cycles_planned": "4",
        "jurisdiction": "GB",
        "clinical_rationale": "First relapse after induction; on posaconazole prophylaxis "
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
    med = request.patient.medications.get()
    assert med.drug_name.lower() == "posaconazole" and med.started_on is not None

    # 2. The pharmacy page shows the plan, not the request's 100/200/400 mg steps.
    pharmacy_url = f"{base}/pharmacy/requests/{request.pk}/"
    doctor.goto(pharmacy_url)
    ramp = doctor.locator("#plan-ramp-up").inner_text()
    assert re.sub(r"\s+", " ", ramp).strip() == "10 / 20 / 50 / 70 mg", ramp
    cycle_one = doctor.locator("#plan-cycles tbody tr").first.locator("td").all_inner_texts()
    assert cycle_one[0].strip() == "1", cycle_one
    assert cycle_one[4].strip() == "26 × 50 mg, 53 × 10 mg", cycle_one
    assert cycle_one[5].strip() == "1830", cycle_one
    finding = doctor.locator(
        "#safety tbody tr", has_text="Dose above the label maximum (posaconazole)"
    )
    assert finding.count() == 1
    assert "blocking" in finding.locator("td").first.inner_text()
    assert finding.locator("blockquote.source").inner_text().strip()  # the label's wording
    assert finding.locator("code").inner_text().strip() == "inhibitors.posaconazole"
    assert "A pharmacist decides." in finding.inner_text()  # not the physician's to override

    # 3. Consent: rendered by the worker with the plan's ramp-up; signed; checklist attested.
    doctor.goto(f"{base}/requests/{request.pk}/")
    doctor.locator("select[name=language]").select_option("en")  # the English day lines
    doctor.click("button:has-text('Prepare the consent form')")
    doctor.wait_for_selector("a:has-text('Download PDF')", timeout=90_000)  # htmx polling
    with doctor.expect_download() as download_info:
        doctor.click("a:has-text('Download PDF')")
    pdf = download_info.value.path().read_bytes()
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    flat = re.sub(r"\s+", " ", text)
    assert pdf[:5] == b"%PDF-" and str(IDENTITY["family_name"]) in flat
    for line in ("Day 1: 10 mg", "Day 2: 20 mg", "Day 3: 50 mg", "Day 4: 70 mg"):
        assert line in flat, (line, flat)
    ramp_lines = re.findall(r"Day \d+: [\d.]+ mg", flat)
    assert ramp_lines == ["Day 1: 10 mg", "Day 2: 20 mg", "Day 3: 50 mg", "Day 4: 70 mg"]
    assert not re.search(r"Day \d+: (100|200|400) mg", flat), flat
    doctor.click("summary:has-text('Record the signature')")
    doctor.click("button:has-text('Record signature')")
    doctor.wait_for_selector("text=Signed")
    while doctor.locator("button:has-text('Attest')").count():
        doctor.locator("button:has-text('Attest')").first.click()
        doctor.wait_for_load_state()

    # 4. The pharmacist: the queue counts the blocking finding; review; override; approve.
    pharmacist = page_for()
    pharmacist.on("dialog", lambda d: d.accept())  # data-confirm on override and dispense
    _sign_in(pharmacist, base, "ph.plan")
    pharmacist.goto(f"{base}/requests/queue/")
    headers = [h.strip() for h in pharmacist.locator("table.data thead th").all_inner_texts()]
    row = pharmacist.locator("table.data tbody tr", has_text=request.reference)
    assert row.count() == 1
    assert row.locator("td").nth(headers.index("Blocking")).inner_text().strip() == "1"
    pharmacist.click(f"text={request.reference}")
    pharmacist.click("button:has-text('Start review')")
    pharmacist.wait_for_selector("text=In pharmacy review")
    pharmacist.goto(pharmacy_url)
    finding = pharmacist.locator(
        "#safety tbody tr", has_text="Dose above the label maximum (posaconazole)"
    )
    finding.locator("textarea[name=reason]").fill(
        "The plan gives the posaconazole-adjusted doses, not the requested steps (invented)."
    )
    finding.locator("button:has-text('Override')").click()
    pharmacist.wait_for_selector("text=Override recorded with your reason.")
    assert (
        AuditEvent.objects.filter(action="safety.overridden", actor_username="ph.plan").count() == 1
    )
    assert (
        "Overridden by"
        in pharmacist.locator(
            "#safety tbody tr", has_text="Dose above the label maximum (posaconazole)"
        ).inner_text()
    )
    pharmacist.goto(f"{base}/requests/{request.pk}/")
    approve = pharmacist.locator(
        "form.action-form", has=pharmacist.locator("button:text-is('Approve')")
    )
    assert not approve.locator("textarea[name=reason]").count()  # approving asks no reason
    approve.locator("button:text-is('Approve')").click()
    pharmacist.wait_for_selector("text=is now 'Approved'")
    request.refresh_from_db()
    assert request.status == "approved"

    # 5. TLS precautions, then the dispense form pre-filled from the plan.
    pharmacist.goto(pharmacy_url)
    first_dose = timezone.localtime(timezone.now() - timedelta(hours=1))
    tls = pharmacist.locator("#tls form")
    tls.locator("[name=first_dose_at]").fill(first_dose.strftime("%Y-%m-%dT%H:%M"))
    tls.locator("[name=hydration]").check()
    tls.locator("[name=antihyperuricaemic]").fill("allopurinol")
    tls.locator("[name=chemistry_corrected]").check()
    tls.locator("button:has-text('Record TLS precautions')").click()
    pharmacist.wait_for_selector("text=TLS precautions recorded")
    assert AuditEvent.objects.filter(action="tls.recorded", actor_username="ph.plan").exists()

    dispense = pharmacist.locator("#dispensing form[action$='/dispense/']")
    assert "Dispense cycle 1" in pharmacist.locator("#dispensing").inner_text()
    assert dispense.locator("[name='lines-TOTAL_FORMS']").input_value() == "2"
    assert dispense.locator("[name='lines-0-strength_mg']").input_value() == "50"
    assert dispense.locator("[name='lines-0-quantity']").input_value() == "26"
    assert dispense.locator("[name='lines-1-strength_mg']").input_value() == "10"
    assert dispense.locator("[name='lines-1-quantity']").input_value() == "53"
    assert (
        "The plan leaves 1830 mg to dispense for cycle 1"
        in pharmacist.locator("#dispense-plan").inner_text()
    )

    # More than the plan: 100 × 50 mg + 53 × 10 mg = 5530 mg against 1830 mg, refused.
    dispense.locator("[name='lines-0-quantity']").fill("100")
    for i in (0, 1):
        dispense.locator(f"[name='lines-{i}-lot']").fill(f"LOT-PLAN-{i}")
    dispense.locator("button:has-text('Dispense cycle 1')").click()
    pharmacist.wait_for_selector("text=more than the plan leaves")
    refusal = _messages(pharmacist) or pharmacist.locator("main").inner_text()
    assert "more than the plan leaves" in refusal and "1830 mg" in refusal, refusal
    assert "5530 mg" in refusal, refusal  # the figure entered, beside the plan's
    assert Dispensation.objects.count() == 0

    # The pre-filled quantities: dispensed.
    dispense = pharmacist.locator("#dispensing form[action$='/dispense/']")
    assert dispense.locator("[name='lines-0-quantity']").input_value() == "26"
    for i in (0, 1):
        dispense.locator(f"[name='lines-{i}-lot']").fill(f"LOT-PLAN-{i}")
    dispense.locator("button:has-text('Dispense cycle 1')").click()
    pharmacist.wait_for_selector("text=Cycle 1 dispensed.")
    assert Dispensation.objects.count() == 1
    assert Dispensation.objects.get().total_mg == 1830
    assert AuditEvent.objects.filter(action="dispensation.created").count() == 1

    # 6. The form is now for cycle 2, not before its date; dispensing it now is refused.
    plan_text = pharmacist.locator("#dispense-plan").inner_text()
    assert "for cycle 2" in plan_text and "Not before" in plan_text, plan_text
    dispense = pharmacist.locator("#dispensing form[action$='/dispense/']")
    rows = dispense.locator("tbody tr").count()
    for i in range(rows):
        dispense.locator(f"[name='lines-{i}-lot']").fill(f"LOT-PLAN-2-{i}")
    dispense.locator("button:has-text('Dispense cycle 2')").click()
    pharmacist.wait_for_selector("text=Too early for cycle 2")
    earliest = re.search(r"dispensed from (\d{4}-\d{2}-\d{2})", _messages(pharmacist))
    assert earliest and earliest.group(1) > timezone.localdate().isoformat(), _messages(pharmacist)
    assert Dispensation.objects.count() == 1
    assert AuditEvent.objects.filter(action="dispensation.created").count() == 1
