"""Sealing a rendered document and registering the seal (the verification page's register)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from signing.models import SealedDocument, SealedDocumentKind
from signing.pades import Sealed

# A public ID for the documents that have none of their own: the kind's prefix and the number.
ID_PREFIXES = {
    SealedDocumentKind.DOSSIER: "DOS",
    SealedDocumentKind.RENEWAL_REPORT: "REN",
    SealedDocumentKind.REPORT_EXPORT: "REP",
}


def sealed_kind_of(row: Any) -> SealedDocumentKind:
    return SealedDocumentKind(row._meta.label_lower)


def public_document_id(row: Any) -> str:
    """The ID printed in the seal's reason and asked for by the verification page. Consent
    forms and signed records have their own (``CONS-…``); the others get ``<PREFIX>-<pk>``.
    None of them carries patient data."""
    own = getattr(row, "document_id", None)
    if isinstance(own, str) and own:
        return own
    return f"{ID_PREFIXES[sealed_kind_of(row)]}-{row.pk:06d}"


def sealed_document_register(*, row: Any, sealed: Sealed) -> SealedDocument:
    """Record the seal, in the transaction that stores the sealed bytes. A row sealed again
    (its worker died after sealing, before storing) replaces its entry."""
    identity = sealed.identity
    entry, _ = SealedDocument.objects.update_or_create(
        kind=sealed_kind_of(row),
        object_id=row.pk,
        defaults={
            "document_id": public_document_id(row),
            "sha256": sealed.sha256,
            "sealer_name": identity.sealer_name[:300],
            "certificate_subject": identity.subject[:500],
            "certificate_serial": identity.serial_hex[:64],
            "sealed_at": timezone.now(),
            "timestamp_at": sealed.timestamp_at,
        },
    )
    return entry
