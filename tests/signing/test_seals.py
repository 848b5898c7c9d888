"""Every PDF offlabel produces is sealed (PAdES B-T) with the hospital's certificate and a
timestamp from the real TSA process the suite starts (tests/peers/tsa.py), and pyHanko's
validator accepts it: intact, whole document, timestamp valid, chain to the demo CA."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from pypdf import PdfReader

from audit.models import AuditEvent
from consent.models import ConsentSignatureRecord
from consent.services import consent_render, consent_request, consent_sign
from consent.signature_record import consent_signature_record_render
from followup.report import renewal_report_render, renewal_report_request
from regulatory.dossier import dossier_render, dossier_request
from reports.selectors import ReportFilters
from reports.services import report_export_render, report_export_request
from signing.models import SealedDocument
from tests.followup.conftest import treated  # noqa: F401 - fixture
from tests.followup.test_exports import CONCLUSION, followed  # noqa: F401 - fixture
from tests.prescriptions.conftest import MINIMAL_PDF, draft, patient  # noqa: F401
from tests.regulatory.conftest import make_request  # noqa: F401 - fixture
from tests.regulatory.test_dossier import fund_request  # noqa: F401 - fixture
from tests.signing.helpers import assert_sealed_and_valid


def _bytes(row) -> bytes:
    with row.file.open("rb") as handle:
        return handle.read()


def _registered(row, kind: str) -> SealedDocument:
    entry = SealedDocument.objects.get(kind=kind, object_id=row.pk)
    assert entry.sha256 == row.sha256 and entry.sealer_name == "Invented General Hospital"
    return entry


def test_the_consent_form_is_sealed_and_still_declares_pdfa_3b(
    draft,  # noqa: F811
    physician,
    seal_pki_and_tsa,
):
    document = consent_render(consent_request(actor=physician, request=draft, language="en").pk)
    assert document.status == "ready"
    pdf = _bytes(document)
    assert_sealed_and_valid(pdf, seal_pki_and_tsa.paths.ca_certificate)
    assert _registered(document, "consent.consentdocument").document_id == document.document_id
    xmp = PdfReader(io.BytesIO(pdf)).xmp_metadata
    assert xmp is not None
    text = xmp.stream.get_data().decode()
    assert 'pdfaid:part="3"' in text and 'pdfaid:conformance="B"' in text
    info = PdfReader(io.BytesIO(pdf)).metadata
    assert info is not None and str(info["/Producer"]) in text  # PDF/A: info and XMP agree


def test_the_signed_record_binds_the_form_hash_and_the_meaning(
    draft,  # noqa: F811
    physician,
    seal_pki_and_tsa,
):
    from signatures.models import ElectronicSignature

    document = consent_render(consent_request(actor=physician, request=draft, language="en").pk)
    signature = consent_sign(
        actor=physician,
        document=document,
        method="wet_ink_scan",
        witness_name="Nurse Invented",
        scan=SimpleUploadedFile("scan.pdf", MINIMAL_PDF, content_type="application/pdf"),
    )
    record = ConsentSignatureRecord.objects.get(signature=signature)
    assert record.status == "queued"
    if not ElectronicSignature.objects.filter(
        object_type="consent.consentsignature", object_id=str(signature.pk)
    ).exists():  # helper 4 writes it in the signing transaction; make one as it would
        ElectronicSignature.objects.create(
            action="consent_signature",
            signer=physician,
            signer_name="Dr Invented House",
            signer_role="physician",
            meaning="Recorded the patient's consent signature as treating physician",
            method="password",
            authenticated_at=signature.recorded_at,
            signed_at=signature.recorded_at,
            request=draft,
            object_type="consent.consentsignature",
            object_id=str(signature.pk),
        )
    record = consent_signature_record_render(record.pk)
    assert record.status == "ready", record.error
    pdf = _bytes(record)
    assert_sealed_and_valid(pdf, seal_pki_and_tsa.paths.ca_certificate)
    reader = PdfReader(io.BytesIO(pdf))
    text = " ".join(page.extract_text() for page in reader.pages).replace("\n", " ")
    squeezed = text.replace(" ", "")
    assert document.document_id in text
    assert document.sha256 in squeezed and signature.scan_sha256 in squeezed
    assert "Nurse Invented" in text and "consent signature as treating physician" in text
    attachments = reader.attachments
    assert f"{document.document_id}.pdf" in attachments
    assert attachments[f"{document.document_id}.pdf"][0] == _bytes(document)  # the sealed form
    assert f"{document.document_id}-signed-scan.pdf" in attachments
    xmp = reader.xmp_metadata.stream.get_data().decode()
    assert 'pdfaid:part="3"' in xmp
    assert _registered(record, "consent.consentsignaturerecord").document_id.endswith("-SIGNED")
    assert AuditEvent.objects.filter(action="consent.signature_record_sealed").exists()


def test_the_dossier_is_sealed(fund_request, pharmacist, seal_pki_and_tsa):  # noqa: F811
    dossier = dossier_render(dossier_request(actor=pharmacist, request=fund_request).pk)
    assert dossier.status == "ready", dossier.error
    assert_sealed_and_valid(_bytes(dossier), seal_pki_and_tsa.paths.ca_certificate)
    assert _registered(dossier, "regulatory.dossier").document_id == f"DOS-{dossier.pk:06d}"


def test_the_renewal_report_is_sealed(followed, physician, seal_pki_and_tsa):  # noqa: F811
    report = renewal_report_render(
        renewal_report_request(actor=physician, request=followed, conclusion=CONCLUSION).pk
    )
    assert report.status == "ready", report.error
    assert_sealed_and_valid(_bytes(report), seal_pki_and_tsa.paths.ca_certificate)
    _registered(report, "followup.renewalreport")


def test_the_report_export_is_sealed(hospital_admin, seal_pki_and_tsa):
    export = report_export_render(
        report_export_request(actor=hospital_admin, filters=ReportFilters()).pk
    )
    assert export.status == "ready", export.error
    assert_sealed_and_valid(_bytes(export), seal_pki_and_tsa.paths.ca_certificate)
    _registered(export, "reports.reportexport")


@pytest.mark.parametrize("how", ["byte_in_signed_range", "incremental_update"])
def test_a_tampered_pdf_fails_verification(hospital_admin, how):
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    from signing.pades import pdf_seal_verify

    export = report_export_render(
        report_export_request(actor=hospital_admin, filters=ReportFilters()).pk
    )
    pdf = _bytes(export)
    assert pdf_seal_verify(pdf).valid
    if how == "byte_in_signed_range":
        tampered = bytearray(pdf)
        position = len(pdf) // 4  # inside the first signed range, in the rendered content
        tampered[position] ^= 0x01
        changed = bytes(tampered)
    else:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        info = writer.trailer["/Info"].get_object()
        info["/Title"] = generic.TextStringObject("Something else")
        writer.update_container(info)
        out = io.BytesIO()
        writer.write(out)
        changed = out.getvalue()
        assert changed.startswith(pdf)  # the sealed revision itself is untouched
    verdict = pdf_seal_verify(changed)
    assert verdict.sealed and not verdict.valid
    if how == "incremental_update":
        assert not verdict.whole_document and "changed after sealing" in verdict.problem
