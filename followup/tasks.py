from typing import Any

from celery import shared_task

from followup.report import renewal_report_render


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=5)
def renewal_report_render_task(self: Any, report_id: int) -> str:
    """Render one renewal clinical report. acks_late: a worker killed mid-render leaves the
    message to be delivered again; the render is idempotent, so the rerun stores one PDF."""
    try:
        return renewal_report_render(report_id).sha256
    except OSError as exc:  # transient (file system, fonts): retry with backoff
        raise self.retry(exc=exc, countdown=2**self.request.retries) from exc
