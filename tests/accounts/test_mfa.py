"""Second factors (issue 16): who must give one, enrolment at sign-in through the real pages,
verification with a TOTP code or a recovery code, throttling, the provider's assertion, the
API token, and the audit rows of each step."""

from __future__ import annotations

import base64
import re
from binascii import unhexlify
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.mfa import (
    SESSION_PROVIDER_MFA,
    mfa_required,
    recovery_codes_generate,
    second_factor_check,
)
from accounts.models import User
from accounts.reauth import SESSION_METHOD
from accounts.roles import Role
from audit.actions import AuditAction
from audit.models import AuditEvent
from tests.factories import TEST_PASSWORD, HospitalFactory, UserFactory

PRODUCTION_ROLES = ["pharmacist", "hospital_admin", "rule_steward"]


@pytest.fixture
def mfa_on(settings: Any) -> Any:
    settings.MFA_REQUIRED_ROLES = PRODUCTION_ROLES
    return settings


def sign_in(client: Client, username: str) -> Any:
    """Through the real sign-in page, following the redirects."""
    return client.post(
        reverse("login"), {"username": username, "password": TEST_PASSWORD}, follow=True
    )


def totp_code(key_hex: str, steps_ahead: int = 0) -> str:
    """The code an authenticator app shows now (or ``steps_ahead`` periods later)."""
    totp = TOTP(unhexlify(key_hex), step=30, t0=0, digits=6, drift=steps_ahead)
    return f"{totp.token():06d}"


def device_for(user: User) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="Test phone", confirmed=True)


def actions_of(user: User) -> list[str]:
    return list(
        AuditEvent.objects.filter(actor_username=user.username)
        .order_by("sequence")
        .values_list("action", flat=True)
    )


# --- Who must ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "must"),
    [
        (Role.PHARMACIST, True),
        (Role.HOSPITAL_ADMIN, True),
        (Role.RULE_STEWARD, True),
        (Role.PHYSICIAN, False),
        (Role.REGULATORY_OFFICER, False),
    ],
)
def test_each_roles_requirement_by_default(mfa_on, hospital, role, must):
    if role == Role.RULE_STEWARD:
        user = UserFactory.create(hospital=None, is_rule_steward=True, role=role)
    else:
        user = UserFactory.create(hospital=hospital, role=role)
    assert mfa_required(user) is must


def test_a_hospitals_own_list_overrides_the_deployments(mfa_on, hospital, other_hospital):
    hospital.mfa_required_roles = ["physician"]
    hospital.save()
    strict_physician = UserFactory.create(hospital=hospital, role=Role.PHYSICIAN)
    strict_pharmacist = UserFactory.create(hospital=hospital, role=Role.PHARMACIST)
    usual_physician = UserFactory.create(hospital=other_hospital, role=Role.PHYSICIAN)
    usual_pharmacist = UserFactory.create(hospital=other_hospital, role=Role.PHARMACIST)
    assert mfa_required(strict_physician)
    assert not mfa_required(strict_pharmacist)  # that hospital's list names physicians only
    assert not mfa_required(usual_physician)
    assert mfa_required(usual_pharmacist)


def test_nobody_must_when_the_deployment_lists_no_role(settings, pharmacist):
    settings.MFA_REQUIRED_ROLES = []
    assert not mfa_required(pharmacist)


# --- Enrolment at sign-in ------------------------------------------------------------------


def test_sign_in_leads_to_enrolment_and_nothing_else_is_reachable(mfa_on, client, pharmacist):
    response = sign_in(client, "ph.rossi")
    assert response.redirect_chain[-1][0].startswith(reverse("mfa-enrol"))
    assert "Add a second factor" in response.content.decode()
    for url in ("/", "/requests/", reverse("mfa-manage"), reverse("password_change")):
        page = client.get(url)
        assert page.status_code == 302 and page["Location"].startswith(reverse("mfa-enrol"))
    api = client.get(reverse("api-me"))
    assert api.status_code == 403
    assert api.json()["code"] == "second_factor_required"
    htmx = client.get("/requests/", headers={"HX-Request": "true"})
    assert htmx["HX-Redirect"].startswith(reverse("mfa-enrol"))
    # The language switch and the sign-out still work.
    assert client.post(reverse("set_language"), {"language": "it", "next": "/"}).status_code == 302
    client.post(reverse("logout"))
    assert client.get("/")["Location"].startswith(reverse("login"))


def test_a_physician_is_not_asked(mfa_on, client, physician):
    response = sign_in(client, "dr.house")
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == "/"


def test_enrolment_with_a_wrong_code_fails_and_a_right_one_shows_recovery_codes_once(
    mfa_on, client, pharmacist
):
    sign_in(client, "ph.rossi")
    page = client.get(reverse("mfa-totp-enrol"), {"next": "/requests/"})
    html = page.content.decode()
    assert 'src="data:image/svg+xml' in html  # the QR code, an image the CSP allows
    secret = re.search(r"<code data-totp-secret>([A-Z2-7 ]+)</code>", html).group(1)
    raw = secret.replace(" ", "")
    key_hex = base64.b32decode(raw + "=" * (-len(raw) % 8)).hex()
    assert not TOTPDevice.objects.filter(user=pharmacist).exists()  # nothing stored yet

    wrong = f"{(int(totp_code(key_hex)) + 1) % 1_000_000:06d}"
    refused = client.post(reverse("mfa-totp-enrol"), {"code": wrong, "next": "/requests/"})
    assert refused.status_code == 200 and "does not match" in refused.content.decode()
    assert not TOTPDevice.objects.filter(user=pharmacist).exists()

    done = client.post(
        reverse("mfa-totp-enrol"),
        {"code": totp_code(key_hex), "name": "Ward phone", "next": "/requests/"},
    )
    assert done.status_code == 302 and done["Location"].startswith(reverse("mfa-recovery-codes"))
    device = TOTPDevice.objects.get(user=pharmacist)
    assert device.name == "Ward phone" and device.key == key_hex and device.confirmed

    codes_page = client.get(done["Location"]).content.decode()
    shown = re.findall(r"<li><code>([a-z2-7]{4}-[a-z2-7]{4})</code></li>", codes_page)
    assert len(shown) == 10
    stored = set(
        StaticToken.objects.filter(device__user=pharmacist).values_list("token", flat=True)
    )
    assert {c.replace("-", "") for c in shown} == stored
    assert 'href="/requests/"' in codes_page  # continue where the sign-in was going
    again = client.get(reverse("mfa-recovery-codes")).content.decode()
    assert not re.findall(r"<li><code>", again)  # shown once

    assert client.get("/requests/").status_code == 200
    assert client.session[SESSION_METHOD] == "password+totp"
    assert actions_of(pharmacist)[-3:] == [
        AuditAction.MFA_ENROLLED,
        AuditAction.MFA_VERIFIED,
        AuditAction.MFA_RECOVERY_CODES_GENERATED,
    ]


def test_a_stolen_password_cannot_add_a_factor_to_an_enrolled_account(mfa_on, client, pharmacist):
    device_for(pharmacist)
    sign_in(client, "ph.rossi")
    for name in ("mfa-totp-enrol", "mfa-enrol", "mfa-passkey-register"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("mfa-verify"))
    refused = client.post(reverse("mfa-passkey-register-options"))
    assert refused.status_code == 403
    assert TOTPDevice.objects.filter(user=pharmacist).count() == 1


# --- Verification at sign-in ---------------------------------------------------------------


def test_the_next_sign_in_asks_for_the_code(mfa_on, client, pharmacist):
    device = device_for(pharmacist)
    response = sign_in(client, "ph.rossi")
    assert response.redirect_chain[-1][0].startswith(reverse("mfa-verify"))
    assert client.get("/requests/")["Location"] == f"{reverse('mfa-verify')}?next=%2Frequests%2F"

    wrong = client.post(reverse("mfa-verify"), {"code": "000000", "next": "/requests/"})
    assert wrong.status_code == 200 and "not valid" in wrong.content.decode()
    failure = AuditEvent.objects.filter(action=AuditAction.MFA_FAILED).get()
    assert failure.object_id == str(pharmacist.pk) and "wrong code" in failure.summary
    assert "000000" not in failure.summary  # never the code itself

    device.refresh_from_db()
    device.throttle_reset()  # the back-off after one failure is a second; not what this tests
    ok = client.post(reverse("mfa-verify"), {"code": totp_code(device.key), "next": "/requests/"})
    assert ok.status_code == 302 and ok["Location"] == "/requests/"
    assert client.get("/requests/").status_code == 200
    assert client.get(reverse("api-me")).status_code == 200
    assert client.session[SESSION_METHOD] == "password+totp"
    assert AuditAction.MFA_VERIFIED in actions_of(pharmacist)
    # The same code cannot be used twice.
    client.post(reverse("logout"))
    sign_in(client, "ph.rossi")
    replay = client.post(reverse("mfa-verify"), {"code": totp_code(device.key)})
    assert replay.status_code == 200


def test_a_recovery_code_works_once(mfa_on, client, pharmacist):
    device_for(pharmacist)
    _, codes = recovery_codes_generate(user=pharmacist)
    sign_in(client, "ph.rossi")
    typed = f"{codes[3][:4].upper()}-{codes[3][4:].upper()}"  # as printed, in capitals
    ok = client.post(reverse("mfa-verify"), {"code": typed}, follow=True)
    assert ok.redirect_chain[-1][0] == "/"
    assert "9 left" in ok.content.decode()
    assert client.session[SESSION_METHOD] == "password+recovery"
    used = AuditEvent.objects.get(action=AuditAction.MFA_RECOVERY_CODE_USED)
    assert used.after == {"codes_left": 9}

    client.post(reverse("logout"))
    sign_in(client, "ph.rossi")
    again = client.post(reverse("mfa-verify"), {"code": codes[3]})
    assert again.status_code == 200 and "not valid" in again.content.decode()
    assert client.get("/")["Location"].startswith(reverse("mfa-verify"))


def test_repeated_wrong_codes_are_throttled(mfa_on, client, pharmacist):
    device = device_for(pharmacist)
    sign_in(client, "ph.rossi")
    for _ in range(3):
        client.post(reverse("mfa-verify"), {"code": "123456"})
    device.refresh_from_db()
    assert device.throttling_failure_count >= 1
    refused = client.post(reverse("mfa-verify"), {"code": totp_code(device.key)})
    assert refused.status_code == 200
    assert "Too many wrong codes" in refused.content.decode()
    assert client.get("/")["Location"].startswith(reverse("mfa-verify"))
    assert AuditEvent.objects.filter(action=AuditAction.MFA_FAILED, summary__contains="throttled")
    # The back-off ends: after the wait the right code is accepted.
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_timestamp=timezone.now() - timedelta(hours=2)
    )
    ok = client.post(reverse("mfa-verify"), {"code": totp_code(device.key)})
    assert ok.status_code == 302


def test_the_providers_second_factor_is_accepted_instead(mfa_on, client, pharmacist):
    sign_in(client, "ph.rossi")
    assert client.get("/").status_code == 302
    session = client.session
    session[SESSION_PROVIDER_MFA] = {"amr": ["pwd", "otp"], "acr": "urn:invented:mfa"}
    session.save()
    assert client.get("/").status_code == 200
    assert client.get(reverse("api-me")).status_code == 200


# --- Recovery codes, removal ---------------------------------------------------------------


def test_regenerating_asks_first_and_the_old_codes_stop_working(mfa_on, client, pharmacist):
    device = device_for(pharmacist)
    _, old_codes = recovery_codes_generate(user=pharmacist)
    client.force_login(pharmacist)
    session = client.session
    session[SESSION_PROVIDER_MFA] = {"amr": ["otp"]}
    session.save()
    confirm = client.get(reverse("mfa-recovery-regenerate"))
    assert "10 unused recovery codes will stop working" in confirm.content.decode()
    assert StaticToken.objects.filter(device__user=pharmacist).count() == 10
    assert set(StaticToken.objects.values_list("token", flat=True)) == set(old_codes)

    page = client.post(reverse("mfa-recovery-regenerate"), follow=True).content.decode()
    new_codes = {c.replace("-", "") for c in re.findall(r"<code>([a-z2-7-]{9})</code>", page)}
    assert len(new_codes) == 10 and not new_codes & set(old_codes)
    assert StaticDevice.objects.filter(user=pharmacist).count() == 1
    assert second_factor_check(pharmacist, sorted(new_codes)[0]) == "recovery"
    assert second_factor_check(pharmacist, totp_code(device.key)) == "totp"
    assert second_factor_check(pharmacist, old_codes[0]) is None
    assert second_factor_check(pharmacist, "") is None
    assert AuditEvent.objects.filter(action=AuditAction.MFA_RECOVERY_CODES_GENERATED).count() == 2


def test_the_last_factor_of_someone_who_must_cannot_be_removed(mfa_on, client, pharmacist):
    phone = device_for(pharmacist)
    client.force_login(pharmacist)
    session = client.session
    session[SESSION_PROVIDER_MFA] = {"amr": ["otp"]}
    session.save()
    url = reverse("mfa-device-remove", args=["totp", phone.pk])
    assert "add another" in client.get(url).content.decode()
    client.post(url)
    assert TOTPDevice.objects.filter(pk=phone.pk).exists()

    tablet = TOTPDevice.objects.create(user=pharmacist, name="Tablet", confirmed=True)
    confirm = client.get(reverse("mfa-device-remove", args=["totp", tablet.pk]))
    assert "Remove “Tablet”?" in confirm.content.decode()
    assert TOTPDevice.objects.filter(pk=tablet.pk).exists()  # a GET removes nothing
    client.post(reverse("mfa-device-remove", args=["totp", tablet.pk]))
    assert not TOTPDevice.objects.filter(pk=tablet.pk).exists()
    removed = AuditEvent.objects.get(action=AuditAction.MFA_REMOVED)
    assert removed.object_type == "otp_totp.totpdevice" and removed.object_id == str(tablet.pk)


def test_nobody_removes_anothers_device(mfa_on, client, pharmacist, physician):
    phone = device_for(pharmacist)
    device_for(pharmacist)
    client.force_login(physician)
    assert client.post(reverse("mfa-device-remove", args=["totp", phone.pk])).status_code == 404
    assert TOTPDevice.objects.filter(pk=phone.pk).exists()


# --- API tokens ----------------------------------------------------------------------------


def test_the_token_endpoint_asks_for_a_code_from_who_must(mfa_on, api_client, pharmacist):
    device = device_for(pharmacist)
    url = reverse("api-token")
    credentials = {"username": "ph.rossi", "password": TEST_PASSWORD}
    missing = api_client.post(url, credentials, format="json")
    assert missing.status_code == 400 and "second factor" in missing.json()["otp"][0]

    wrong = api_client.post(url, {**credentials, "otp": "000000"}, format="json")
    assert wrong.status_code == 400 and "not valid" in wrong.json()["otp"][0]
    assert AuditEvent.objects.filter(action=AuditAction.MFA_FAILED, summary__contains="api token")

    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0)
    ok = api_client.post(url, {**credentials, "otp": totp_code(device.key)}, format="json")
    assert ok.status_code == 200 and ok.json()["token"]
    me = api_client.get(reverse("api-me"), headers={"Authorization": f"Token {ok.json()['token']}"})
    assert me.status_code == 200


def test_the_token_endpoint_asks_no_code_from_who_need_not(mfa_on, api_client, physician):
    ok = api_client.post(
        reverse("api-token"), {"username": "dr.house", "password": TEST_PASSWORD}, format="json"
    )
    assert ok.status_code == 200


def test_a_hospital_requiring_physicians_asks_them_at_sign_in(mfa_on, client, db):
    strict = HospitalFactory.create(code="inv-strict", mfa_required_roles=["physician"])
    UserFactory.create(username="dr.strict", hospital=strict, role=Role.PHYSICIAN)
    response = sign_in(client, "dr.strict")
    assert response.redirect_chain[-1][0].startswith(reverse("mfa-enrol"))


# --- Passkeys without a browser: what the server refuses ------------------------------------


def test_passkeys_are_refused_at_an_address_that_is_not_the_sites_domain(mfa_on, client, physician):
    mfa_on.WEBAUTHN_RP_ID = "localhost"
    mfa_on.WEBAUTHN_ORIGINS = []
    client.force_login(physician)
    at_address = client.post(reverse("mfa-passkey-register-options"), HTTP_HOST="127.0.0.1")
    assert at_address.status_code == 400 and "localhost" in at_address.json()["detail"]
    at_domain = client.post(reverse("mfa-passkey-register-options"), HTTP_HOST="localhost:8000")
    options = at_domain.json()
    assert options["rp"] == {"id": "localhost", "name": "offlabel"}
    assert options["authenticatorSelection"]["userVerification"] == "required"


def test_a_forged_passkey_answer_is_refused_and_audited(mfa_on, client, physician):
    from accounts.models import PasskeyCredential

    mfa_on.WEBAUTHN_ORIGINS = ["http://localhost:8000"]
    passkey = PasskeyCredential.objects.create(
        user=physician, name="Laptop", credential_id=b"invented-id", public_key=b"\xa0"
    )
    client.force_login(physician)
    client.post(reverse("passkey-authenticate-options"), HTTP_HOST="localhost:8000")
    forged = {
        "id": "aW52ZW50ZWQtaWQ",
        "rawId": "aW52ZW50ZWQtaWQ",  # base64url of the stored id
        "type": "public-key",
        "response": {"clientDataJSON": "e30", "authenticatorData": "AA", "signature": "AA"},
    }
    refused = client.post(
        reverse("passkey-authenticate-verify"),
        {"credential": forged, "next": "/"},
        content_type="application/json",
        HTTP_HOST="localhost:8000",
    )
    assert refused.status_code == 400 and "not accepted" in refused.json()["detail"]
    failure = AuditEvent.objects.get(action=AuditAction.MFA_FAILED)
    assert "passkey" in failure.summary
    passkey.refresh_from_db()
    assert passkey.last_used_at is None
    # The challenge was spent: replaying the answer finds none.
    again = client.post(
        reverse("passkey-authenticate-verify"),
        {"credential": forged},
        content_type="application/json",
        HTTP_HOST="localhost:8000",
    )
    assert "expired" in again.json()["detail"]
