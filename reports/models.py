"""The PDF report, rendered by a Celery worker from the filters it was asked with."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from offlabel.rendering import RenderedDocument


class ReportExport(RenderedDocument):
    """One PDF report (status, file, hash, attempts: ``offlabel.rendering.RenderedDocument``)."""

    RENDER_TASK = "reports.tasks.report_render_task"

    hospital = models.ForeignKey("accounts.Hospital", on_delete=models.PROTECT, related_name="+")
    filters = models.JSONField(default=dict)
    file = models.FileField(upload_to="reports/%Y/%m/", blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]

    def __str__(self) -> str:
        return f"Report {self.pk} ({self.get_status_display()})"
