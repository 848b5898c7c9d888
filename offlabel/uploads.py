"""Uploaded PDFs, checked by parsing them, not by looking at their first and last bytes.

A file that starts with ``%PDF-`` and ends with ``%%EOF`` may still be an HTML page (a
polyglot a browser would run), an encrypted file nobody at the hospital can open again, or a
PDF that runs JavaScript, launches a program or carries another file when a pharmacist opens
it. Checklist documents and signed consent scans are kept for years and opened by other
people: they must be plain documents. So an upload is refused when:

* it is larger than ``UPLOAD_MAX_BYTES`` (10 MB) or not named ``.pdf``;
* it does not start with ``%PDF-``, or carries markup (``<html``, ``<script``...) in its first
  1024 bytes, where browsers sniff for HTML;
* pypdf cannot parse it, it is encrypted, or it has more than ``UPLOAD_PDF_MAX_PAGES`` pages;
* its streams decompress to more than ``UPLOAD_PDF_MAX_DECOMPRESSED_BYTES`` in total (each
  stream is inflated piece by piece and the count stops at the limit: a zip bomb is never
  inflated in full);
* it has active content anywhere: an ``/OpenAction`` or ``/AA`` (additional actions),
  JavaScript (``/JS``, ``/JavaScript`` actions or name tree), ``/Launch``, ``/SubmitForm``,
  ``/ImportData``, ``/GoToE`` or ``/GoToR`` actions, ``/RichMedia``, XFA forms, embedded files
  (``/EmbeddedFiles``, ``/EmbeddedFile``, ``/FileAttachment`` annotations).

Each refusal says why, in the user's language, and names the upload field for the API body.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from offlabel.exceptions import ApplicationError

HEADER = b"%PDF-"
# Browsers sniff the first bytes of a file for HTML (the WHATWG MIME sniffing standard reads
# 1445 bytes; 1024 is the PDF header's own window).
SNIFF_WINDOW = 1024
MARKUP = (b"<html", b"<script", b"<!doctype", b"<body", b"<head", b"<svg", b"<iframe", b"<?xml")
ACTIVE_ACTIONS = {
    "/JavaScript": _("JavaScript"),
    "/Launch": _("a Launch action, which starts a program"),
    "/SubmitForm": _("a SubmitForm action"),
    "/ImportData": _("an ImportData action"),
    "/GoToE": _("a link into an embedded file"),
    "/GoToR": _("a link into another file"),
    "/RichMedia": _("rich media"),
    "/Rendition": _("a Rendition action"),
}
# Filters that store images: the viewer decodes them, this check does not need to.
IMAGE_FILTERS = {"/DCTDecode", "/JPXDecode", "/CCITTFaxDecode", "/JBIG2Decode", "/DCT", "/CCF"}


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def max_upload_bytes() -> int:
    return _setting("UPLOAD_MAX_BYTES", 10 * 1024 * 1024)


class _Refused(Exception):
    """Why a parsed PDF is refused (a translated sentence)."""


def pdf_validate(upload: UploadedFile, *, field: str = "document") -> bytes:
    """The bytes of ``upload`` when it is a plain PDF document; otherwise an
    ``ApplicationError`` that says why and names ``field``."""
    name = upload.name or "document.pdf"
    limit = max_upload_bytes()

    def refuse(reason: str) -> ApplicationError:
        return ApplicationError(
            gettext("%(name)s is refused: %(reason)s") % {"name": name, "reason": reason},
            extra={"field": field},
        )

    if upload.size is not None and upload.size > limit:
        raise ApplicationError(
            gettext("%(name)s is %(size)s KB: the limit is %(limit)s MB.")
            % {"name": name, "size": upload.size // 1024, "limit": limit // 1024 // 1024},
            extra={"field": field},
        )
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise ApplicationError(
            gettext("%(name)s is larger than %(limit)s MB.")
            % {"name": name, "limit": limit // 1024 // 1024},
            extra={"field": field},
        )
    head = data[:SNIFF_WINDOW].lower()
    if not name.lower().endswith(".pdf") or not data.startswith(HEADER):
        raise ApplicationError(
            gettext("%(name)s is not a PDF file: only PDF documents are accepted.")
            % {"name": name},
            extra={"field": field},
        )
    if any(tag in head for tag in MARKUP):
        raise refuse(gettext("it carries web page markup (HTML) as well as a PDF header."))
    try:
        _pdf_check(data)
    except _Refused as refused:
        raise refuse(str(refused)) from None
    return data


def _pdf_check(data: bytes) -> None:
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise _Refused(gettext("it is encrypted or password-protected."))
        pages = len(reader.pages)
    except _Refused:
        raise
    except Exception:  # pypdf raises many kinds on a broken file: all mean "not a PDF"
        raise _Refused(gettext("it cannot be read as a PDF document.")) from None
    if pages == 0:
        raise _Refused(gettext("it has no pages."))
    max_pages = _setting("UPLOAD_PDF_MAX_PAGES", 200)
    if pages > max_pages:
        raise _Refused(
            gettext("it has %(pages)s pages: the limit is %(limit)s.")
            % {"pages": pages, "limit": max_pages}
        )
    try:
        _active_content_check(reader)
    except _Refused:
        raise
    except Exception:
        raise _Refused(gettext("it cannot be read as a PDF document.")) from None


def _objects(reader: Any) -> Iterator[Any]:
    """Every object of the file: each indirect object once (from the cross-reference table
    and the object streams), and the direct dictionaries and arrays nested in them."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    ids: set[tuple[int, int]] = set()
    for generation, numbers in reader.xref.items():
        ids.update((number, generation) for number in numbers)
    ids.update((number, 0) for number in reader.xref_objStm)
    # The trailer's root, in case a damaged table was rebuilt without it.
    stack: list[Any] = [reader.trailer]
    for number, generation in sorted(ids):
        stack.append(IndirectObject(number, generation, reader))
    seen: set[tuple[int, int]] = set()
    while stack:
        item = stack.pop()
        if isinstance(item, IndirectObject):
            key = (item.idnum, item.generation)
            if key in seen:
                continue
            seen.add(key)
            item = item.get_object()
        if isinstance(item, DictionaryObject):
            yield item
            stack.extend(item.values())
        elif isinstance(item, ArrayObject):
            stack.extend(item)


def _active_content_check(reader: Any) -> None:
    from pypdf.generic import StreamObject

    root = reader.trailer["/Root"].get_object()
    if "/OpenAction" in root:
        raise _Refused(gettext("it runs an action when opened (/OpenAction)."))
    names = root.get("/Names")
    names = names.get_object() if names is not None else {}
    if "/JavaScript" in names:
        raise _Refused(gettext("it contains JavaScript."))
    if "/EmbeddedFiles" in names:
        raise _Refused(gettext("it carries embedded files."))
    acro = root.get("/AcroForm")
    if acro is not None and "/XFA" in acro.get_object():
        raise _Refused(gettext("it contains an XFA form."))
    budget = _setting("UPLOAD_PDF_MAX_DECOMPRESSED_BYTES", 100 * 1024 * 1024)
    for obj in _objects(reader):
        if "/JS" in obj or obj.get("/S") == "/JavaScript":
            raise _Refused(gettext("it contains JavaScript."))
        action = obj.get("/S")
        if action in ACTIVE_ACTIONS:
            raise _Refused(
                gettext("it contains active content (%(what)s).") % {"what": ACTIVE_ACTIONS[action]}
            )
        if "/AA" in obj:
            raise _Refused(gettext("it runs actions on events (/AA)."))
        if (
            obj.get("/Subtype") == "/FileAttachment"
            or obj.get("/Type") == "/EmbeddedFile"
            or "/EF" in obj
        ):
            raise _Refused(gettext("it carries embedded files."))
        if isinstance(obj, StreamObject):
            budget -= _decoded_size(obj, budget)
            if budget < 0:
                raise _Refused(
                    gettext("its contents decompress to more than %(limit)s MB.")
                    % {
                        "limit": _setting("UPLOAD_PDF_MAX_DECOMPRESSED_BYTES", 100 * 1024 * 1024)
                        // 1024
                        // 1024
                    }
                )


def _decoded_size(stream: Any, budget: int) -> int:
    """The size of the stream once decoded, counted up to ``budget + 1`` bytes: FlateDecode is
    inflated chunk by chunk and never kept; image filters are counted as stored."""
    raw = stream._data or b""
    filters = stream.get("/Filter")
    if filters is None:
        return len(raw)
    names = [str(f) for f in (filters if isinstance(filters, list) else [filters])]
    if names and names[0] in ("/FlateDecode", "/Fl"):
        return _inflated_size(raw, budget)
    if any(name in IMAGE_FILTERS for name in names):
        return len(raw)
    # LZW, run-length, ASCII85/hex: pypdf's own decoders, which stop at their output limits.
    return len(stream.get_data())


def _inflated_size(raw: bytes, budget: int) -> int:
    inflater = zlib.decompressobj()
    total, pending, chunk = 0, raw, 1024 * 1024
    try:
        while pending and total <= budget:
            total += len(inflater.decompress(pending, chunk))
            pending = inflater.unconsumed_tail
        if total <= budget:
            total += len(inflater.flush())
    except zlib.error:
        # A damaged stream: viewers show what they can; it is not active content.
        return max(total, len(raw))
    return total
