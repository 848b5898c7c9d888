"""Second factors in a real Chromium against the live server: an authenticator app added
through the page, and a passkey registered and then used at sign-in and to re-authenticate,
with Chrome's virtual authenticator (DevTools protocol) standing in for the fingerprint
reader. The live server is reached at http://localhost:<port>: WebAuthn needs a domain, and
browsers treat localhost as a secure context."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from accounts.models import PasskeyCredential
from audit.actions import AuditAction
from audit.models import AuditEvent
from tests.accounts.test_mfa import PRODUCTION_ROLES, totp_code
from tests.browser.test_accessibility import BLOCKING_IMPACTS, axe_script, axe_violations
from tests.factories import TEST_PASSWORD, HospitalFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def mfa_live(settings: Any, live_server: Any) -> str:
    assert live_server.url.startswith("http://localhost:")
    settings.MFA_REQUIRED_ROLES = PRODUCTION_ROLES
    settings.WEBAUTHN_RP_ID = "localhost"
    settings.WEBAUTHN_ORIGINS = [live_server.url]
    hospital = HospitalFactory.create(name="Invented Passkey Hospital", code="inv-passkey")
    UserFactory.create(username="ph.keys", hospital=hospital, role="pharmacist")
    return str(live_server.url)


def _sign_in(page: Any, base: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("[name=username]", "ph.keys")
    page.fill("[name=password]", TEST_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def _sign_out(page: Any) -> None:
    page.click("header button:has-text('Sign out')")
    page.wait_for_url("**/accounts/login/**")


def _virtual_authenticator(page: Any) -> tuple[Any, str]:
    """Chrome's virtual authenticator, as a platform one (fingerprint, face) that verifies the
    person."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    return cdp, str(added["authenticatorId"])


def _serious_accessibility_violations(page: Any) -> list[dict[str, Any]]:
    return [v for v in axe_violations(page) if v["impact"] in BLOCKING_IMPACTS]


def test_an_authenticator_app_is_added_at_first_sign_in(mfa_live, page_for):
    base = mfa_live
    page = page_for()
    page.context.add_init_script(script=axe_script())  # WCAG 2.1 AA on each page
    _sign_in(page, base)
    assert "/accounts/2fa/enrol/" in page.url
    assert _serious_accessibility_violations(page) == []
    page.click("text=Use an authenticator app")
    page.wait_for_url("**/accounts/2fa/totp/**")
    assert _serious_accessibility_violations(page) == []
    assert page.locator("img[src^='data:image/svg+xml']").is_visible()
    secret = page.locator("[data-totp-secret]").inner_text().replace(" ", "")
    key_hex = base64.b32decode(secret + "=" * (-len(secret) % 8)).hex()
    page.get_by_label("Code from the app").fill(totp_code(key_hex))
    page.get_by_label("Name of this device").fill("Ward phone")
    page.click("main button:has-text('Confirm')")
    page.wait_for_url("**/accounts/2fa/recovery/**")
    assert page.locator("[data-recovery-codes] li").count() == 10
    assert _serious_accessibility_violations(page) == []
    page.click("text=I have saved them: continue")
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/accounts/2fa/")
    assert page.get_by_text("Ward phone").is_visible()
    assert _serious_accessibility_violations(page) == []
    assert page_for.problems == [], page_for.problems


def test_a_passkey_is_registered_then_used_at_sign_in_and_to_re_authenticate(mfa_live, page_for):
    base = mfa_live
    page = page_for()
    cdp, authenticator_id = _virtual_authenticator(page)

    # First sign-in: no factor yet, so a passkey is added.
    _sign_in(page, base)
    page.click("text=Use a passkey")
    page.wait_for_url("**/accounts/2fa/passkeys/add/**")
    page.get_by_label("Name of this passkey").fill("Ward laptop")
    page.click("main button:has-text('Create the passkey')")
    page.wait_for_url("**/accounts/2fa/recovery/**")
    assert page.locator("[data-recovery-codes] li").count() == 10
    passkey = PasskeyCredential.objects.get(user__username="ph.keys")
    assert passkey.name == "Ward laptop" and passkey.transports == ["internal"]
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})
    assert len(credentials["credentials"]) == 1
    page.click("text=I have saved them: continue")
    page.wait_for_url(f"{base}/")

    # Next sign-in: the passkey is the second factor.
    _sign_out(page)
    _sign_in(page, base)
    assert "/accounts/2fa/verify/" in page.url
    page.click("main a:has-text('Use a passkey')")
    page.wait_for_url("**/accounts/2fa/passkey/**")
    page.click("main button:has-text('Use my passkey')")
    page.wait_for_url(f"{base}/")
    verified = (
        AuditEvent.objects.filter(action=AuditAction.MFA_VERIFIED).order_by("-sequence").first()
    )
    assert verified is not None and "password+passkey" in verified.summary
    first_count = PasskeyCredential.objects.get(pk=passkey.pk).sign_count

    # Later, before a signature: the passkey again, as a re-authentication.
    page.goto(f"{base}/accounts/2fa/passkey/?next=/requests/")
    page.click("main button:has-text('Use my passkey')")
    page.wait_for_url(f"{base}/requests/")
    again = AuditEvent.objects.filter(action=AuditAction.MFA_VERIFIED).order_by("-sequence").first()
    assert again is not None and again.summary.endswith("(passkey)")
    assert PasskeyCredential.objects.get(pk=passkey.pk).sign_count > first_count
    assert page_for.problems == [], page_for.problems
