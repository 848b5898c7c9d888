"""The meaning of each act (21 CFR 11.50), as the signature row and the act's audit event
record it, through the HTTP entry points the users take; and the dossier PDF that shows them."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from audit.services import audit_chain_verify
from consent.services import consent_render, consent_request
from pharmacy.services import LineInput, dispensation_create
from prescriptions.models import OffLabelRequest
from prescriptions.services import request_transition
from regulatory.models import Pathway
from signatures.meanings import signature_meaning
from signatures.models import ElectronicSignature
from tests.factories import TEST_PASSWORD
from tests.pharmacy.conftest import cycle_start, planned_tablets, tls_record
from tests.prescriptions.conftest import checklist_complete

S = OffLabelRequest.Status
LATER = timedelta(minutes=settings.SIGNATURE_REAUTH_MINUTES + 1)


def _signed(meaning: str, signer) -> ElectronicSignature:
    """The one signature with this meaning, and its audit event saying the same."""
    signature = ElectronicSignature.objects.get(meaning=meaning)
    assert signature.signer == signer
    stamp = signature.audit_event.after["signature"]
    assert stamp["meaning"] == meaning
    assert stamp["signer_name"] == signature.signer_name
    assert stamp["method"] == signature.method
    assert stamp["signed_at"] == signature.signed_at.isoformat()
    assert audit_chain_verify().ok
    return signature


@pytest.fixture
def in_review(draft, physician, pharmacist) -> OffLabelRequest:
    checklist_complete(draft)
    request = request_transition(actor=physician, request=draft, transition="submit")
    return request_transition(actor=pharmacist, request=request, transition="start_review")


def test_approve_means_approved_as_pharmacist(client, in_review, pharmacist):
    client.force_login(pharmacist)
    response = client.post(
        f"/requests/{in_review.pk}/transition/",
        {"transition": "approve", "back": "pharmacy"},
    )
    assert response.status_code == 302
    signature = _signed("approved as pharmacist", pharmacist)
    assert signature.audit_event.action == "request.approve"
    assert signature.signer_role == "pharmacist"


def test_reject_means_rejected_as_pharmacist(api_client, in_review, pharmacist):
    api_client.force_authenticate(pharmacist)
    response = api_client.post(
        f"/api/v1/requests/{in_review.pk}/transition/",
        {
            "transition": "reject",
            "reason": "No evidence for this population (invented).",
            "reauth_password": TEST_PASSWORD,
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == S.REJECTED
    assert _signed("rejected as pharmacist", pharmacist).audit_event.action == "request.reject"


def test_withdraw_means_withdrawn_as_physician(client, in_review, physician):
    client.force_login(physician)
    response = client.post(
        f"/requests/{in_review.pk}/transition/",
        {"transition": "withdraw", "reason": "The patient chose another treatment."},
    )
    assert response.status_code == 302
    in_review.refresh_from_db()
    assert in_review.status == S.WITHDRAWN
    _signed("withdrawn as physician", physician)


def test_dispensing_means_dispensed_cycle_2(api_client, approved, pharmacist):
    tls_record(approved, pharmacist)
    dispensation_create(
        actor=pharmacist,
        request=approved,
        cycle=1,
        lines=[
            LineInput(s, n, "LOT-T1", date(2031, 1, 31))
            for s, n in planned_tablets(approved, 1).items()
        ],
    )
    lines = [
        {"strength_mg": str(s), "quantity": n, "lot": "LOT-C2", "expiry": "2031-01-31"}
        for s, n in planned_tablets(approved, 2).items()
    ]
    url = f"/api/v1/requests/{approved.pk}/dispensations/"
    with time_machine.travel(cycle_start(2), tick=False) as traveller:
        api_client.force_login(pharmacist)
        traveller.shift(LATER)
        refused = api_client.post(url, {"cycle": 2, "lines": lines}, format="json")
        assert refused.status_code == 403
        assert refused.json()["code"] == "reauthentication_required"
        assert refused.json()["meaning"] == "dispensed cycle 2"
        assert not approved.dispensations.filter(cycle=2).exists()
        made = api_client.post(
            url, {"cycle": 2, "lines": lines, "reauth_password": TEST_PASSWORD}, format="json"
        )
    assert made.status_code == 201, made.content
    signature = _signed("dispensed cycle 2", pharmacist)
    assert signature.object_type == "pharmacy.dispensation"
    assert signature.object_id == str(made.json()["id"])
    assert signature.request == approved


def test_dispensing_on_the_page_prints_the_meaning_by_the_button(client, approved, pharmacist):
    tls_record(approved, pharmacist)
    with time_machine.travel(cycle_start(1), tick=False) as traveller:
        client.force_login(pharmacist)
        page = client.get(reverse("pharmacy:request", args=[approved.pk])).content.decode()
        assert "You are signing: <strong>dispensed cycle 1</strong>" in page
        assert 'name="reauth_password"' not in page  # signed in a moment ago
        traveller.shift(LATER)
        page = client.get(reverse("pharmacy:request", args=[approved.pk])).content.decode()
    assert 'name="reauth_password"' in page


def _ready_consent(request, physician):
    return consent_render(consent_request(actor=physician, request=request, language="en").pk)


def test_recording_a_consent_signature_means_it_with_how_and_the_witness(
    api_client, draft, physician
):
    document = _ready_consent(draft, physician)
    api_client.force_login(physician)
    response = api_client.post(
        f"/api/v1/consents/{document.pk}/sign/",
        {"method": "on_screen", "witness_name": "Ugo Testimone"},
        format="json",
    )
    assert response.status_code == 200, response.content
    signature = _signed(
        "consent signature recorded (patient signed on screen, witness Ugo Testimone) as physician",
        physician,
    )
    assert (signature.object_type, signature.object_id) == (
        "consent.consentsignature",
        str(document.signature.pk),
    )


def test_recording_a_consent_signature_on_the_page(client, draft, physician):
    document = _ready_consent(draft, physician)
    with time_machine.travel(timezone.now()) as traveller:
        client.force_login(physician)
        traveller.shift(LATER)
        refused = client.post(
            reverse("consent:sign", args=[document.pk]),
            {
                "method": "on_screen",
                "signer": "representative",
                "representative_name": "Ida Tutrice",
            },
        )
        assert refused.status_code == 403
        assert 'value="Ida Tutrice"' in refused.content.decode()
        signed = client.post(
            reverse("consent:sign", args=[document.pk]),
            {
                "method": "on_screen",
                "signer": "representative",
                "representative_name": "Ida Tutrice",
                "reauth_password": TEST_PASSWORD,
            },
        )
    assert signed.status_code == 302
    _signed(
        "consent signature recorded (legal representative Ida Tutrice signed on screen, "
        "no witness) as physician",
        physician,
    )


def test_recording_a_consent_withdrawal_means_it(client, api_client, draft, physician):
    document = _ready_consent(draft, physician)
    api_client.force_login(physician)
    assert (
        api_client.post(
            f"/api/v1/consents/{document.pk}/sign/", {"method": "on_screen"}, format="json"
        ).status_code
        == 200
    )
    withdrawn = api_client.post(
        f"/api/v1/consents/{document.pk}/withdraw/",
        {"reason": "The patient changed their mind (invented)."},
        format="json",
    )
    assert withdrawn.status_code == 200, withdrawn.content
    signature = _signed("consent withdrawal recorded as physician", physician)
    assert signature.object_type == "consent.consentsignature"


def test_editing_a_rule_means_edited_rule_version_as_steward(api_client, rule_steward, rules):
    pathway = Pathway.objects.get(code="gb_gmc_off_label")
    current = pathway.current_version()
    api_client.force_authenticate(rule_steward)
    body = {
        "summary": (current.summary or "") + " Checked again (invented).",
        "change_note": "Re-read against the GMC guidance (invented, test).",
    }
    refused = api_client.post(
        reverse("api-pathway-versions", args=[pathway.code]), body, format="json"
    )
    assert refused.status_code == 403 and refused.json()["code"] == "reauthentication_required"
    assert pathway.versions.count() == 1
    made = api_client.post(
        reverse("api-pathway-versions", args=[pathway.code]),
        {**body, "reauth_password": TEST_PASSWORD},
        format="json",
    )
    assert made.status_code == 201, made.content
    meaning = (
        f"edited rule gb_gmc_off_label version {current.version + 1} as national rules steward"
    )
    signature = _signed(meaning, rule_steward)
    assert signature.request is None and signature.object_type == "regulatory.pathwayversion"
    assert signature.signer_name == "Nora Regolare"
    assert signature.audit_event.action == "pathway.version_created"


def test_meanings_read_in_italian_and_stay_english_in_the_record():
    from django.utils import translation

    meaning = signature_meaning("dispense", cycle=2)
    with translation.override("it"):
        assert meaning.english == "dispensed cycle 2"


def test_the_dossier_pdf_lists_the_signatures(client, api_client, in_review, pharmacist):
    from regulatory.dossier import dossier_render, dossier_request

    client.force_login(pharmacist)
    client.post(f"/requests/{in_review.pk}/transition/", {"transition": "approve"})
    in_review.refresh_from_db()
    assert in_review.status == S.APPROVED
    dossier = dossier_render(dossier_request(actor=pharmacist, request=in_review).pk)
    dossier.file.open("rb")
    text = " ".join(
        page.extract_text() for page in PdfReader(io.BytesIO(dossier.file.read())).pages
    )
    dossier.file.close()
    assert "Electronic signatures" in text
    assert "approved as pharmacist" in text
    assert pharmacist.username in text  # the printed name (no first/last name: the username)
    assert "password" in text
