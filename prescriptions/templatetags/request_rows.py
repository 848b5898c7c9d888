"""The table of requests shared by the queue, the request list, the dashboard and the home page.

Built in Python with ``format_html``, as Django's admin builds its change list
(``items_for_result``): the lists show 25 rows of nine cells, and the template engine's lookup of
each cell's variable cost more than the rest of the queue page together (issue 17, benchmarks:
queue page against its bare view). The markup is the one ``_request_rows.html`` had.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django import template
from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import timesince_filter
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import localtime
from django.utils.translation import gettext

from prescriptions.models import OffLabelRequest

register = template.Library()


def _header(*, queue: bool, now: datetime | None) -> SafeString:
    cells = [
        format_html("<th>{}</th>", gettext("Request")),
        format_html("<th>{}</th>", gettext("Patient")),
        format_html("<th>{}</th>", gettext("Regimen")),
        format_html("<th>{}</th>", gettext("State")),
        format_html("<th>{}</th>", gettext("Prescriber")),
        format_html("<th>{}</th>", gettext("Studies")),
    ]
    if queue:
        cells.append(
            format_html(
                '<th title="{}">{}</th>',
                gettext("Blocking safety findings waiting for a pharmacist's decision"),
                gettext("Blocking"),
            )
        )
    cells.append(format_html("<th>{}</th>", gettext("Updated")))
    if now:
        cells.append(format_html("<th>{}</th>", gettext("Waiting")))
    return mark_safe("".join(cells))  # noqa: S308 - each cell is escaped by format_html


def _blocking(row: OffLabelRequest, not_checked: str) -> SafeString:
    summary = getattr(row, "safety_summary", None)  # no summary: not checked yet
    if summary is None:
        return format_html('<span class="muted" title="{}">—</span>', not_checked)
    if summary.open_blocking:
        return format_html('<strong class="error">{}</strong>', summary.open_blocking)
    return mark_safe("0")


@register.simple_tag
def request_rows(
    rows: Iterable[OffLabelRequest], queue: bool = False, now: datetime | None = None
) -> SafeString:
    """``{% request_rows rows queue=True now=now %}``: the table; the blocking-findings column
    with ``queue``, the waiting time with ``now``. Rows come from ``list_rows`` (the columns a
    row reads are loaded, the rest deferred)."""
    not_checked = gettext("Not checked yet")
    body = []
    for row in rows:
        prescriber = row.prescriber
        cells = [
            format_html(
                '<td><a href="{}">{}</a></td>',
                reverse("requests:detail", args=[row.pk]),
                row.reference,
            ),
            format_html("<td>{}</td>", row.patient.pseudonym),
            format_html("<td>{}</td>", row.regimen_label or "—"),
            format_html(
                '<td><span class="status status-{}">{}</span></td>', row.status, row.status_label
            ),
            format_html("<td>{}</td>", prescriber.get_full_name() or prescriber.username),
            format_html('<td class="num">{}</td>', row.n_attachments),  # type: ignore[attr-defined]
        ]
        if queue:
            cells.append(format_html('<td class="num">{}</td>', _blocking(row, not_checked)))
        cells.append(
            format_html(
                "<td>{}</td>",
                date_filter(localtime(row.updated_at), "SHORT_DATETIME_FORMAT"),
            )
        )
        if now:
            waiting = timesince_filter(row.status_changed_at, now) if row.status_changed_at else "—"
            cells.append(format_html("<td>{}</td>", waiting))
        body.append(format_html("<tr>\n  {}\n</tr>", mark_safe("\n  ".join(cells))))  # noqa: S308
    return format_html(
        '<table class="data"><thead><tr>{}</tr></thead><tbody>\n{}\n</tbody></table>',
        _header(queue=queue, now=now),
        mark_safe("".join(body)),  # noqa: S308 - each row is built by format_html
    )
