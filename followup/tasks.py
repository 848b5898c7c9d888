from typing import Any

from followup.report import renewal_report_render
from offlabel.rendering import render_retry, render_task


@render_task
def renewal_report_render_task(self: Any, report_id: int) -> str:
    """Render one renewal clinical report (options and claim: offlabel.rendering). A worker
    killed mid-render leaves the message to be delivered again; the claim makes the rerun safe."""
    try:
        return renewal_report_render(report_id).sha256
    except Exception as exc:
        raise render_retry(self, exc) from exc
