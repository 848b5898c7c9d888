from typing import Any

from celery import shared_task

from regulatory.reminders import reminders_raise


@shared_task
def reminders_raise_task() -> int:
    """Daily (Celery beat): raise deadline reminders; returns how many were new."""
    return len(reminders_raise())


@shared_task(bind=True, max_retries=3, default_retry_delay=30)
def dossier_render_task(self: Any, dossier_id: int) -> str:
    """Render a dossier PDF; retried on failure, harmless if run twice."""
    from regulatory.dossier import dossier_render

    try:
        return dossier_render(dossier_id).sha256
    except Exception as exc:
        raise self.retry(exc=exc) from exc
