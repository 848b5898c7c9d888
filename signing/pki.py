"""The hospital's seal certificate: loaded from its PKCS#12 file and checked before it seals.

A seal made with a certificate that has expired, that another CA issued, that may not sign
documents or whose key is not the certificate's would look sealed and prove nothing, so
sealing refuses (:class:`SealRefused`, the reason on the document's row). Production also
refuses to start with the invented demo certificate (``signing.apps``).
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.utils.translation import gettext
from pyhanko.sign.signers import SimpleSigner

from offlabel.exceptions import ApplicationError
from signing.demo_pki import DEMO_UNIT


class SealRefused(ApplicationError):
    """The configured certificate cannot seal: the message says why."""


@dataclass(frozen=True)
class SealIdentity:
    signer: SimpleSigner
    certificate: x509.Certificate
    trust_roots: tuple[x509.Certificate, ...]
    sealer_name: str  # the certificate's organisation: who sealed, as the page shows it
    subject: str

    @property
    def is_demo(self) -> bool:
        return certificate_is_demo(self.certificate)

    @property
    def serial_hex(self) -> str:
        return f"{self.certificate.serial_number:x}"

    def trust_roots_asn1(self) -> list[asn1_x509.Certificate]:
        return [asn1_of(root) for root in self.trust_roots]


def asn1_of(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def certificate_is_demo(certificate: x509.Certificate) -> bool:
    for name in (certificate.subject, certificate.issuer):
        units = name.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
        if any(unit.value == DEMO_UNIT for unit in units):
            return True
    return False


def organisation_of(certificate: x509.Certificate) -> str:
    for oid in (NameOID.ORGANIZATION_NAME, NameOID.COMMON_NAME):
        values = certificate.subject.get_attributes_for_oid(oid)
        if values:
            return str(values[0].value)
    return certificate.subject.rfc4514_string()


def trust_roots_load(path: str | Path) -> tuple[x509.Certificate, ...]:
    if not str(path):
        raise SealRefused(gettext("No trusted CA certificate is configured for the seal."))
    try:
        roots = tuple(x509.load_pem_x509_certificates(Path(path).read_bytes()))
    except (OSError, ValueError) as exc:
        raise SealRefused(
            gettext("The trusted CA certificates cannot be read (%(path)s): %(error)s")
            % {"path": path, "error": exc}
        ) from exc
    return roots


def _issued_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        certificate.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _chains_to(
    certificate: x509.Certificate,
    intermediates: list[x509.Certificate],
    roots: tuple[x509.Certificate, ...],
) -> bool:
    current, seen = certificate, 0
    while seen <= len(intermediates):
        if any(_issued_by(current, root) for root in roots):
            return True
        parents = [c for c in intermediates if c != current and _issued_by(current, c)]
        if not parents:
            return False
        current, seen = parents[0], seen + 1
    return False


def seal_identity_check(
    *,
    pkcs12_path: str | Path,
    password: str,
    trust_roots_path: str | Path,
    now: dt.datetime | None = None,
) -> SealIdentity:
    """Load the certificate and refuse it unless it may seal now: inside its validity dates,
    allowed to sign (digital signature or non-repudiation), issued (through the file's
    intermediates) by a configured CA, and its key is the file's key."""
    now = now or dt.datetime.now(dt.UTC)
    if not str(pkcs12_path):
        raise SealRefused(gettext("No seal certificate (OFFLABEL_SEAL_PKCS12) is configured."))
    try:
        data = Path(pkcs12_path).read_bytes()
        key, certificate, extra = pkcs12.load_key_and_certificates(
            data, password.encode() if password else None
        )
    except (OSError, ValueError) as exc:
        raise SealRefused(
            gettext("The seal certificate cannot be read (%(path)s): %(error)s")
            % {"path": pkcs12_path, "error": exc}
        ) from exc
    if key is None or certificate is None:
        raise SealRefused(gettext("The seal file holds no certificate with its private key."))
    subject = certificate.subject.rfc4514_string()
    if now < certificate.not_valid_before_utc:
        raise SealRefused(
            gettext("The seal certificate (%(subject)s) is not valid before %(date)s.")
            % {"subject": subject, "date": certificate.not_valid_before_utc.isoformat()}
        )
    if now > certificate.not_valid_after_utc:
        raise SealRefused(
            gettext("The seal certificate (%(subject)s) expired on %(date)s.")
            % {"subject": subject, "date": certificate.not_valid_after_utc.isoformat()}
        )
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
        may_sign = usage.digital_signature or usage.content_commitment
    except x509.ExtensionNotFound:
        may_sign = False
    if not may_sign:
        raise SealRefused(
            gettext(
                "The seal certificate (%(subject)s) may not sign documents: its key usage has "
                "neither digital signature nor non-repudiation."
            )
            % {"subject": subject}
        )
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(
        serialization.Encoding.DER, public
    ) != certificate.public_key().public_bytes(serialization.Encoding.DER, public):
        raise SealRefused(
            gettext("The seal file's private key does not belong to its certificate.")
        )
    roots = trust_roots_load(trust_roots_path)
    intermediates = [c for c in (extra or []) if c not in roots]
    if not _chains_to(certificate, intermediates, roots):
        raise SealRefused(
            gettext(
                "The seal certificate (%(subject)s) was not issued by the configured CA "
                "(OFFLABEL_SEAL_TRUST_ROOTS)."
            )
            % {"subject": subject}
        )
    signer = SimpleSigner.load_pkcs12_data(
        data,
        other_certs=[asn1_of(c) for c in intermediates],
        passphrase=password.encode() if password else None,
    )
    return SealIdentity(
        signer=signer,
        certificate=certificate,
        trust_roots=roots,
        sealer_name=organisation_of(certificate),
        subject=subject,
    )


_cache: dict[tuple[object, ...], SealIdentity] = {}
_cache_lock = threading.Lock()


def _stamp(path: str) -> float:
    try:
        return Path(path).stat().st_mtime if path else 0.0
    except OSError:
        return -1.0


def seal_identity(now: dt.datetime | None = None) -> SealIdentity:
    """The configured identity, checked; the files are read again when they change (a hospital
    renews its certificate without a restart), the dates are checked at every seal."""
    pkcs12_path, roots_path = settings.SEAL_PKCS12, settings.SEAL_TRUST_ROOTS
    key = (
        pkcs12_path,
        _stamp(pkcs12_path),
        settings.SEAL_PKCS12_PASSWORD,
        roots_path,
        _stamp(roots_path),
    )
    with _cache_lock:
        identity = _cache.get(key)
    if identity is None:
        identity = seal_identity_check(
            pkcs12_path=pkcs12_path,
            password=settings.SEAL_PKCS12_PASSWORD,
            trust_roots_path=roots_path,
            now=now,
        )
        with _cache_lock:
            _cache.clear()
            _cache[key] = identity
    now = now or dt.datetime.now(dt.UTC)
    certificate = identity.certificate
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        with _cache_lock:
            _cache.clear()
        return seal_identity_check(
            pkcs12_path=pkcs12_path,
            password=settings.SEAL_PKCS12_PASSWORD,
            trust_roots_path=roots_path,
            now=now,
        )  # raises the dated refusal
    return identity


def production_check() -> None:
    """Start-up with DEBUG off: a configured certificate must load and must not be the demo
    one. (An unset certificate is left to sealing, which refuses with the reason on each
    document: the image build runs collectstatic without one.)"""
    from django.core.exceptions import ImproperlyConfigured

    if not settings.SEAL_PKCS12:
        return
    try:
        identity = seal_identity()
    except SealRefused as exc:
        raise ImproperlyConfigured(f"OFFLABEL_SEAL_PKCS12: {exc.message}") from exc
    if identity.is_demo:
        raise ImproperlyConfigured(
            f"OFFLABEL_SEAL_PKCS12 ({settings.SEAL_PKCS12}) is the invented demo certificate "
            "made by `manage.py make_demo_pki` (subject "
            f"{identity.subject}): production seals with the hospital's own certificate."
        )
