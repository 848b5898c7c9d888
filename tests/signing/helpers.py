"""Read a sealed PDF back with pyHanko's validator, trusting the demo CA only."""

from __future__ import annotations

import io
from pathlib import Path

from asn1crypto import pem, x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext


def demo_ca(path: Path) -> x509.Certificate:
    _, _, der = pem.unarmor(path.read_bytes())
    return x509.Certificate.load(der)


def assert_sealed_and_valid(pdf: bytes, ca_path: Path, sealer: str = "Invented General Hospital"):
    """Signature intact, covers the whole file, its timestamp valid, both chain to the CA."""
    context = ValidationContext(trust_roots=[demo_ca(ca_path)], allow_fetching=False)
    signatures = PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures
    assert len(signatures) == 1
    status = validate_pdf_signature(
        signatures[0], signer_validation_context=context, ts_validation_context=context
    )
    assert status.intact and status.valid, status.pretty_print_details()
    assert status.trusted, status.pretty_print_details()
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert signatures[0].sig_object["/SubFilter"] == "/ETSI.CAdES.detached"  # PAdES
    timestamp = status.timestamp_validity
    assert timestamp is not None and timestamp.intact and timestamp.valid and timestamp.trusted
    assert status.signing_cert.subject.native["organization_name"] == sealer
    return status
