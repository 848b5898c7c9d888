"""Issue 14, sessions, tokens and headers: each test reproduces the attack it closes, on
PostgreSQL, through the pages and the API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone
from knox.models import AuthToken

from audit.models import AuditEvent
from tests.factories import TEST_PASSWORD
from tests.followup.conftest import treated  # noqa: F401 - fixture
from tests.prescriptions.conftest import draft, patient  # noqa: F401 - fixtures

POLL = {"HTTP_HX_REQUEST": "true", "HTTP_X_OFFLABEL_POLL": "1"}


def _token(api_client: Any, username: str, password: str = TEST_PASSWORD) -> dict[str, Any]:
    response = api_client.post(reverse("api-token"), {"username": username, "password": password})
    assert response.status_code == 200, response.content
    return response.json()


def _me(api_client: Any, token: str) -> int:
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    try:
        return api_client.get(reverse("api-me")).status_code
    finally:
        api_client.credentials()


# --- API tokens ------------------------------------------------------------------------------


def test_an_api_token_is_stored_only_as_a_hash(api_client, physician):
    token = _token(api_client, physician.username)["token"]
    stored = AuthToken.objects.get(user=physician)
    assert token not in stored.digest and stored.digest != token
    assert len(stored.token_key) < len(token)  # a lookup prefix, not the token
    assert not AuditEvent.objects.filter(summary__contains=token).exists()
    with connection.cursor() as cursor:
        assert "authtoken_token" not in connection.introspection.table_names(cursor)
    assert "rest_framework.authtoken" not in settings.INSTALLED_APPS


def test_an_api_token_expires_after_the_configured_hours_and_use_does_not_extend_it(
    api_client, physician
):
    assert settings.API_TOKEN_TTL_HOURS == 8
    issued = _token(api_client, physician.username)
    stored = AuthToken.objects.get(user=physician)
    assert stored.expiry is not None
    assert abs(stored.expiry - (timezone.now() + timedelta(hours=8))) < timedelta(minutes=1)
    assert issued["expiry"]
    with time_machine.travel(timezone.now() + timedelta(hours=7, minutes=50)):
        assert _me(api_client, issued["token"]) == 200
    stored.refresh_from_db()
    assert abs(stored.expiry - (timezone.now() + timedelta(hours=8))) < timedelta(minutes=1)
    with time_machine.travel(timezone.now() + timedelta(hours=8, minutes=1)):
        assert _me(api_client, issued["token"]) in (401, 403)


def test_signing_out_of_the_pages_revokes_the_api_tokens(client, api_client, physician):
    token = _token(api_client, physician.username)["token"]
    assert _me(api_client, token) == 200
    client.post(reverse("login"), {"username": physician.username, "password": TEST_PASSWORD})
    client.post(reverse("logout"))
    assert _me(api_client, token) in (401, 403)
    assert not AuthToken.objects.filter(user=physician).exists()
    assert AuditEvent.objects.filter(action="api_token.revoked", actor=physician).exists()


def test_signing_out_of_the_api_revokes_every_token_of_the_user(api_client, physician):
    first = _token(api_client, physician.username)["token"]
    second = _token(api_client, physician.username)["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {first}")
    assert api_client.post(reverse("api-logout")).status_code == 204
    api_client.credentials()
    assert _me(api_client, first) in (401, 403) and _me(api_client, second) in (401, 403)


def test_a_password_change_revokes_the_api_tokens(client, api_client, physician):
    token = _token(api_client, physician.username)["token"]
    client.post(reverse("login"), {"username": physician.username, "password": TEST_PASSWORD})
    changed = client.post(
        reverse("password_change"),
        {
            "old_password": TEST_PASSWORD,
            "new_password1": "An0ther-Long-Secret",
            "new_password2": "An0ther-Long-Secret",
        },
    )
    assert changed.status_code == 302
    assert _me(api_client, token) in (401, 403)
    # A token issued with the new password works.
    fresh = _token(api_client, physician.username, "An0ther-Long-Secret")["token"]
    assert _me(api_client, fresh) == 200
    assert client.get(reverse("home")).status_code == 200  # the page session carries on


# --- Idle sessions and polling ---------------------------------------------------------------


def test_polling_does_not_keep_an_idle_session_alive(client, physician, draft):  # noqa: F811
    """A request page left open polls its consent panel every 2 s; the session must still end
    after the idle time."""
    client.post(reverse("login"), {"username": physician.username, "password": TEST_PASSWORD})
    panel = reverse("consent:panel", args=[draft.pk])
    assert client.get(reverse("requests:detail", args=[draft.pk])).status_code == 200
    session = Session.objects.get(session_key=client.session.session_key)
    idle = timedelta(seconds=settings.SESSION_COOKIE_AGE)
    start = timezone.now()
    with time_machine.travel(start + idle - timedelta(minutes=2)):
        assert client.get(panel, **POLL).status_code == 200
    with time_machine.travel(start + idle - timedelta(minutes=1)):
        assert client.get(panel, **POLL).status_code == 200
    expires = Session.objects.get(pk=session.pk).expire_date
    assert expires == session.expire_date, "a poll moved the expiry on"
    with time_machine.travel(start + idle + timedelta(minutes=1)):
        gone = client.get(reverse("requests:detail", args=[draft.pk]))
        assert gone.status_code == 302 and reverse("login") in gone["Location"]


def test_a_person_s_own_request_still_extends_the_session(client, physician, settings):
    settings.OFFLABEL_SESSION_RENEW_SECONDS = 60  # production's default (tests/conftest.py)
    client.post(reverse("login"), {"username": physician.username, "password": TEST_PASSWORD})
    idle = timedelta(seconds=settings.SESSION_COOKIE_AGE)
    start = timezone.now()
    with time_machine.travel(start + idle - timedelta(minutes=1)):
        # htmx, but not a poll (a filter typed in): it counts as activity.
        assert client.get(reverse("requests:dashboard"), HTTP_HX_REQUEST="true").status_code == 200
    with time_machine.travel(start + idle + timedelta(minutes=1)):
        assert client.get(reverse("requests:dashboard")).status_code == 200


def test_a_page_view_renews_the_idle_expiry_at_most_once_a_minute(client, physician, settings):
    """Issue 17: the expiry slides with a person's requests, but the session row is written
    for that at most once per OFFLABEL_SESSION_RENEW_SECONDS, not on every page."""
    from django.test.utils import CaptureQueriesContext

    from offlabel.middleware import SESSION_RENEWED_AT

    settings.OFFLABEL_SESSION_RENEW_SECONDS = 60  # production's default (tests/conftest.py)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        client.post(reverse("login"), {"username": physician.username, "password": TEST_PASSWORD})
        key = client.session.session_key
        first = Session.objects.get(pk=key).expire_date  # the sign-in wrote it
        assert client.get(reverse("requests:dashboard")).status_code == 200
    assert Session.objects.get(pk=key).expire_date == first
    with (
        time_machine.travel(start + timedelta(seconds=59), tick=False),
        CaptureQueriesContext(connection) as queries,
    ):
        assert client.get(reverse("requests:dashboard")).status_code == 200
    assert not [q for q in queries if '"django_session"' in q["sql"] and "UPDATE" in q["sql"]]
    assert Session.objects.get(pk=key).expire_date == first
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        assert client.get(reverse("requests:dashboard")).status_code == 200
    renewed = Session.objects.get(pk=key)
    assert renewed.expire_date == first + timedelta(seconds=61)
    assert renewed.get_decoded()[SESSION_RENEWED_AT] == int(
        (start + timedelta(seconds=61)).timestamp()
    )


def test_an_anonymous_visit_makes_no_session(client, db):
    assert client.get(reverse("login")).status_code == 200
    assert not Session.objects.exists()


def test_every_polling_element_sends_the_poll_marker():
    from pathlib import Path

    templates = Path(settings.BASE_DIR) / "templates"
    polling = [
        path
        for path in templates.rglob("*.html")
        if 'hx-trigger="every' in path.read_text(encoding="utf-8")
    ]
    assert polling, "no polling element found"
    for path in polling:
        assert "X-Offlabel-Poll" in path.read_text(encoding="utf-8"), path


# --- Cache-Control: no-store -----------------------------------------------------------------


def _assert_no_store(response: Any, what: str) -> None:
    assert response.status_code == 200, (what, response.status_code)
    assert "no-store" in response.get("Cache-Control", ""), what
    assert "public" not in response.get("Cache-Control", ""), what
    assert response.get("Pragma") == "no-cache", what


def test_responses_with_patient_data_are_never_stored_by_a_cache(
    client,
    api_client,
    physician,
    pharmacist,
    hospital_admin,
    treated,  # noqa: F811
):
    from consent.services import consent_render, consent_request
    from followup.report import renewal_report_render, renewal_report_request
    from regulatory.dossier import dossier_render, dossier_request
    from reports.selectors import ReportFilters
    from reports.services import report_export_render, report_export_request

    consent = consent_render(consent_request(actor=physician, request=treated, language="en").pk)
    dossier = dossier_render(dossier_request(actor=physician, request=treated).pk)
    report = renewal_report_render(
        renewal_report_request(
            actor=physician, request=treated, conclusion="Partial response (invented)."
        ).pk
    )
    export = report_export_render(
        report_export_request(actor=hospital_admin, filters=ReportFilters()).pk
    )

    client.force_login(physician)
    for what, url in [
        ("identity page", reverse("requests:patient-identity", args=[treated.patient_id])),
        ("request page", reverse("requests:detail", args=[treated.pk])),
        ("consent PDF", reverse("consent:download", args=[consent.pk])),
        ("dossier PDF", reverse("regulatory:dossier-download", args=[dossier.pk])),
    ]:
        _assert_no_store(client.get(url), what)
    client.force_login(pharmacist)
    for what, url in [
        ("renewal report PDF", reverse("followup:report-download", args=[report.pk])),
        ("Law 648 registry export", reverse("followup:export-648")),
    ]:
        _assert_no_store(client.get(url), what)
    client.force_login(hospital_admin)
    for what, url in [
        ("report CSV", reverse("reports:csv")),
        ("report XLSX", reverse("reports:xlsx")),
        ("report PDF", reverse("reports:export-download", args=[export.pk])),
    ]:
        _assert_no_store(client.get(url), what)
    # The API, signed in with a token (DRF puts that user on the request).
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {_token(api_client, 'dr.house')['token']}")
    for what, url in [
        ("identity API", f"/api/v1/patients/{treated.patient_id}/identity/"),
        ("patient API", f"/api/v1/patients/{treated.patient_id}/"),
    ]:
        _assert_no_store(api_client.get(url), what)


def test_the_sign_in_page_is_not_marked_private(client, db):
    response = client.get(reverse("login"))
    assert response.status_code == 200 and "Pragma" not in response


# --- The identity page's back link -----------------------------------------------------------


@pytest.mark.parametrize(
    "back",
    ["//evil.example/", "https://evil.example/", "javascript:alert(1)", "/\\evil.example/"],
)
def test_the_identity_page_back_link_never_leaves_the_site(client, physician, patient, back):  # noqa: F811
    client.force_login(physician)
    page = client.get(reverse("requests:patient-identity", args=[patient.pk]), {"back": back})
    assert page.status_code == 200
    assert page.context["back"] == reverse("requests:dashboard")
    body = page.content.decode()
    assert f'<a href="{reverse("requests:dashboard")}">' in body
    for link in ('href="//', 'href="https://evil', 'href="javascript:', 'href="/\\'):
        assert link not in body, link


def test_the_identity_page_back_link_keeps_a_page_of_the_site(client, physician, patient):  # noqa: F811
    client.force_login(physician)
    back = reverse("requests:queue") + "?q=PT"
    page = client.get(reverse("requests:patient-identity", args=[patient.pk]), {"back": back})
    assert page.context["back"] == back


# --- The client address behind a reverse proxy -----------------------------------------------


def _fail_sign_ins(client: Any, username: str, forwarded_for: str, times: int) -> None:
    for _ in range(times):
        client.post(
            reverse("login"),
            {"username": username, "password": "wrong-password"},
            REMOTE_ADDR="10.0.0.2",  # the proxy
            HTTP_X_FORWARDED_FOR=forwarded_for,
        )


def test_without_trusted_proxies_a_forged_forwarded_for_does_not_move_the_lockout(
    client, physician, settings
):
    """An attacker who rotates X-Forwarded-For must not get a fresh address (and five more
    guesses) each time: with no trusted proxy the header is ignored."""
    settings.TRUSTED_PROXY_COUNT = 0
    for n in range(settings.AXES_FAILURE_LIMIT):
        _fail_sign_ins(client, physician.username, f"203.0.113.{n}", 1)
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"10.0.0.2"}
    locked = client.post(
        reverse("login"),
        {"username": physician.username, "password": TEST_PASSWORD},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="203.0.113.99",
    )
    assert locked.status_code == 429
    addresses = AuditEvent.objects.filter(action="login.locked_out").values_list("ip_address")
    assert set(addresses) == {("10.0.0.2",)}


def test_behind_one_trusted_proxy_the_client_address_is_the_one_it_forwarded(
    client, physician, settings
):
    settings.TRUSTED_PROXY_COUNT = 1
    # The client may prepend anything; only the entry the proxy appended is believed.
    _fail_sign_ins(
        client, physician.username, "198.51.100.1, 203.0.113.7", settings.AXES_FAILURE_LIMIT
    )
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.7"}
    event = AuditEvent.objects.get(action="login.locked_out")
    assert event.ip_address == "203.0.113.7" and "203.0.113.7" in event.summary
    # Another client behind the same proxy is not locked out.
    other = client.post(
        reverse("login"),
        {"username": physician.username, "password": TEST_PASSWORD},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="203.0.113.8",
    )
    assert other.status_code == 302


def test_the_audit_trail_records_the_same_address(client, physician, patient, settings):  # noqa: F811
    settings.TRUSTED_PROXY_COUNT = 1
    client.force_login(physician)
    client.get(
        reverse("requests:patient-identity", args=[patient.pk]),
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="203.0.113.7",
    )
    assert AuditEvent.objects.get(action="patient.identity_read").ip_address == "203.0.113.7"
    settings.TRUSTED_PROXY_COUNT = 0
    client.get(
        reverse("requests:patient-identity", args=[patient.pk]),
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="203.0.113.7",
    )
    latest = AuditEvent.objects.filter(action="patient.identity_read").latest("sequence")
    assert latest.ip_address == "10.0.0.2"


# --- The API schema and docs -----------------------------------------------------------------


def test_the_api_schema_and_docs_need_sign_in(client, api_client, physician):
    assert api_client.get("/api/schema/").status_code in (401, 403)
    docs = client.get("/api/docs/")
    assert docs.status_code == 302 and reverse("login") in docs["Location"]
    client.force_login(physician)
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200
    token = _token(api_client, physician.username)["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api_client.get("/api/schema/").status_code == 200


# --- A dropped database connection -----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_database_connection_dropped_between_requests_is_replaced_not_a_500(physician):
    """PostgreSQL restarted, or a firewall cut an idle connection: the next request on that
    persistent connection (CONN_MAX_AGE) gets a new one (CONN_HEALTH_CHECKS). Through the WSGI
    handler, as gunicorn calls it: Django's test client skips the connection handling."""
    from django.core.wsgi import get_wsgi_application
    from werkzeug.test import Client

    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True
    assert (settings.DATABASES["default"]["CONN_MAX_AGE"] or 0) > 0
    _instance, token = AuthToken.objects.create(user=physician)
    app = Client(get_wsgi_application())
    headers = {"Authorization": f"Token {token}"}
    assert app.get("/api/v1/me/", headers=headers).status_code == 200
    assert connection.connection is not None, "the connection was not kept between requests"
    backend_pid = connection.connection.info.backend_pid
    killer = connections.create_connection("default")
    try:
        with killer.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [backend_pid])
            assert cursor.fetchone() == (True,)
    finally:
        killer.close()
    response = app.get("/api/v1/me/", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert connection.connection.info.backend_pid != backend_pid
