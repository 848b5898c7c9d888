"""Render a stored PDF document once: the one flow the consent forms, dossiers, renewal
reports and report exports share (their rows are ``offlabel.rendering.RenderedDocument``).

The row is claimed first (``render_claim``: a conditional update, the count checked), so a
message delivered twice, a retry or a second worker never renders it at the same time. The
PDF is rendered by WeasyPrint outside any transaction, then stored under a row lock, and only
while the row is still this render's (``rendering``): a consent form superseded meanwhile
stays superseded. A failure records its reason on the row before it propagates to the task.

Every document is a tagged PDF (issue 15): WeasyPrint's ``pdf_tags`` writes the structure tree
its PDF/UA-1 variant writes (headings, paragraphs, lists, tables with their header cells, the
document language from ``<html lang>``, the title shown instead of the file name). WeasyPrint
takes one ``pdf_variant`` only, so a consent form stays PDF/A-3b (``pdf/a-3b``: archived, the
identification in its XMP) and is tagged as well; it does not also claim PDF/UA-1 in its XMP,
which WeasyPrint writes only for the ``pdf/ua-1`` variant (and that variant is not PDF/A).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone, translation

from offlabel.rendering import RenderedDocument, RenderStatus, render_claim

Row = TypeVar("Row", bound=RenderedDocument)


def pdf_render_once(
    queryset: Any,
    pk: int,
    *,
    html: Callable[[Row], str],
    filename: Callable[[Row], str],
    on_stored: Callable[[Row], None],
    pdf_variant: str | None = None,
) -> Row:
    """Claim, render, store; returns the row as it is (a row another worker has, or one that
    is already ready or superseded, is returned untouched)."""
    from pypdf import PdfReader
    from weasyprint import HTML

    model = queryset.model
    if not render_claim(model, pk):
        return queryset.get(pk=pk)
    row: Any = queryset.get(pk=pk)
    try:
        options: dict[str, Any] = {"pdf_tags": True}  # for screen readers; costs ~no time
        if pdf_variant:
            options["pdf_variant"] = pdf_variant
        # Documents for outside bodies are written in English (the consent form in its own
        # language, from consent.wording), whatever language the person who asked reads.
        with translation.override("en"):
            source = html(row)
        pdf = HTML(string=source).write_pdf(**options)
        assert pdf is not None
        pages = len(PdfReader(io.BytesIO(pdf)).pages)
    except Exception as exc:  # the worker records why (a soft time limit too), then re-raises
        queryset.filter(pk=pk, status=RenderStatus.RENDERING).update(
            status=RenderStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        raise
    with transaction.atomic():
        row = queryset.select_for_update(of=("self",)).get(pk=pk)
        if row.status != RenderStatus.RENDERING:
            return row  # 'ready': another worker finished first; 'superseded' meanwhile
        row.file.save(filename(row), ContentFile(pdf), save=False)
        row.sha256 = hashlib.sha256(pdf).hexdigest()
        row.pages = pages
        row.status = RenderStatus.READY
        row.rendered_at = timezone.now()
        row.error = ""
        row.save()
        on_stored(row)
    return row
