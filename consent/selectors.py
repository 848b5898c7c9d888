"""Reads of the consent: what the request page's panel shows."""

from __future__ import annotations

from typing import Any

from consent.models import ConsentDocument, Language
from consent.services import consent_stale
from prescriptions.models import OffLabelRequest


def consent_panel_context(offlabel: OffLabelRequest) -> dict[str, Any]:
    """What the panel shows; a read (a GET never writes). A form whose inputs changed through
    a path that did not mark it yet is shown out of date, and cannot be signed from here."""
    documents = list(
        offlabel.consents.select_related("signature", "signature__record").order_by(
            "-requested_at"
        )[:12]
    )
    stale = {d.pk for d in consent_stale(offlabel)}
    for document in documents:
        document.out_of_date = document.pk in stale  # type: ignore[attr-defined]
    pending = any(
        d.status in (ConsentDocument.Status.QUEUED, ConsentDocument.Status.RENDERING)
        for d in documents
    )
    return {
        "offlabel": offlabel,
        "consent_documents": documents,
        "consent_pending": pending,
        "languages": Language.choices,
    }
