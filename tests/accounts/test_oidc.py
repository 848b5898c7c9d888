"""Single sign-on through a real OpenID Connect provider (tests/peers/oidc): the Django test
client is the browser on our side, a ``requests.Session`` its cookie jar at the provider, and
the backend talks to the provider's token, userinfo and JWKS endpoints over real HTTP."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import requests
from django.contrib.auth.hashers import is_password_usable
from django.urls import reverse

from accounts.models import User
from accounts.oidc import SESSION_ID_TOKEN, SESSION_MFA_VIA_PROVIDER
from accounts.reauth import SESSION_AT, SESSION_METHOD
from audit.actions import AuditAction
from audit.models import AuditEvent
from tests.factories import TEST_PASSWORD, UserFactory
from tests.peers.oidc import PROVIDER_NAME

# The provider process and the settings that point at it (tests/peers/oidc.py).

PROVIDER_PASSWORD = "Provider-Password-2468"


@pytest.fixture
def at_provider():
    """The browser's cookie jar at the provider (its session lives there)."""
    with requests.Session() as session:
        yield session


def _sign_in(client, provider, at_provider, login, next_url="/", password=PROVIDER_PASSWORD):
    """Our sign-in button, the provider's form, and back to our callback."""
    start = client.get(reverse("oidc_authentication_init"), {"next": next_url})
    assert start.status_code == 302 and start["Location"].startswith(provider.url)
    return _come_back(client, provider.sign_in(at_provider, start["Location"], login, password))


def _come_back(client, callback_url):
    parts = urlsplit(callback_url)
    assert (parts.netloc, parts.path) == ("testserver", reverse("oidc_authentication_callback"))
    return client.get(f"{parts.path}?{parts.query}")


def _messages(client):
    return client.get(reverse("login")).content.decode()


def _failures():
    return list(
        AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED).values_list("summary", flat=True)
    )


def test_a_known_user_signs_in_through_the_provider_and_lands_on_home(
    client, oidc_settings, at_provider, physician
):
    oidc_settings.account_put(
        physician.username, password=PROVIDER_PASSWORD, hospital="inv-gen", roles=["physician"]
    )
    start = client.get(reverse("oidc_authentication_init"), {"next": "/"})
    query = parse_qs(urlsplit(start["Location"]).query)
    # Authorization code with PKCE, and the scope that carries the hospital and the roles.
    assert query["response_type"] == ["code"] and query["code_challenge_method"] == ["S256"]
    assert "offlabel" in query["scope"][0].split()
    before = datetime.now(tz=UTC).replace(microsecond=0)
    back = _come_back(
        client,
        oidc_settings.sign_in(
            at_provider, start["Location"], physician.username, PROVIDER_PASSWORD
        ),
    )

    assert back.status_code == 302 and back["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200 and home.context["user"] == physician
    session = client.session
    assert session[SESSION_METHOD] == "oidc"
    assert SESSION_MFA_VIA_PROVIDER not in session
    assert session[SESSION_ID_TOKEN].count(".") == 2  # kept for the provider's sign-out
    # The authentication counts from the provider's auth_time: the password typed just now.
    assert before <= datetime.fromisoformat(session[SESSION_AT]) <= datetime.now(tz=UTC)
    signed_in = AuditEvent.objects.get(action=AuditAction.LOGGED_IN)
    assert signed_in.actor == physician and signed_in.hospital == physician.hospital
    # Same roles as the claims: nothing to change, nothing audited.
    assert not AuditEvent.objects.filter(action=AuditAction.USER_ROLES_SET_BY_PROVIDER).exists()


def test_the_login_page_offers_the_provider_only_when_single_sign_on_is_on(client, db, settings):
    assert b"Sign in with" not in client.get(reverse("login")).content
    assert client.get(reverse("oidc_authentication_init")).status_code == 404
    settings.OFFLABEL_OIDC_ENABLED = True
    settings.OFFLABEL_OIDC_PROVIDER_NAME = "Ospedale ID"
    page = client.get(reverse("login"), {"next": "/requests/"}).content.decode()
    assert "Sign in with Ospedale ID" in page
    assert f'href="{reverse("oidc_authentication_init")}?next=/requests/"' in page


def test_roles_follow_the_claims_at_every_sign_in_and_each_change_is_audited(
    client, oidc_settings, at_provider, physician
):
    oidc_settings.account_put(
        physician.username,
        password=PROVIDER_PASSWORD,
        hospital="inv-gen",
        roles=["physician", "pharmacist"],
    )
    assert _sign_in(client, oidc_settings, at_provider, physician.username).status_code == 302
    physician = User.objects.get(pk=physician.pk)
    assert physician.role_set == {"physician", "pharmacist"}
    added = AuditEvent.objects.get(action=AuditAction.USER_ROLES_SET_BY_PROVIDER)
    assert "+pharmacist" in added.summary and added.object_id == str(physician.pk)
    assert added.before == {"roles": ["physician"]}
    assert added.after == {"roles": ["pharmacist", "physician"]}

    # The directory changes; at the next sign-in (silent: the provider's session is open) the
    # role it no longer gives is taken away.
    oidc_settings.account_put(
        physician.username, password=PROVIDER_PASSWORD, hospital="inv-gen", roles="pharmacist"
    )
    client.post(reverse("logout"))  # ours only: the provider is not asked to end its session
    back = _sign_in(client, oidc_settings, at_provider, physician.username)
    assert back.status_code == 302 and back["Location"] == "/"
    assert User.objects.get(pk=physician.pk).role_set == {"pharmacist"}
    removed = AuditEvent.objects.filter(action=AuditAction.USER_ROLES_SET_BY_PROVIDER).latest(
        "sequence"
    )
    assert "-physician" in removed.summary
    assert removed.after == {"roles": ["pharmacist"]}


def test_an_unknown_person_is_refused_unless_their_hospital_creates_users(
    client, oidc_settings, at_provider, hospital
):
    oidc_settings.account_put(
        "new.nurse", password=PROVIDER_PASSWORD, hospital="inv-gen", roles=["physician"]
    )
    refused = _sign_in(client, oidc_settings, at_provider, "new.nurse")
    assert refused.status_code == 302 and refused["Location"] == reverse("login")
    assert "You have no offlabel account yet" in _messages(client)
    assert not User.objects.filter(username="new.nurse").exists()
    assert "_auth_user_id" not in client.session
    (failure,) = _failures()
    assert "'new.nurse'" in failure and "does not create users" in failure

    hospital.oidc_create_users = True
    hospital.save()
    created = _sign_in(client, oidc_settings, at_provider, "new.nurse")
    assert created.status_code == 302 and created["Location"] == "/"
    user = User.objects.get(username="new.nurse")
    assert user.hospital == hospital and user.role_set == {"physician"}
    assert user.email == "new.nurse@invented.example"
    assert not is_password_usable(user.password)  # the provider's sign-in only
    event = AuditEvent.objects.get(action=AuditAction.USER_CREATED_AT_PROVIDER_SIGN_IN)
    assert event.object_id == str(user.pk) and event.after["roles"] == ["physician"]
    assert client.get("/").context["user"] == user


def test_a_hospital_the_claims_name_must_exist_here_and_may_be_mapped(
    client, oidc_settings, at_provider, physician, settings
):
    oidc_settings.account_put(
        physician.username, password=PROVIDER_PASSWORD, hospital="IGH-01", roles=["physician"]
    )
    refused = _sign_in(client, oidc_settings, at_provider, physician.username)
    assert refused["Location"] == reverse("login")
    assert "which offlabel does not know" in _messages(client)
    assert "unknown hospital 'IGH-01'" in _failures()[0]

    settings.OFFLABEL_OIDC_HOSPITAL_MAP = {"IGH-01": "inv-gen"}
    assert _sign_in(client, oidc_settings, at_provider, physician.username)["Location"] == "/"


def test_a_known_user_whose_claims_name_another_hospital_is_refused(
    client, oidc_settings, at_provider, physician, other_hospital
):
    oidc_settings.account_put(
        physician.username, password=PROVIDER_PASSWORD, hospital="inv-other", roles=["physician"]
    )
    refused = _sign_in(client, oidc_settings, at_provider, physician.username)
    assert refused["Location"] == reverse("login")
    assert "another hospital than your account" in _messages(client)
    assert "claims name inv-other, the user belongs to inv-gen" in _failures()[0]


def test_a_role_we_do_not_have_is_refused_and_a_value_mapped_to_null_is_ignored(
    client, oidc_settings, at_provider, physician, settings
):
    oidc_settings.account_put(
        physician.username,
        password=PROVIDER_PASSWORD,
        hospital="inv-gen",
        roles=["physician", "space-pilot"],
    )
    refused = _sign_in(client, oidc_settings, at_provider, physician.username)
    assert refused["Location"] == reverse("login")
    assert "space-pilot" in _messages(client)
    assert "unknown role value(s) ['space-pilot']" in _failures()[0]
    assert User.objects.get(pk=physician.pk).role_set == {"physician"}  # unchanged

    # The provider's own group names, mapped: ours, or null for one that does not concern us.
    settings.OFFLABEL_OIDC_ROLE_MAP = {"MED": "physician", "space-pilot": None}
    oidc_settings.account_put(
        physician.username,
        password=PROVIDER_PASSWORD,
        hospital="inv-gen",
        roles=["MED", "space-pilot"],
    )
    assert _sign_in(client, oidc_settings, at_provider, physician.username)["Location"] == "/"
    assert User.objects.get(pk=physician.pk).role_set == {"physician"}


def test_a_rules_steward_role_cannot_come_from_a_hospital_provider(
    client, oidc_settings, at_provider, physician
):
    oidc_settings.account_put(
        physician.username, password=PROVIDER_PASSWORD, hospital="inv-gen", roles=["rule_steward"]
    )
    assert _sign_in(client, oidc_settings, at_provider, physician.username)["Location"] == reverse(
        "login"
    )
    assert "rule_steward" in _failures()[0]


@pytest.mark.parametrize(
    ("amr", "acr", "method"),
    [
        (["pwd", "mfa"], "", "oidc+mfa"),
        (["pwd", "otp"], "", "oidc+mfa"),
        (["pwd"], "urn:invented:loa:substantial", "oidc+mfa"),
        (["pwd"], "urn:invented:loa:low", "oidc"),
        (["pwd"], "", "oidc"),
    ],
)
def test_a_second_factor_the_provider_asserts_stands_for_ours(
    client, oidc_settings, at_provider, pharmacist, settings, amr, acr, method
):
    settings.OFFLABEL_OIDC_MFA_ACR = ["urn:invented:loa:substantial"]
    oidc_settings.account_put(
        pharmacist.username,
        password=PROVIDER_PASSWORD,
        hospital="inv-gen",
        roles=["pharmacist"],
        amr=amr,
        acr=acr,
    )
    assert _sign_in(client, oidc_settings, at_provider, pharmacist.username)["Location"] == "/"
    session = client.session
    assert session[SESSION_METHOD] == method
    assert session["offlabel_oidc_amr"] == amr and session["offlabel_oidc_acr"] == acr
    if method == "oidc+mfa":
        assert session[SESSION_MFA_VIA_PROVIDER] == {"amr": amr, "acr": acr}
    else:
        assert SESSION_MFA_VIA_PROVIDER not in session


def test_a_hospital_without_local_passwords_refuses_them_on_the_page_and_the_api(
    client, api_client, oidc_settings, at_provider, physician, other_hospital
):
    physician.hospital.local_password_login = False
    physician.hospital.save()
    elsewhere = UserFactory.create(username="dr.moreau", hospital=other_hospital, role="physician")

    page = client.post(
        reverse("login"), {"username": physician.username, "password": TEST_PASSWORD}
    )
    assert page.status_code == 200 and "_auth_user_id" not in client.session
    text = page.content.decode()
    assert "Invented General Hospital does not use passwords kept by offlabel" in text
    assert f"Sign in with {PROVIDER_NAME}" in text
    (refusal,) = AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED)
    assert "allows only its provider's sign-in" in refusal.summary
    assert refusal.object_id == str(physician.pk) and refusal.hospital == physician.hospital

    # A wrong password says nothing about how the hospital signs in.
    wrong = client.post(reverse("login"), {"username": physician.username, "password": "nope"})
    assert "didn't match" in wrong.content.decode()
    assert "does not use passwords" not in wrong.content.decode()

    token = api_client.post(
        reverse("api-token"), {"username": physician.username, "password": TEST_PASSWORD}
    )
    assert token.status_code == 400
    assert "does not use passwords kept by offlabel" in str(token.json())
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED).count() == 3

    # The other hospital keeps its passwords, on both.
    other = client.post(
        reverse("login"), {"username": elsewhere.username, "password": TEST_PASSWORD}
    )
    assert other.status_code == 302
    other_token = api_client.post(
        reverse("api-token"), {"username": elsewhere.username, "password": TEST_PASSWORD}
    )
    assert other_token.status_code == 200
    client.post(reverse("logout"))

    # The provider's sign-in still works for the first hospital, and its session holds.
    oidc_settings.account_put(
        physician.username, password=PROVIDER_PASSWORD, hospital="inv-gen", roles=["physician"]
    )
    assert _sign_in(client, oidc_settings, at_provider, physician.username)["Location"] == "/"
    assert client.get("/").context["user"] == physician


def test_signing_out_ends_the_provider_session_too(client, oidc_settings, at_provider, physician):
    oidc_settings.account_put(
        physician.username, password=PROVIDER_PASSWORD, hospital="inv-gen", roles=["physician"]
    )
    _sign_in(client, oidc_settings, at_provider, physician.username)
    id_token = client.session[SESSION_ID_TOKEN]

    # While the provider's session is open, signing in again asks nothing.
    start = client.get(reverse("oidc_authentication_init"))
    silent = oidc_settings._follow(
        at_provider, at_provider.get(start["Location"], allow_redirects=False)
    )
    assert silent.is_redirect and "code=" in silent.headers["Location"]

    out = client.post(reverse("logout"))
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action=AuditAction.LOGGED_OUT, actor=physician).exists()
    end_session = urlsplit(out["Location"])
    assert out["Location"].startswith(f"{oidc_settings.url}/session/end")
    params = parse_qs(end_session.query)
    assert params["id_token_hint"] == [id_token]
    assert params["post_logout_redirect_uri"] == ["http://testserver/accounts/login/"]
    confirmed = oidc_settings.logout_confirm(at_provider, out["Location"])
    assert confirmed.is_redirect
    assert confirmed.headers["Location"].startswith("http://testserver/accounts/login/")

    # Now the provider asks for the password again.
    again = client.get(reverse("oidc_authentication_init"))
    form = oidc_settings._follow(
        at_provider, at_provider.get(again["Location"], allow_redirects=False)
    )
    assert form.status_code == 200
    oidc_settings.login_form_action(form.text)


def test_a_password_sign_out_does_not_send_the_browser_to_the_provider(
    client, oidc_settings, physician
):
    for sign_out in ("logout", "oidc_logout"):  # ours, and the library's own route
        client.post(reverse("login"), {"username": physician.username, "password": TEST_PASSWORD})
        out = client.post(reverse(sign_out))
        assert out.status_code == 302 and out["Location"] == reverse("login")
        assert "_auth_user_id" not in client.session


def test_an_answer_from_the_provider_is_used_once(client, oidc_settings, at_provider, physician):
    oidc_settings.account_put(
        physician.username, password=PROVIDER_PASSWORD, hospital="inv-gen", roles=["physician"]
    )
    start = client.get(reverse("oidc_authentication_init"))
    callback = oidc_settings.sign_in(
        at_provider, start["Location"], physician.username, PROVIDER_PASSWORD
    )
    assert _come_back(client, callback)["Location"] == "/"
    client.post(reverse("logout"))
    replay = _come_back(client, callback)
    assert replay["Location"] == reverse("login") and "_auth_user_id" not in client.session
    assert "unknown or reused state" in _failures()[0]


def _without(url, *names):
    parts = urlsplit(url)
    query = {k: v for k, v in parse_qs(parts.query).items() if k not in names}
    return urlunsplit(parts._replace(query=urlencode(query, doseq=True)))


def test_reauthentication_makes_the_provider_ask_again_and_counts_from_then(
    client, oidc_settings, at_provider, physician
):
    oidc_settings.account_put(
        physician.username, password=PROVIDER_PASSWORD, hospital="inv-gen", roles=["physician"]
    )
    _sign_in(client, oidc_settings, at_provider, physician.username)
    session = client.session
    session[SESSION_AT] = (datetime.now(tz=UTC) - timedelta(hours=1)).isoformat()
    session.save()

    start = client.get(reverse("oidc-reauth"), {"next": "/requests/"})
    query = parse_qs(urlsplit(start["Location"]).query)
    assert query["prompt"] == ["login"] and query["max_age"] == ["0"]
    # The provider's session is open, yet it shows its form: prompt=login.
    callback = oidc_settings.sign_in(
        at_provider, start["Location"], physician.username, PROVIDER_PASSWORD
    )
    back = _come_back(client, callback)
    assert back.status_code == 302 and back["Location"] == "/requests/"
    at = datetime.fromisoformat(client.session[SESSION_AT])
    assert datetime.now(tz=UTC) - at < timedelta(seconds=30)
    assert client.session[SESSION_METHOD] == "oidc"
    event = AuditEvent.objects.get(action=AuditAction.REAUTHENTICATED_WITH_PROVIDER)
    assert event.actor == physician


def test_reauthentication_with_a_stale_auth_time_is_refused(
    client, oidc_settings, at_provider, physician, settings
):
    settings.OFFLABEL_OIDC_CLOCK_SKEW_SECONDS = 0
    oidc_settings.account_put(
        physician.username, password=PROVIDER_PASSWORD, hospital="inv-gen", roles=["physician"]
    )
    _sign_in(client, oidc_settings, at_provider, physician.username)
    signed_in_at = client.session[SESSION_AT]
    time.sleep(1.2)  # auth_time has whole seconds

    start = client.get(reverse("oidc-reauth"), {"next": "/requests/"})
    # A provider that ignores prompt and max_age answers from its open session, with the
    # auth_time of the first sign-in.
    ignoring = _without(start["Location"], "prompt", "max_age")
    callback = oidc_settings.sign_in(at_provider, ignoring, physician.username, PROVIDER_PASSWORD)
    back = _come_back(client, callback)
    assert back["Location"] == "/requests/"
    assert client.session["_auth_user_id"] == str(physician.pk)  # still signed in
    assert client.session[SESSION_AT] == signed_in_at  # but not re-authenticated
    assert "did not ask for your password again" in _messages(client)
    assert "re-authentication with auth_time" in _failures()[0]
    assert not AuditEvent.objects.filter(action=AuditAction.REAUTHENTICATED_WITH_PROVIDER).exists()


def test_reauthenticating_as_someone_else_signs_the_session_out(
    client, oidc_settings, at_provider, physician, pharmacist
):
    for user, role in ((physician, "physician"), (pharmacist, "pharmacist")):
        oidc_settings.account_put(
            user.username, password=PROVIDER_PASSWORD, hospital="inv-gen", roles=[role]
        )
    _sign_in(client, oidc_settings, at_provider, physician.username)
    start = client.get(reverse("oidc-reauth"), {"next": "/requests/"})
    callback = oidc_settings.sign_in(
        at_provider, start["Location"], pharmacist.username, PROVIDER_PASSWORD
    )
    back = _come_back(client, callback)
    assert back["Location"] == reverse("login")
    assert "_auth_user_id" not in client.session
    assert "re-authentication returned 'ph.rossi'" in _failures()[0]


def test_reauthentication_needs_a_signed_in_user(client, db, oidc_settings):
    response = client.get(reverse("oidc-reauth"), {"next": "/requests/"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(("amr", "home_status"), [(["pwd", "hwk"], 200), (["pwd"], 302)])
def test_the_provider_second_factor_is_accepted_where_one_is_required(
    client, oidc_settings, at_provider, pharmacist, settings, amr, home_status
):
    settings.MFA_REQUIRED_ROLES = ["pharmacist"]
    oidc_settings.account_put(
        pharmacist.username,
        password=PROVIDER_PASSWORD,
        hospital="inv-gen",
        roles=["pharmacist"],
        amr=amr,
    )
    assert _sign_in(client, oidc_settings, at_provider, pharmacist.username)["Location"] == "/"
    # With the provider's factor the home page opens; without, ours is asked for first.
    assert client.get("/").status_code == home_status


def test_a_provider_account_cannot_open_a_system_administrators_account(
    client, oidc_settings, at_provider, hospital
):
    """A provider user whose username is a superuser's (or staff's) here is refused: the
    provider vouches for hospital staff, not for offlabel's administrators."""
    from tests.factories import UserFactory

    admin = UserFactory.create(username="sys.admin", hospital=hospital, is_superuser=True)
    oidc_settings.account_put(
        admin.username, password=PROVIDER_PASSWORD, hospital="inv-gen", roles=["physician"]
    )
    refused = _sign_in(client, oidc_settings, at_provider, admin.username)
    assert refused["Location"] == reverse("login")
    assert "signs in with its password" in _messages(client)
    assert "system administrator" in _failures()[0]
    assert not User.objects.get(pk=admin.pk).groups.exists()  # no role given by the provider
