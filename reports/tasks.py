from typing import Any

from celery import shared_task


@shared_task(bind=True, acks_late=True, max_retries=3, default_retry_delay=20)
def report_render_task(self: Any, export_id: int) -> str:
    """Render the administration report PDF; retried on failure, harmless if run twice."""
    from reports.services import report_export_render

    try:
        return report_export_render(export_id).sha256
    except Exception as exc:
        raise self.retry(exc=exc) from exc
