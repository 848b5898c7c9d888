"""Signing binds to exactly one current version; changes supersede; withdrawal suspends."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from audit.models import AuditEvent
from consent.models import ConsentDocument
from consent.services import (
    consent_is_signed,
    consent_render,
    consent_request,
    consent_sign,
    consent_withdraw,
)
from offlabel.exceptions import ApplicationError, ConflictError
from prescriptions.services import request_transition, request_update
from tests.pharmacy.conftest import dispense_cycle_one
from tests.prescriptions.conftest import MINIMAL_PDF, checklist_complete


def _ready(draft, physician, language="en"):
    return consent_render(consent_request(actor=physician, request=draft, language=language).pk)


def test_on_screen_signature_binds_to_the_rendered_version(draft, physician):
    document = _ready(draft, physician)
    assert not consent_is_signed(draft)
    signature = consent_sign(
        actor=physician, document=document, method="on_screen", witness_name="Nurse Invented"
    )
    assert signature.document == document and consent_is_signed(draft)
    event = AuditEvent.objects.get(action="consent.signed")
    assert event.after["document_sha256"] == document.sha256
    with pytest.raises(ConflictError, match="already signed"):
        consent_sign(actor=physician, document=document, method="on_screen")


def test_wet_ink_scan_must_be_a_pdf_and_is_hashed(draft, physician):
    document = _ready(draft, physician, "it")
    with pytest.raises(ApplicationError, match="Upload the scan"):
        consent_sign(actor=physician, document=document, method="wet_ink_scan")
    with pytest.raises(ApplicationError, match="not a PDF"):
        consent_sign(
            actor=physician,
            document=document,
            method="wet_ink_scan",
            scan=SimpleUploadedFile("scan.pdf", b"JPEG-but-named-pdf"),
        )
    signature = consent_sign(
        actor=physician,
        document=document,
        method="wet_ink_scan",
        scan=SimpleUploadedFile("scan.pdf", MINIMAL_PDF),
    )
    assert len(signature.scan_sha256) == 64


def test_changing_the_regimen_supersedes_the_form_and_it_cannot_be_signed(draft, physician):
    document = _ready(draft, physician)
    request_update(actor=physician, request=draft, fields={"ven_target_dose_mg": Decimal("200")})
    with pytest.raises(ConflictError, match="not current"):
        consent_sign(actor=physician, document=document, method="on_screen")
    document.refresh_from_db()
    assert document.status == "superseded"
    new = _ready(draft, physician)
    assert new.pk != document.pk and new.inputs["dose_mg"] == "200"
    consent_sign(actor=physician, document=new, method="on_screen")
    assert consent_is_signed(draft)


def test_only_a_treating_physician_records_the_signature(
    draft, physician, other_physician, pharmacist
):
    document = _ready(draft, physician)
    for outsider in (other_physician, pharmacist):
        with pytest.raises(ApplicationError):
            consent_sign(actor=outsider, document=document, method="on_screen")


def test_approval_needs_a_signed_consent_and_withdrawal_suspends(draft, physician, pharmacist):
    checklist_complete(draft, sign_consent=False)
    request_transition(actor=physician, request=draft, transition="submit")
    request_transition(actor=pharmacist, request=draft, transition="start_review")
    with pytest.raises(ApplicationError, match="consent"):
        request_transition(actor=pharmacist, request=draft, transition="approve", reason="ok")
    signature = consent_sign(actor=physician, document=_ready(draft, physician), method="on_screen")
    request_transition(actor=pharmacist, request=draft, transition="approve", reason="ok")
    dispense_cycle_one(draft, pharmacist)
    consent_withdraw(
        actor=physician, signature=signature, reason="The patient prefers supportive care."
    )
    draft.refresh_from_db()
    assert draft.status == "suspended" and not consent_is_signed(draft)
    assert AuditEvent.objects.filter(action="consent.withdrawn").exists()
    assert draft.transitions.last().reason.startswith("Consent withdrawn by the patient")


def test_a_form_needs_the_patients_identity(physician, studies, rules):
    from prescriptions.services import patient_create, request_create
    from tests.prescriptions.conftest import COMPLETE_PROFILE

    patient = patient_create(actor=physician, profile=COMPLETE_PROFILE)
    request = request_create(actor=physician, patient=patient)
    with pytest.raises(ApplicationError, match="identifying data first"):
        consent_request(actor=physician, request=request, language="en")
    assert not ConsentDocument.objects.exists()


def test_a_failed_render_shows_its_reason_and_can_be_retried(client, draft, physician):
    from django.urls import reverse

    document = consent_request(actor=physician, request=draft, language="fr")
    # A real failure: the frozen inputs lost a field the template needs.
    broken = {k: v for k, v in document.inputs.items() if k != "evidence"}
    ConsentDocument.objects.filter(pk=document.pk).update(inputs=broken)
    with pytest.raises(KeyError):
        consent_render(document.pk)
    document.refresh_from_db()
    assert document.status == "failed" and "KeyError" in document.error
    client.force_login(physician)
    panel = client.get(reverse("consent:panel", args=[draft.pk])).content.decode()
    assert "Failed: KeyError" in panel and "Retry" in panel
    client.post(reverse("consent:prepare", args=[draft.pk]), {"language": "fr"})
    document.refresh_from_db()
    assert document.status == "queued" and document.error == ""  # the same inputs, queued again
    assert ConsentDocument.objects.filter(request=draft).count() == 1
    assert consent_render(document.pk).status == "ready"  # the retry renders from fresh inputs
