"""Issue 16's journey in a real Chromium: a pharmacist signs in through the hospital's OpenID
Connect provider (a real oidc-provider process) with a TOTP second factor, approves a request
with a re-authentication at the provider, and downloads the consent form and its signed record,
both sealed (PAdES B-T, a timestamp from a real TSA process) and checked by pyHanko's validator.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from accounts.reauth import SESSION_AT, SESSION_METHOD
from audit.models import AuditEvent
from consent.models import ConsentSignatureRecord
from consent.signature_record import consent_signature_record_render
from prescriptions.models import OffLabelRequest
from prescriptions.services import request_transition
from signatures.models import ElectronicSignature, SignatureAction
from signing.pades import pdf_seal_verify
from signing.pki import seal_identity
from tests.accounts.test_mfa import PRODUCTION_ROLES, device_for, totp_code
from tests.peers.oidc import PROVIDER_NAME
from tests.prescriptions.conftest import checklist_complete, draft, patient

__all__ = ["draft", "patient"]  # fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PROVIDER_PASSWORD = "Provider-Password-2468"


def _provider_sign_in(page: Any, provider_url: str, login: str) -> None:
    page.wait_for_url(f"{provider_url}/interaction/**")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", PROVIDER_PASSWORD)
    page.get_by_role("button", name="Sign in to the provider").click()


def _session_authenticated_minutes_ago(minutes: int) -> None:
    """The pharmacist's last authentication was ``minutes`` ago: what a ward computer left
    signed in looks like when the next signature comes."""
    (row,) = Session.objects.all()
    session = SessionStore(session_key=row.session_key)
    session[SESSION_AT] = (timezone.now() - timedelta(minutes=minutes)).isoformat()
    session.save()


def _download(page: Any, link_name: str, folder: Path) -> bytes:
    with page.expect_download() as info:
        page.get_by_role("link", name=link_name).first.click()
    target = folder / info.value.suggested_filename
    info.value.save_as(target)
    return target.read_bytes()


def test_pharmacist_signs_in_with_the_provider_and_totp_approves_after_reauthenticating_and_gets_sealed_pdfs(  # noqa: E501
    live_server: Any,
    page_for: Any,
    oidc_settings: Any,
    settings: Any,
    tmp_path: Path,
    draft: OffLabelRequest,
    physician: Any,
    pharmacist: Any,
) -> None:
    settings.MFA_REQUIRED_ROLES = PRODUCTION_ROLES
    settings.SIGNATURE_REAUTH_MINUTES = 5
    phone = device_for(pharmacist)
    oidc_settings.account_put(
        pharmacist.username,
        password=PROVIDER_PASSWORD,
        hospital=pharmacist.hospital.code,
        roles=["pharmacist"],
    )
    # The physician's part, through the services: the consent form rendered, sealed and
    # signed on screen; the checklist complete; the request submitted and under review.
    checklist_complete(draft)
    record = ConsentSignatureRecord.objects.get(signature__document__request=draft)
    consent_signature_record_render(record.pk)  # what the worker does once the signature commits
    request = request_transition(actor=physician, request=draft, transition="submit")
    request = request_transition(actor=pharmacist, request=request, transition="start_review")
    base = live_server.url
    page = page_for()

    # Sign in at the provider; offlabel asks for the authenticator app's code.
    page.goto(f"{base}/accounts/login/")
    page.get_by_role("link", name=f"Sign in with {PROVIDER_NAME}").click()
    _provider_sign_in(page, oidc_settings.url, pharmacist.username)
    page.wait_for_url("**/accounts/2fa/verify/**")
    page.get_by_label("Code").first.fill(totp_code(phone.key))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(f"{base}/")
    (row,) = Session.objects.all()
    assert row.get_decoded()[SESSION_METHOD] == "oidc+totp"

    # Ten minutes later the approval is a signature: the page asks who is signing.
    _session_authenticated_minutes_ago(10)
    page.goto(f"{base}/requests/{request.pk}/")
    actions = page.locator("#actions")
    assert "You are signing: approved as pharmacist" in actions.inner_text()
    page.get_by_role("link", name="Confirm with your hospital's sign-in").first.click()
    _provider_sign_in(page, oidc_settings.url, pharmacist.username)  # prompt=login: asked again
    page.wait_for_url(f"{base}/requests/{request.pk}/**")
    page.locator("#actions").get_by_role("button", name="Approve").click()
    page.wait_for_load_state()

    request.refresh_from_db()
    assert request.status == OffLabelRequest.Status.APPROVED
    signature = ElectronicSignature.objects.get(request=request, action=SignatureAction.APPROVE)
    assert signature.meaning == "approved as pharmacist"
    assert signature.signer == pharmacist
    assert signature.method.startswith("oidc")
    assert timezone.now() - signature.authenticated_at < timedelta(minutes=1)
    event = signature.audit_event
    assert event is not None and event.after["signature"]["meaning"] == "approved as pharmacist"
    assert event.after["signature"]["method"] == signature.method

    # The consent form and its signed record, downloaded from the request page: both sealed by
    # the hospital, intact, covering the whole file, timestamped, chained to the demo CA.
    page.goto(f"{base}/requests/{request.pk}/")
    form = _download(page, "Download PDF", tmp_path)
    signed = _download(page, "Signed record (sealed PDF)", tmp_path)
    for pdf in (form, signed):
        verdict = pdf_seal_verify(pdf)
        assert verdict.valid, verdict
        assert verdict.sealer_name == seal_identity().sealer_name == "Invented General Hospital"
    assert AuditEvent.objects.filter(action="consent.downloaded", actor=pharmacist).exists()
    assert AuditEvent.objects.filter(action="consent.record_downloaded", actor=pharmacist).exists()
    assert not page_for.problems, page_for.problems
