from typing import Any

from consent.services import consent_render
from consent.signature_record import consent_signature_record_render
from offlabel.rendering import render_retry, render_task


@render_task
def consent_render_task(self: Any, document_id: int) -> str:
    """Render one consent PDF (options and claim: offlabel.rendering). A worker killed
    mid-render leaves the message to be delivered again; the claim makes the rerun safe."""
    try:
        return consent_render(document_id).sha256
    except Exception as exc:
        raise render_retry(self, exc) from exc


@render_task
def consent_signature_record_render_task(self: Any, record_id: int) -> str:
    """Render and seal the signed record of one consent signature (issue 16)."""
    try:
        return consent_signature_record_render(record_id).sha256
    except Exception as exc:
        raise render_retry(self, exc) from exc
