"""Seal a PDF (PAdES B-T) and check a sealed one, with pyHanko.

The seal is an invisible approval signature of the hospital's certificate over the whole file,
with ``ETSI.CAdES.detached`` (PAdES) and an RFC 3161 signature timestamp from the configured
time-stamping authority: B-T, the level at which the time of sealing is proved by a third
party. It is written as an incremental update, so the rendered bytes stay as they were;
pyHanko updates the XMP metadata and the document information together, so a PDF/A-3b file
still declares PDF/A-3b (its identification in the XMP is kept).

When the authority cannot be reached :class:`TimestampUnavailable` is raised and nothing is
sealed: the caller keeps the document out of every download until a retry seals it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import io
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from django.conf import settings
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.metadata.model import VENDOR
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from signing.pki import SealIdentity, seal_identity

logger = logging.getLogger(__name__)

SEAL_FIELD = "OfflabelSeal"
T = TypeVar("T")


class TimestampUnavailable(Exception):
    """The time-stamping authority did not answer (or answered with an error): not sealed."""


@dataclass(frozen=True)
class Sealed:
    pdf: bytes
    sha256: str
    timestamp_at: dt.datetime
    identity: SealIdentity


def _caused_by_timestamp(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, TimestampRequestError | OSError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _outside_event_loop(function: Callable[[], T]) -> T:
    """pyHanko's synchronous API runs its own event loop (``asyncio.run``), which Python
    refuses in a thread that already runs one (a test driving Playwright's sync API renders in
    its own thread): there the call goes to a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return function()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function).result()


def pdf_seal(
    pdf: bytes,
    *,
    document_id: str,
    identity: SealIdentity | None = None,
    tsa_url: str | None = None,
) -> Sealed:
    """The PDF sealed at PAdES B-T. Raises ``SealRefused`` (the certificate may not seal) or
    :class:`TimestampUnavailable` (no timestamp: try again later)."""
    identity = identity or seal_identity()
    url = tsa_url if tsa_url is not None else settings.SEAL_TSA_URL
    if not url:
        raise TimestampUnavailable("no time-stamping authority (OFFLABEL_TSA_URL) is configured")
    metadata = signers.PdfSignatureMetadata(
        field_name=SEAL_FIELD,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=f"Sealed by {identity.sealer_name}; document {document_id}",
        name=identity.sealer_name,
    )
    timestamper = RequestsHTTPTimeStamper(url, timeout=settings.SEAL_TSA_TIMEOUT_SECONDS)
    output = io.BytesIO()
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    _producer_align(writer)
    pdf_signer = signers.PdfSigner(metadata, signer=identity.signer, timestamper=timestamper)
    try:
        _outside_event_loop(lambda: pdf_signer.sign_pdf(writer, output=output))
    except Exception as exc:
        if _caused_by_timestamp(exc):
            raise TimestampUnavailable(f"{url}: {exc}") from exc
        raise
    sealed = output.getvalue()
    return Sealed(
        pdf=sealed,
        sha256=hashlib.sha256(sealed).hexdigest(),
        timestamp_at=_timestamp_time(sealed),
        identity=identity,
    )


def _producer_align(writer: IncrementalPdfFileWriter) -> None:
    """PDF/A wants the document information and the XMP to say the same; pyHanko appends
    itself to the information's /Producer but writes only itself into the XMP. Naming pyHanko
    alone in both keeps the pair equal (the rendered revision still names WeasyPrint)."""
    try:
        info = writer.trailer["/Info"].get_object()
    except KeyError:
        return
    if "/Producer" in info:
        info["/Producer"] = generic.TextStringObject(VENDOR)
        writer.update_container(info)


def _timestamp_time(pdf: bytes) -> dt.datetime:
    signature = PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures[-1]
    for attribute in signature.signer_info["unsigned_attrs"]:
        if attribute["type"].native == "signature_time_stamp_token":
            token = attribute["values"][0]
            tst_info = token["content"]["encap_content_info"]["content"].parsed
            gen_time: dt.datetime = tst_info["gen_time"].native
            return gen_time
    raise TimestampUnavailable("the seal carries no signature timestamp")


@dataclass(frozen=True)
class SealVerdict:
    """What the verification page may say about a PDF: sealed or not, intact or not, who
    sealed it and when (the timestamp's time) — nothing about its content."""

    sealed: bool
    intact: bool = False
    whole_document: bool = False
    trusted: bool = False
    timestamp_valid: bool = False
    sealer_name: str = ""
    timestamp_at: dt.datetime | None = None
    problem: str = ""

    @property
    def valid(self) -> bool:
        return (
            self.sealed
            and self.intact
            and self.whole_document
            and self.trusted
            and self.timestamp_valid
        )


def validation_context(identity_roots: list[object] | None = None) -> ValidationContext:
    """Trust the configured CA(s) only; no fetching (the demo CA publishes no revocation
    information, and the check must not depend on the network)."""
    from signing.pki import asn1_of, trust_roots_load

    roots = identity_roots or [asn1_of(c) for c in trust_roots_load(settings.SEAL_TRUST_ROOTS)]
    return ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail")


def pdf_seal_verify(pdf: bytes, *, context: ValidationContext | None = None) -> SealVerdict:
    return _outside_event_loop(lambda: _pdf_seal_verify(pdf, context=context))


def _pdf_seal_verify(pdf: bytes, *, context: ValidationContext | None = None) -> SealVerdict:
    """Check the last seal of ``pdf`` with pyHanko's validator: the signature is intact and
    valid, it covers the whole file (nothing appended since), it chains to the configured CA,
    and its timestamp is intact and trusted."""
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        signatures = reader.embedded_signatures
    except Exception as exc:  # a damaged file is simply not a sealed, intact one
        return SealVerdict(sealed=False, problem=f"not a readable PDF: {type(exc).__name__}")
    if not signatures:
        return SealVerdict(sealed=False, problem="no seal")
    signature = signatures[-1]
    context = context or validation_context()
    try:
        status = validate_pdf_signature(
            signature, signer_validation_context=context, ts_validation_context=context
        )
    except Exception as exc:
        logger.info("seal validation failed: %s", exc)
        return SealVerdict(sealed=True, problem=f"{type(exc).__name__}: {exc}")
    timestamp = status.timestamp_validity
    timestamp_valid = bool(
        timestamp is not None and timestamp.intact and timestamp.valid and timestamp.trusted
    )
    certificate = status.signing_cert
    organisation = ""
    if certificate is not None:
        subject = certificate.subject.native
        organisation = str(subject.get("organization_name") or subject.get("common_name") or "")
    verdict = SealVerdict(
        sealed=True,
        intact=bool(status.intact and status.valid),
        whole_document=status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
        trusted=bool(status.trusted),
        timestamp_valid=timestamp_valid,
        sealer_name=organisation,
        timestamp_at=timestamp.timestamp if timestamp is not None else None,
    )
    if not verdict.valid:
        problems = [
            name
            for name, ok in (
                ("signature not intact", verdict.intact),
                ("changed after sealing", verdict.whole_document),
                ("not issued by the trusted CA", verdict.trusted),
                ("timestamp not valid", verdict.timestamp_valid),
            )
            if not ok
        ]
        verdict = SealVerdict(**{**verdict.__dict__, "problem": "; ".join(problems)})
    return verdict
