"""Security gates: login lockout, session expiry, Content Security Policy, uploads checked by
content, no identifying data in the logs of a whole journey, and `check --deploy`."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from tests.factories import TEST_PASSWORD
from tests.prescriptions.conftest import draft, patient  # noqa: F401 - fixtures


def _login(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_five_failures_lock_the_account_from_that_address_and_the_lockout_is_audited(
    client, physician, settings
):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        failed = _login(client, physician.username, "wrong-password")
        assert failed.status_code == 200 and "_auth_user_id" not in client.session
    locked = _login(client, physician.username, "wrong-password")
    assert locked.status_code == 429 and b"Sign-in locked" in locked.content
    assert b"Try again in 15 minutes" in locked.content
    # Even the right password is refused while locked out.
    again = _login(client, physician.username, TEST_PASSWORD)
    assert again.status_code == 429
    event = AuditEvent.objects.filter(action="login.locked_out").first()
    assert event is not None
    assert physician.username in event.summary and "wrong-password" not in event.summary
    # Another address is not locked out (lockout is per username and address).
    elsewhere = client.post(
        reverse("login"),
        {"username": physician.username, "password": TEST_PASSWORD},
        REMOTE_ADDR="10.9.8.7",
    )
    assert elsewhere.status_code == 302


def test_the_lockout_ends_after_the_cool_off(client, physician, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, physician.username, "wrong-password")
    assert _login(client, physician.username, TEST_PASSWORD).status_code == 429
    later = timezone.now() + settings.AXES_COOLOFF_TIME + timedelta(seconds=5)
    with time_machine.travel(later):
        assert _login(client, physician.username, TEST_PASSWORD).status_code == 302


def test_the_api_token_endpoint_is_locked_out_too(client, physician, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("api-token"), {"username": physician.username, "password": "nope"})
    refused = client.post(
        reverse("api-token"), {"username": physician.username, "password": TEST_PASSWORD}
    )
    assert refused.status_code == 429 and "locked for 15 minutes" in refused.json()["detail"]
    assert b'"token"' not in refused.content


def test_a_session_expires_after_the_idle_time(client, physician, settings):
    settings.OFFLABEL_SESSION_RENEW_SECONDS = 60  # production's default (tests/conftest.py)
    assert _login(client, physician.username, TEST_PASSWORD).status_code == 302
    assert client.get(reverse("requests:dashboard")).status_code == 200
    idle = timedelta(seconds=settings.SESSION_COOKIE_AGE)
    with time_machine.travel(timezone.now() + idle - timedelta(minutes=1)):
        assert client.get(reverse("requests:dashboard")).status_code == 200  # slides on
    with time_machine.travel(timezone.now() + 2 * idle + timedelta(minutes=1)):
        expired = client.get(reverse("requests:dashboard"))
        assert expired.status_code == 302 and reverse("login") in expired["Location"]
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE


@pytest.mark.parametrize(
    "url", ["/accounts/login/", "/studies/", "/api/docs/", "/followup/registry/", "/requests/"]
)
def test_every_page_carries_a_strict_content_security_policy(client, physician, url, studies):
    client.force_login(physician)
    response = client.get(url)
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    body = response.content.decode()
    assert "<script>" not in body and " onsubmit=" not in body and " onclick=" not in body


def test_uploads_are_checked_by_content_not_by_name(physician, draft):  # noqa: F811
    """A file named .pdf that is not a PDF is refused (here: a signed consent scan)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from consent.services import consent_render, consent_request, consent_sign
    from offlabel.exceptions import ApplicationError

    document = consent_render(consent_request(actor=physician, request=draft, language="en").pk)
    fake = SimpleUploadedFile("scan.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")
    with pytest.raises(ApplicationError, match="PDF"):
        consent_sign(actor=physician, document=document, method="wet_ink_scan", scan=fake)
    assert not hasattr(document, "signature") or document.signature is None


def test_no_identifying_data_in_the_logs_of_a_whole_journey(
    client,
    physician,
    pharmacist,
    draft,  # noqa: F811
    caplog,
):
    """Every logger at DEBUG while a request goes from draft to dispensing through the pages."""
    from tests.pharmacy.conftest import dispense_cycle_one
    from tests.prescriptions.conftest import IDENTITY, checklist_complete

    caplog.set_level(logging.DEBUG)
    client.force_login(physician)
    client.get(reverse("requests:detail", args=[draft.pk]))
    client.get(reverse("requests:patient-identity", args=[draft.patient_id]))
    checklist_complete(draft)
    client.post(
        reverse("requests:transition", args=[draft.pk]),
        {"transition": "submit", "version": draft.version},
    )
    client.force_login(pharmacist)
    for transition in ("start_review", "approve"):
        draft.refresh_from_db()
        client.post(
            reverse("requests:transition", args=[draft.pk]),
            {"transition": transition, "version": draft.version, "reason": "ok"},
        )
    draft.refresh_from_db()
    assert draft.status == "approved"
    dispense_cycle_one(draft, pharmacist)
    client.get(reverse("pharmacy:request", args=[draft.pk]))
    document = draft.consents.first()
    client.get(reverse("consent:download", args=[document.pk]))
    logged = caplog.text + " ".join(str(r.args) for r in caplog.records)
    assert len(caplog.records) > 0
    for secret in (
        IDENTITY["given_name"],
        IDENTITY["family_name"],
        IDENTITY["national_id"],
        "1958-03-14",
    ):
        assert secret not in logged, secret


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    import os
    import subprocess
    import sys

    from tests.helpers import production_signing_env

    env = {
        # Not the suite's own demo seal (tests/peers/tsa.py), which production refuses.
        **{
            k: v
            for k, v in os.environ.items()
            if k != "DJANGO_ALLOW_ASYNC_UNSAFE"
            and not k.startswith(("OFFLABEL_SEAL_", "OFFLABEL_TSA_"))
        },
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "x" * 20 + "-a-long-random-secret-for-the-deploy-check-0123456789",
        "DJANGO_ALLOWED_HOSTS": "offlabel.example-hospital.invalid",
        **production_signing_env(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
