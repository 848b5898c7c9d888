"""An invented certificate authority for local runs and tests: a CA, the hospital's seal
certificate (a PKCS#12 file, as a real hospital receives it) and a time-stamping authority's
certificate. Every certificate carries the organisational unit :data:`DEMO_UNIT`, which is how
``signing.pki`` recognises a demo certificate and production refuses it.

Keys are ECDSA P-256 for the CA and the seal (signing costs a millisecond or two) and RSA 2048
for the time-stamping authority (pyHanko's timestamp-token machinery signs with RSA only).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEMO_UNIT = "offlabel demo PKI - invented, not for production"
DEMO_PASSWORD = "demo-only-not-secret"  # noqa: S105 - invented, in the README

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@dataclass(frozen=True)
class DemoPkiPaths:
    directory: Path

    @property
    def ca_certificate(self) -> Path:
        return self.directory / "demo-ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.directory / "demo-ca-key.pem"

    @property
    def seal_pkcs12(self) -> Path:
        return self.directory / "hospital-seal.p12"

    @property
    def seal_password(self) -> Path:
        return self.directory / "hospital-seal.password"

    @property
    def tsa_certificate(self) -> Path:
        return self.directory / "demo-tsa.pem"

    @property
    def tsa_key(self) -> Path:
        return self.directory / "demo-tsa-key.pem"

    def all(self) -> list[Path]:
        return [
            self.ca_certificate,
            self.ca_key,
            self.seal_pkcs12,
            self.seal_password,
            self.tsa_certificate,
            self.tsa_key,
        ]

    def complete(self) -> bool:
        return all(path.exists() for path in self.all())


def name_of(common_name: str, organisation: str, *, demo: bool = True) -> x509.Name:
    parts = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "IT"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
    ]
    if demo:
        parts.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, DEMO_UNIT))
    parts.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(parts)


def key_new(kind: str = "ec") -> PrivateKey:
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def certificate_issue(
    *,
    subject: x509.Name,
    key: PrivateKey,
    issuer: x509.Name,
    issuer_key: PrivateKey,
    not_before: dt.datetime,
    not_after: dt.datetime,
    ca: bool = False,
    key_usage: str = "seal",
) -> x509.Certificate:
    """One certificate. ``key_usage``: ``seal`` (digital signature + non-repudiation),
    ``tsa`` (digital signature, time stamping only), ``ca`` or ``encipherment`` (a certificate
    that may not sign documents: what a wrong certificate looks like)."""
    usages = {
        "seal": {"digital_signature": True, "content_commitment": True},
        "tsa": {"digital_signature": True},
        "ca": {"key_cert_sign": True, "crl_sign": True},
        "encipherment": {"key_encipherment": True},
    }[key_usage]
    flags = {
        name: usages.get(name, False)
        for name in (
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
        )
    }
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(**flags, encipher_only=False, decipher_only=False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    if key_usage == "tsa":
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
        )
    return builder.sign(issuer_key, hashes.SHA256())


def pem_write(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    path.chmod(0o600)


def key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def cert_pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def pkcs12_bytes(
    key: PrivateKey, certificate: x509.Certificate, chain: list[x509.Certificate], password: str
) -> bytes:
    return pkcs12.serialize_key_and_certificates(
        b"offlabel-seal",
        key,
        certificate,
        chain or None,
        serialization.BestAvailableEncryption(password.encode()),
    )


def demo_pki_create(
    directory: Path,
    *,
    hospital_name: str = "Invented General Hospital",
    force: bool = False,
    demo: bool = True,
) -> tuple[DemoPkiPaths, bool]:
    """Write the demo PKI into ``directory``; returns the paths and whether anything was
    written (an existing, complete set is kept unless ``force``). ``demo=False`` leaves out the
    demo unit: only for tests of the production start-up, which refuses demo certificates."""
    paths = DemoPkiPaths(directory)
    if paths.complete() and not force:
        return paths, False
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    start = now - dt.timedelta(days=1)  # a clock a little behind still accepts it
    ca_key = key_new("ec")
    ca_name = name_of("offlabel demo CA", "offlabel demo PKI", demo=demo)
    ca = certificate_issue(
        subject=ca_name,
        key=ca_key,
        issuer=ca_name,
        issuer_key=ca_key,
        not_before=start,
        not_after=now + dt.timedelta(days=3650),
        ca=True,
        key_usage="ca",
    )
    seal_key = key_new("ec")
    seal = certificate_issue(
        subject=name_of(f"{hospital_name} - document seal", hospital_name, demo=demo),
        key=seal_key,
        issuer=ca_name,
        issuer_key=ca_key,
        not_before=start,
        not_after=now + dt.timedelta(days=825),
    )
    tsa_key = key_new("rsa")
    tsa = certificate_issue(
        subject=name_of("offlabel demo time-stamping authority", "offlabel demo PKI", demo=demo),
        key=tsa_key,
        issuer=ca_name,
        issuer_key=ca_key,
        not_before=start,
        not_after=now + dt.timedelta(days=3650),
        key_usage="tsa",
    )
    pem_write(paths.ca_certificate, cert_pem(ca))
    pem_write(paths.ca_key, key_pem(ca_key))
    pem_write(paths.seal_pkcs12, pkcs12_bytes(seal_key, seal, [ca], DEMO_PASSWORD))
    pem_write(paths.seal_password, DEMO_PASSWORD.encode())
    pem_write(paths.tsa_certificate, cert_pem(tsa))
    pem_write(paths.tsa_key, key_pem(tsa_key))
    return paths, True
