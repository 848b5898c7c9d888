"""A certificate that may not seal is refused; production refuses the demo certificate; when
the time-stamping authority is down a document waits for its timestamp — never served, never
silently unsealed — and is sealed by the sweeper once the authority answers again."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from django.utils import timezone

from audit.models import AuditEvent
from offlabel.rendering import render_sweep
from reports.models import ReportExport
from reports.selectors import ReportFilters
from reports.services import report_export_render, report_export_request
from signing import demo_pki
from signing.demo_pki import DemoPkiPaths
from signing.pades import TimestampUnavailable
from signing.pki import SealRefused, seal_identity_check
from tests.helpers import ROOT
from tests.peers.tsa import seal_env, tsa_running
from tests.signing.helpers import assert_sealed_and_valid


def _ca(paths: DemoPkiPaths):
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    certificate = x509.load_pem_x509_certificate(paths.ca_certificate.read_bytes())
    key = serialization.load_pem_private_key(paths.ca_key.read_bytes(), password=None)
    return certificate, key


def _pkcs12(tmp_path, *, issuer=None, issuer_key=None, days=(-1, 365), usage="seal", key=None):
    now = dt.datetime.now(dt.UTC)
    own_key = demo_pki.key_new("ec")
    certificate = demo_pki.certificate_issue(
        subject=demo_pki.name_of("Invented Hospital seal", "Invented General Hospital"),
        key=own_key,
        issuer=issuer.subject,
        issuer_key=issuer_key,
        not_before=now + timedelta(days=days[0]),
        not_after=now + timedelta(days=days[1]),
        key_usage=usage,
    )
    path = tmp_path / "seal.p12"
    if key is None:
        path.write_bytes(demo_pki.pkcs12_bytes(own_key, certificate, [issuer], "pw"))
    else:  # a key and a certificate that are not a pair (tools refuse to pair them in a bag)
        path.write_bytes(
            pkcs12.serialize_key_and_certificates(
                b"seal",
                key,
                None,
                [certificate, issuer],
                serialization.BestAvailableEncryption(b"pw"),
            )
        )
    return path


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("expired", "expired on"),
        ("another_ca", "not issued by the configured CA"),
        ("no_signing_usage", "may not sign documents"),
        ("key_mismatch", "no certificate with its private key"),
    ],
)
def test_a_wrong_or_expired_certificate_is_refused(
    tmp_path, seal_pki_and_tsa, hospital_admin, settings, case, message
):
    paths = seal_pki_and_tsa.paths
    ca, ca_key = _ca(paths)
    if case == "expired":
        p12 = _pkcs12(tmp_path, issuer=ca, issuer_key=ca_key, days=(-400, -30))
    elif case == "another_ca":
        other_key = demo_pki.key_new("ec")
        other_name = demo_pki.name_of("Another invented CA", "Elsewhere")
        other = demo_pki.certificate_issue(
            subject=other_name,
            key=other_key,
            issuer=other_name,
            issuer_key=other_key,
            not_before=dt.datetime.now(dt.UTC) - timedelta(days=1),
            not_after=dt.datetime.now(dt.UTC) + timedelta(days=30),
            ca=True,
            key_usage="ca",
        )
        p12 = _pkcs12(tmp_path, issuer=other, issuer_key=other_key)
    elif case == "no_signing_usage":
        p12 = _pkcs12(tmp_path, issuer=ca, issuer_key=ca_key, usage="encipherment")
    else:
        p12 = _pkcs12(tmp_path, issuer=ca, issuer_key=ca_key, key=demo_pki.key_new("ec"))
    with pytest.raises(SealRefused, match=message):
        seal_identity_check(pkcs12_path=p12, password="pw", trust_roots_path=paths.ca_certificate)
    # Sealing refuses the same way: the document fails with the reason, nothing is served.
    settings.SEAL_PKCS12, settings.SEAL_PKCS12_PASSWORD = str(p12), "pw"
    export = report_export_request(actor=hospital_admin, filters=ReportFilters())
    with pytest.raises(SealRefused):
        report_export_render(export.pk)
    export.refresh_from_db()
    assert export.status == "failed" and message in export.error
    assert not ReportExport.objects.filter(status="ready").exists()


def test_the_demo_certificate_is_refused_at_start_up_in_production(seal_pki_and_tsa):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")},
        **seal_env(seal_pki_and_tsa.paths, seal_pki_and_tsa.tsa.url),
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "x" * 60,
        "DJANGO_ALLOWED_HOSTS": "offlabel.invalid",
        "DJANGO_SETTINGS_MODULE": "offlabel.settings",
    }
    started = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode != 0
    assert "demo certificate" in started.stderr and "make_demo_pki" in started.stderr


def test_tsa_down_the_document_awaits_its_timestamp_then_the_sweeper_seals_it(
    client, hospital_admin, seal_pki_and_tsa, settings
):
    paths = seal_pki_and_tsa.paths
    with tsa_running(paths) as tsa:
        settings.SEAL_TSA_URL = tsa.url
        port = tsa.port
    # The authority's process has ended: the port refuses connections.
    export = report_export_request(actor=hospital_admin, filters=ReportFilters())
    with pytest.raises(TimestampUnavailable):
        report_export_render(export.pk)
    export.refresh_from_db()
    assert export.status == "awaiting_timestamp" and export.file and not export.sha256
    assert export.get_status_display() == "Awaiting its trusted timestamp"
    assert AuditEvent.objects.filter(action="document.awaiting_timestamp").count() == 1
    client.force_login(hospital_admin)
    answer = client.get(f"/reports/pdf/{export.pk}/download/")
    assert answer.status_code == 409 and b"awaits its trusted timestamp" in answer.content
    assert b"%PDF" not in answer.content
    # Still down: a retry leaves it waiting, and writes no second history row.
    with pytest.raises(TimestampUnavailable):
        report_export_render(export.pk)
    assert ReportExport.objects.get(pk=export.pk).status == "awaiting_timestamp"
    assert AuditEvent.objects.filter(action="document.awaiting_timestamp").count() == 1
    with tsa_running(paths, port=port):
        # The sweeper queues it again (a real broker); the task body seals what is stored.
        later = timezone.now() + timedelta(seconds=settings.RENDER_REQUEUE_AFTER_SECONDS + 1)
        assert render_sweep(now=later)["requeued"] >= 1
        sealed = report_export_render(export.pk)
    assert sealed.status == "ready" and len(sealed.sha256) == 64
    with sealed.file.open("rb") as handle:
        assert_sealed_and_valid(handle.read(), paths.ca_certificate)
    answer = client.get(f"/reports/pdf/{export.pk}/download/")
    assert answer.status_code == 200
