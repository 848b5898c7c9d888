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

Every document is then sealed with the hospital's certificate (issue 16, ``signing.pades``:
PAdES B-T, an RFC 3161 timestamp) before it is stored as ``ready``, and the seal is entered in
the register the public verification page reads (``signing.models.SealedDocument``). When the
time-stamping authority does not answer, the rendered bytes are kept on the row as
``awaiting_timestamp`` (no download serves them) and :class:`TimestampUnavailable` propagates
so the task retries; the sweeper keeps retrying after that (``offlabel.rendering``). A
certificate that may not seal (``SealRefused``) fails the row with the reason.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone, translation

from audit.actions import AuditAction
from audit.services import audit_record
from offlabel.rendering import RenderedDocument, RenderStatus, render_claim, seal_claim
from signing.pades import TimestampUnavailable, pdf_seal
from signing.services import public_document_id, sealed_document_register

Row = TypeVar("Row", bound=RenderedDocument)


def pdf_render_once(
    queryset: Any,
    pk: int,
    *,
    html: Callable[[Row], str],
    filename: Callable[[Row], str],
    on_stored: Callable[[Row], None],
    pdf_variant: str | None = None,
    attachments: Callable[[Row], list[Any]] | None = None,
) -> Row:
    """Claim, render, seal, store; returns the row as it is (a row another worker has, or one
    that is already ready or superseded, is returned untouched). A row awaiting its
    timestamp is sealed from the bytes it holds, without rendering again."""
    from pypdf import PdfReader
    from weasyprint import HTML

    model = queryset.model
    row: Any
    if seal_claim(model, pk):
        row = queryset.get(pk=pk)
        with row.file.open("rb") as stored_file:
            pdf = stored_file.read()
        pages, first_try = row.pages, False
    else:
        if not render_claim(model, pk):
            return queryset.get(pk=pk)
        row = queryset.get(pk=pk)
        try:
            options: dict[str, Any] = {"pdf_tags": True}  # for screen readers; costs ~no time
            if pdf_variant:
                options["pdf_variant"] = pdf_variant
            if attachments is not None:
                options["attachments"] = attachments(row)
            # Documents for outside bodies are written in English (the consent form in its
            # own language, from consent.wording), whatever language the person who asked reads.
            with translation.override("en"):
                source = html(row)
            pdf = HTML(string=source).write_pdf(**options)
            assert pdf is not None
            pages = len(PdfReader(io.BytesIO(pdf)).pages)
        except Exception as exc:  # the worker records why (a soft time limit too), re-raises
            _fail(queryset, pk, exc)
            raise
        first_try = True
    try:
        sealed = pdf_seal(pdf, document_id=public_document_id(row))
    except TimestampUnavailable as exc:
        _await_timestamp(queryset, pk, pdf, pages, filename, exc, first_try=first_try)
        raise
    except Exception as exc:  # SealRefused (the certificate may not seal) and the unforeseen
        _fail(queryset, pk, exc)
        raise
    with transaction.atomic():
        row = queryset.select_for_update(of=("self",)).get(pk=pk)
        if row.status != RenderStatus.RENDERING:
            return row  # 'ready': another worker finished first; 'superseded' meanwhile
        unsealed = row.file.name if row.file else ""
        row.file.save(filename(row), ContentFile(sealed.pdf), save=False)
        row.sha256 = sealed.sha256
        row.pages = pages
        row.status = RenderStatus.READY
        row.rendered_at = timezone.now()
        row.error = ""
        row.save()
        sealed_document_register(row=row, sealed=sealed)
        on_stored(row)
        if unsealed and unsealed != row.file.name:
            storage = row.file.storage
            transaction.on_commit(lambda: storage.delete(unsealed))
    return row


def _fail(queryset: Any, pk: int, exc: Exception) -> None:
    message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
    queryset.filter(pk=pk, status=RenderStatus.RENDERING).update(
        status=RenderStatus.FAILED, error=str(message)[:2000]
    )


def _await_timestamp(
    queryset: Any,
    pk: int,
    pdf: bytes,
    pages: int | None,
    filename: Callable[[Any], str],
    exc: Exception,
    *,
    first_try: bool,
) -> None:
    """Keep the rendered bytes for the retry, out of every download (the status says why)."""
    with transaction.atomic():
        row = queryset.select_for_update(of=("self",)).get(pk=pk)
        if row.status != RenderStatus.RENDERING:
            return
        if first_try:
            row.file.save(filename(row), ContentFile(pdf), save=False)
            row.pages = pages
            row.sha256 = ""  # the hash of record is the sealed file's
        row.status = RenderStatus.AWAITING_TIMESTAMP
        row.error = f"The time-stamping authority did not answer: {exc}"[:2000]
        row.save()
        if first_try:  # one history row for the state, not one per retry
            audit_record(
                actor=None,
                action=AuditAction.DOCUMENT_AWAITING_TIMESTAMP,
                target=row,
                summary=f"{row._meta.verbose_name} {row.pk} rendered; awaiting its trusted "
                "timestamp before it is sealed",
                hospital=_hospital_of(row),
                after={"status": RenderStatus.AWAITING_TIMESTAMP},
            )


def _hospital_of(row: Any) -> Any:
    for path in ("hospital", "request.hospital", "signature.document.request.hospital"):
        value = row
        for name in path.split("."):
            value = getattr(value, name, None)
        if value is not None:
            return value
    return None
