"""Render a stored PDF document once: the one flow the consent forms, dossiers and renewal
reports share.

A row with ``status`` (queued, rendering, ready, failed), ``file``, ``sha256``, ``error`` and
``rendered_at`` (and optionally ``pages`` and ``attempts``) is rendered by WeasyPrint outside
any transaction, then stored under a row lock: a second worker that finished first wins, so a
message delivered twice or a retry after a crash stores one PDF. A failure records its reason
on the row before it propagates to the task's retry.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.core.files.base import ContentFile
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone, translation

READY, RENDERING, FAILED = "ready", "rendering", "failed"
Row = TypeVar("Row", bound=models.Model)


def pdf_render_once(
    queryset: models.QuerySet[Row],
    pk: int,
    *,
    html: Callable[[Row], str],
    filename: Callable[[Row], str],
    on_stored: Callable[[Row], None],
    leave_alone: Iterable[str] = (READY,),
    pdf_variant: str | None = None,
) -> Row:
    from pypdf import PdfReader
    from weasyprint import HTML

    row: Any = queryset.get(pk=pk)
    if row.status in set(leave_alone):
        return row
    claim: dict[str, Any] = {"status": RENDERING}
    if hasattr(row, "attempts"):
        claim["attempts"] = F("attempts") + 1
    queryset.filter(pk=pk).update(**claim)
    try:
        options = {"pdf_variant": pdf_variant} if pdf_variant else {}
        # Documents for outside bodies are written in English (the consent form in its own
        # language, from consent.wording), whatever language the person who asked reads.
        with translation.override("en"):
            source = html(row)
        pdf = HTML(string=source).write_pdf(**options)
        assert pdf is not None
        pages = len(PdfReader(io.BytesIO(pdf)).pages)
    except Exception as exc:  # the worker records why, instead of failing silently
        queryset.filter(pk=pk).update(status=FAILED, error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    with transaction.atomic():
        row = queryset.select_for_update(of=("self",)).get(pk=pk)
        if row.status == READY:
            return row  # another worker finished first
        row.file.save(filename(row), ContentFile(pdf), save=False)
        row.sha256 = hashlib.sha256(pdf).hexdigest()
        if hasattr(row, "pages"):
            row.pages = pages
        row.status = READY
        row.rendered_at = timezone.now()
        row.error = ""
        row.save()
        on_stored(row)
    return row
