"""The pharmacy page and API: what each role sees and can do, and errors that name the field."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from pharmacy.models import Dispensation, SafetyOverride, TlsPrecautions
from pharmacy.safety import safety_check
from prescriptions.models import DrugPrice, OffLabelRequest
from tests.pharmacy.conftest import approve, tls_record


@pytest.fixture
def posaconazole_draft(draft):
    draft.patient.medications.create(drug_name="posaconazole", interaction="strong_cyp3a_inhibitor")
    return draft


def test_pharmacist_sees_findings_with_sources_and_can_override_on_the_page(
    client, pharmacist, posaconazole_draft
):
    client.force_login(pharmacist)
    url = reverse("pharmacy:request", args=[posaconazole_draft.pk])
    page = client.get(url)
    text = page.content.decode()
    assert page.status_code == 200
    assert (
        "the request asks 100/200/400 mg; with posaconazole the label allows at most "
        "10/20/50/70 mg. The plan gives the lower dose, 10/20/50/70 mg."
    ) in text
    assert "day 4 70 mg; then 70 mg daily" in text  # the label wording, quoted
    assert "inhibitors.posaconazole" in text  # the rule, cited by its code
    assert "verify against the current label" in text  # the EU SmPC's differing wording
    assert 'name="fingerprint"' in text and "130 mg" in text  # azacitidine from BSA
    finding = safety_check(posaconazole_draft).open_blocking[0]
    too_short = client.post(
        reverse("pharmacy:override", args=[posaconazole_draft.pk]),
        {"fingerprint": finding.fingerprint, "reason": "ok"},
        follow=True,
    )
    assert "at least 10 characters" in too_short.content.decode()
    assert not SafetyOverride.objects.exists()
    client.post(
        reverse("pharmacy:override", args=[posaconazole_draft.pk]),
        {"fingerprint": finding.fingerprint, "reason": "Inhibitor stops tomorrow (invented)."},
    )
    assert SafetyOverride.objects.get().overridden_by == pharmacist
    assert "Overridden by ph.rossi" in client.get(url).content.decode()


def test_the_prescriber_sees_the_findings_but_no_override_form(
    client, physician, posaconazole_draft
):
    client.force_login(physician)
    page = client.get(reverse("pharmacy:request", args=[posaconazole_draft.pk])).content.decode()
    assert "Dose above the label maximum (posaconazole)" in page
    assert 'name="fingerprint"' not in page and "A pharmacist decides." in page
    detail = client.get(reverse("requests:detail", args=[posaconazole_draft.pk])).content
    assert b"1 blocking" in detail and b"Dose above the label maximum (posaconazole)" in detail


def test_other_hospitals_and_roles_without_access_get_nothing(
    client, draft, foreign_pharmacist, regulatory_officer
):
    url = reverse("pharmacy:request", args=[draft.pk])
    client.force_login(foreign_pharmacist)
    assert client.get(url).status_code == 404
    client.force_login(regulatory_officer)
    assert client.get(url).status_code == 403


def test_tls_and_dispensing_through_the_page(client, approved, pharmacist):
    client.force_login(pharmacist)
    client.post(
        reverse("pharmacy:tls", args=[approved.pk]),
        {
            "first_dose_at": "2026-12-01T09:00",
            "hydration": "on",
            "antihyperuricaemic": "allopurinol",
            "chemistry_corrected": "on",
        },
    )
    assert TlsPrecautions.objects.get(request=approved).complete
    page = client.get(reverse("pharmacy:request", args=[approved.pk])).content.decode()
    assert "Day 1 (100 mg): 6–8 h after" in page and "2026-12-01 15:00 – 17:00" in page
    assert "Dispense cycle 1" in page and 'value="107"' in page  # the computed quantity
    form = {
        "cycle": "1",
        "payer": "hospital_budget",
        "note": "",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "1",
        "lines-MAX_NUM_FORMS": "6",
        "lines-0-strength_mg": "100",
        "lines-0-quantity": "107",
        "lines-0-lot": "",
        "lines-0-expiry": "2031-01-31",
    }
    missing_lot = client.post(reverse("pharmacy:dispense", args=[approved.pk]), form, follow=True)
    assert "Not dispensed: line 1: lot: This field is required." in missing_lot.content.decode()
    assert not Dispensation.objects.exists()
    form["lines-0-lot"] = "LOT-77"
    done = client.post(reverse("pharmacy:dispense", args=[approved.pk]), form, follow=True)
    assert "Cycle 1 dispensed." in done.content.decode()
    approved.refresh_from_db()
    assert approved.status == OffLabelRequest.Status.ACTIVE
    again = client.post(reverse("pharmacy:dispense", args=[approved.pk]), form, follow=True)
    assert "Cycle 1 was already dispensed in full by ph.rossi" in again.content.decode()
    assert Dispensation.objects.count() == 1


def test_the_api_reports_overrides_records_and_dispenses(
    api_client, posaconazole_draft, pharmacist
):
    api_client.force_authenticate(pharmacist)
    base = f"/api/v1/requests/{posaconazole_draft.pk}"
    report = api_client.get(f"{base}/safety/").json()
    assert report["open_blocking"] == 1 and report["max_dose_mg"] == 70.0
    blocking = next(f for f in report["findings"] if f["severity"] == "blocking")
    short = api_client.post(
        f"{base}/safety/overrides/", {"fingerprint": blocking["fingerprint"], "reason": "no"}
    )
    assert short.status_code == 400 and "reason" in short.json()
    made = api_client.post(
        f"{base}/safety/overrides/",
        {"fingerprint": blocking["fingerprint"], "reason": "Checked with the physician."},
    )
    assert made.status_code == 201 and made.json()["overridden"] is True
    stale = api_client.post(
        f"{base}/safety/overrides/", {"fingerprint": "0" * 64, "reason": "Checked again today."}
    )
    assert stale.status_code == 409 and "no longer applies" in stale.json()["detail"]
    tls = api_client.put(
        f"{base}/tls/",
        {"first_dose_at": "2026-12-01T09:00:00+01:00", "hydration": True},
        format="json",
    )
    assert tls.status_code == 200 and tls.json()["hydration"] is True


def test_dispensing_through_the_api(api_client, approved, pharmacist):
    tls_record(approved, pharmacist)
    api_client.force_login(pharmacist)  # dispensing is a signature: a sign-in just now (issue 16)
    url = f"/api/v1/requests/{approved.pk}/dispensations/"
    line = {"strength_mg": "100", "quantity": 107, "lot": "LOT-9", "expiry": "2031-01-31"}
    bad = api_client.post(url, {"cycle": 1, "lines": [{**line, "expiry": "soon"}]}, format="json")
    assert bad.status_code == 400 and "expiry" in str(bad.json()), bad.json()
    created = api_client.post(url, {"cycle": 1, "lines": [line]}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["total_mg"] == 10700.0 and created.json()["dispensed_by"] == "ph.rossi"
    twice = api_client.post(url, {"cycle": 1, "lines": [line]}, format="json")
    assert twice.status_code == 409
    assert [d["cycle"] for d in api_client.get(url).json()] == [1]


def test_prices_page_and_api(client, api_client, pharmacist, physician):
    client.force_login(pharmacist)
    response = client.post(
        reverse("pharmacy:prices"),
        {
            "strength_mg": "100",
            "price_per_unit": "50.1234",
            "currency": "eur",
            "source": "Invented tender 2026/07",
            "valid_from": "2026-07-01",
        },
        follow=True,
    )
    assert "Price recorded." in response.content.decode()
    price = DrugPrice.objects.get()
    assert price.currency == "EUR" and price.price_per_mg == Decimal("0.501234")
    assert "€0.5012" in response.content.decode()  # per mg, as money is written (issue 15)
    api_client.force_authenticate(pharmacist)
    bad = api_client.post(
        "/api/v1/drug-prices/",
        {"strength_mg": "25", "price_per_unit": "1", "source": "x", "valid_from": "2026-01-01"},
    )
    assert bad.status_code == 400 and "strength" in str(bad.json())
    api_client.force_authenticate(physician)
    assert api_client.get("/api/v1/drug-prices/").status_code == 403


def test_costs_page_queries_do_not_grow_with_requests(
    client, pharmacist, physician, draft, make_request, hospital
):
    from pharmacy.services import LineInput, dispensation_create
    from tests.pharmacy.conftest import planned_tablets

    client.force_login(pharmacist)

    def dispense_one(request):
        request = approve(request, physician, pharmacist)
        tls_record(request, pharmacist)
        dispensation_create(
            actor=pharmacist,
            request=request,
            cycle=1,
            lines=[
                LineInput(s, n, "LOT-1", date(2031, 1, 1))
                for s, n in planned_tablets(request, 1).items()
            ],
        )

    dispense_one(draft)
    with CaptureQueriesContext(connection) as one:
        assert client.get(reverse("pharmacy:costs")).status_code == 200
    from evidence.models import Study
    from prescriptions.services import evidence_attach
    from regulatory.services import pathway_choose

    for _ in range(3):
        request = make_request()
        evidence_attach(
            actor=physician, request=request, study=Study.objects.get(reference=82), note="", rank=1
        )
        request.refresh_from_db()
        pathway_choose(actor=physician, request=request, pathway_code="gb_gmc_off_label")
        request.refresh_from_db()
        dispense_one(request)
    with CaptureQueriesContext(connection) as four:
        page = client.get(reverse("pharmacy:costs"))
    assert page.content.decode().count("OL-") == 4
    assert len(four) == len(one)
