"""Single sign-on in a real browser: Chromium signs in at the provider's own login page (a real
oidc-provider process), lands on offlabel's home, signs out of both, and the provider then
asks for the password again. No Content Security Policy violation on the way (the sign-out
form's redirect to the provider is allowed by form-action)."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.reauth import SESSION_METHOD
from accounts.roles import Role
from audit.actions import AuditAction
from audit.models import AuditEvent
from tests.factories import HospitalFactory, UserFactory
from tests.peers.oidc import PROVIDER_NAME

pytestmark = [pytest.mark.browser]

PROVIDER_PASSWORD = "Provider-Password-1357"


def _provider_sign_in_form(page: Any, provider_url: str) -> None:
    page.wait_for_url(f"{provider_url}/interaction/**")
    assert page.locator("input[name=login]").is_visible()


@pytest.mark.django_db(transaction=True)
def test_a_physician_signs_in_and_out_through_the_hospital_provider(
    live_server: Any,
    page_for: Any,
    oidc_settings: Any,
) -> None:
    from django.contrib.sessions.models import Session

    hospital = HospitalFactory.create(name="Invented Browser Hospital", code="inv-browser")
    physician = UserFactory.create(
        username="dr.sso", first_name="Sofia", hospital=hospital, role=Role.PHYSICIAN
    )
    oidc_settings.account_put(
        "dr.sso", password=PROVIDER_PASSWORD, hospital="inv-browser", roles=["physician"]
    )
    base = live_server.url
    page = page_for()

    page.goto(f"{base}/accounts/login/")
    page.get_by_role("link", name=f"Sign in with {PROVIDER_NAME}").click()
    _provider_sign_in_form(page, oidc_settings.url)
    page.fill("input[name=login]", "dr.sso")
    page.fill("input[name=password]", PROVIDER_PASSWORD)
    page.get_by_role("button", name="Sign in to the provider").click()
    page.wait_for_url(f"{base}/")
    assert "Sofia" in page.locator(".who").inner_text()
    (session,) = [s.get_decoded() for s in Session.objects.all()]
    assert session[SESSION_METHOD] == "oidc"
    assert AuditEvent.objects.filter(action=AuditAction.LOGGED_IN, actor=physician).exists()

    # Sign out: ours, then the provider's confirmation page, then back to our sign-in page.
    page.locator(".who").get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{oidc_settings.url}/session/end**")
    page.get_by_role("button", name="Yes, sign me out").click()
    page.wait_for_url(f"{base}/accounts/login/")
    assert AuditEvent.objects.filter(action=AuditAction.LOGGED_OUT, actor=physician).exists()

    # The provider's session has ended too: it asks for the password again.
    page.get_by_role("link", name=f"Sign in with {PROVIDER_NAME}").click()
    _provider_sign_in_form(page, oidc_settings.url)
    assert not page_for.problems, page_for.problems
