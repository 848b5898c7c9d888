"""A second factor added of one's own accord (a physician, whom no rule asks) protects the
account too: the sign-in asks for it, and the API token needs its code. Someone with no factor
whom no rule asks is asked nothing."""

from __future__ import annotations

from django.urls import reverse

from tests.accounts.test_mfa import device_for, mfa_on, sign_in, totp_code
from tests.factories import TEST_PASSWORD

__all__ = ["mfa_on"]


def test_a_physician_with_an_authenticator_app_is_asked_for_its_code_at_sign_in(
    mfa_on, client, physician
):
    phone = device_for(physician)
    response = sign_in(client, physician.username)
    assert response.redirect_chain[-1][0].startswith(reverse("mfa-verify"))
    assert client.get(reverse("requests:dashboard")).status_code == 302  # nothing else yet
    verified = client.post(
        reverse("mfa-verify"), {"code": totp_code(phone.key), "next": "/"}, follow=True
    )
    assert verified.status_code == 200
    assert client.get(reverse("requests:dashboard")).status_code == 200


def test_a_physician_without_a_factor_signs_in_with_the_password_alone(mfa_on, client, physician):
    response = sign_in(client, physician.username)
    assert response.redirect_chain[-1][0] == reverse("home")
    assert client.get(reverse("requests:dashboard")).status_code == 200


def test_the_token_endpoint_asks_a_code_of_a_physician_with_an_authenticator_app(
    mfa_on, api_client, physician
):
    phone = device_for(physician)
    url = reverse("api-token")
    credentials = {"username": physician.username, "password": TEST_PASSWORD}
    missing = api_client.post(url, credentials, format="json")
    assert missing.status_code == 400 and "second factor" in missing.json()["otp"][0]
    ok = api_client.post(url, {**credentials, "otp": totp_code(phone.key)}, format="json")
    assert ok.status_code == 200 and ok.json()["token"]
