from typing import Any

from celery import shared_task

from offlabel.rendering import render_retry, render_task
from regulatory.reminders import reminders_raise


@shared_task
def reminders_raise_task() -> int:
    """Daily (Celery beat): raise deadline reminders; returns how many were new."""
    return len(reminders_raise())


@render_task
def dossier_render_task(self: Any, dossier_id: int) -> str:
    """Render a dossier PDF (options and claim: offlabel.rendering); harmless if run twice."""
    from regulatory.dossier import dossier_render

    try:
        return dossier_render(dossier_id).sha256
    except Exception as exc:
        raise render_retry(self, exc) from exc
