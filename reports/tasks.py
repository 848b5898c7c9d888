from typing import Any

from offlabel.rendering import render_retry, render_task


@render_task
def report_render_task(self: Any, export_id: int) -> str:
    """Render the administration report PDF (options and claim: offlabel.rendering); harmless
    if run twice."""
    from reports.services import report_export_render

    try:
        return report_export_render(export_id).sha256
    except Exception as exc:
        raise render_retry(self, exc) from exc
