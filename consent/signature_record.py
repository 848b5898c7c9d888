"""The sealed signed record of a consent signature (issue 16): one PDF/A-3b page that binds the
recorded signature (on screen or a scanned paper form) to the exact form it signs, by the
form's document ID and the SHA-256 of its sealed file. The form — and the scan, when the
patient signed on paper — are embedded as PDF/A-3 associated files, so the record alone
carries everything a regulator needs; the seal then covers all of it."""

from __future__ import annotations

import io
from typing import Any

from django.template.loader import render_to_string

from audit.actions import AuditAction
from audit.services import audit_record
from consent.models import ConsentSignature, ConsentSignatureRecord
from signatures.models import ElectronicSignature
from signing.documents import pdf_render_once


def _meanings(signature: ConsentSignature) -> list[Any]:
    return list(
        ElectronicSignature.objects.filter(
            object_type=ConsentSignature._meta.label_lower, object_id=str(signature.pk)
        ).order_by("signed_at", "pk")
    )


def signature_record_html(record: ConsentSignatureRecord) -> str:
    signature = record.signature
    document = signature.document
    context = {
        "record": record,
        "signature": signature,
        "document": document,
        "request": document.request,
        "hospital": document.request.hospital,
        "physician_name": signature.physician.get_full_name() or signature.physician.username,
        "meanings": _meanings(signature),
    }
    return render_to_string("consent/signature_record.html", context)


def signature_record_attachments(record: ConsentSignatureRecord) -> list[Any]:
    """The signed form (its sealed file, the bytes whose SHA-256 the record prints) and the
    scan, as associated files: 'Source' is what was signed, 'Supplement' the paper evidence."""
    from weasyprint import Attachment

    signature = record.signature
    document = signature.document
    attachments = []
    with document.file.open("rb") as form:
        attachments.append(
            Attachment(
                file_obj=io.BytesIO(form.read()),
                name=f"{document.document_id}.pdf",
                description=f"The consent form {document.document_id} that was signed",
                relationship="Source",
            )
        )
    if signature.scan:
        with signature.scan.open("rb") as scan:
            attachments.append(
                Attachment(
                    file_obj=io.BytesIO(scan.read()),
                    name=f"{document.document_id}-signed-scan.pdf",
                    description="The scan of the paper form as signed",
                    relationship="Supplement",
                )
            )
    return attachments


def consent_signature_record_render(record_id: int) -> ConsentSignatureRecord:
    """Render and seal once (a retry or a duplicate message leaves a ready record alone)."""

    def stored(record: ConsentSignatureRecord) -> None:
        request = record.signature.document.request
        audit_record(
            actor=None,
            action=AuditAction.CONSENT_SIGNATURE_RECORD_SEALED,
            target=record,
            hospital=request.hospital,
            summary=f"{request.reference}: signed consent record {record.document_id} sealed",
            after={"record": record.pk, "sha256": record.sha256},
        )

    return pdf_render_once(
        ConsentSignatureRecord.objects.select_related(
            "signature__document__request__hospital", "signature__physician"
        ),
        record_id,
        html=signature_record_html,
        filename=lambda record: f"{record.document_id}.pdf",
        on_stored=stored,
        pdf_variant="pdf/a-3b",
        attachments=signature_record_attachments,
    )
