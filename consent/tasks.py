from typing import Any

from celery import shared_task

from consent.services import consent_render


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=5)
def consent_render_task(self: Any, document_id: int) -> str:
    """Render one consent PDF. acks_late: a worker killed mid-render leaves the message to be
    delivered again; the render is idempotent, so the rerun stores exactly one PDF."""
    try:
        return consent_render(document_id).sha256
    except OSError as exc:  # transient (file system, fonts): retry with backoff
        raise self.retry(exc=exc, countdown=2**self.request.retries) from exc
