from __future__ import annotations

import os
from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from accounts.models import Hospital, User
from accounts.roles import Role
from tests.factories import HospitalFactory, UserFactory
from tests.peers.tsa import seal_pki_and_tsa  # noqa: F401 - autouse: every PDF is sealed (issue 16)

# The OpenID Connect provider's fixtures (oidc_provider, oidc_settings: a real oidc-provider).
pytest_plugins = ["tests.peers.oidc"]


def _broker_kind() -> str:
    return settings.CELERY_BROKER_URL.split("://", 1)[0]


def pytest_report_header(config: pytest.Config) -> list[str]:
    db = settings.DATABASES["default"]
    where = db.get("HOST") or db["NAME"]
    return [
        f"offlabel database: {db['ENGINE'].rsplit('.', 1)[-1]} ({where})",
        f"offlabel broker: {_broker_kind()} ({settings.CELERY_BROKER_URL.split('@')[-1]})",
    ]


def pytest_sessionstart(session: pytest.Session) -> None:
    """In CI the suite must run on PostgreSQL and Redis: never a silent fall-back to SQLite.
    The interface translations are compiled first (the .mo files are build output)."""
    from django.test.utils import override_settings

    from offlabel.i18n import catalogues_compile

    catalogues_compile()
    # Django's production hasher (PBKDF2, a million iterations) takes about half a second per
    # user, and most tests create several: the tests hash with the fast one Django's testing
    # documentation recommends. tests/test_settings.py checks that production keeps PBKDF2.
    override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]).enable()
    # Second factors (issue 16) are switched on by the tests about them (tests/accounts/
    # test_mfa*.py and the browser journey); the other tests sign in with force_login, which
    # gives no second factor. tests/test_settings.py checks production's default roles.
    override_settings(MFA_REQUIRED_ROLES=[]).enable()
    # A page renews the session's idle expiry at most once a minute (issue 17); a slow test must
    # not see a renewal's write between two pages whose queries it counts. The tests about idle
    # sessions (tests/security/test_sessions_headers.py, tests/test_security.py) set 60 again.
    override_settings(OFFLABEL_SESSION_RENEW_SECONDS=3600).enable()
    want_db = os.environ.get("OFFLABEL_REQUIRE_DB")
    vendor = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    if want_db and not vendor.startswith(want_db):
        pytest.exit(f"OFFLABEL_REQUIRE_DB={want_db} but the settings use {vendor}", returncode=3)
    want_broker = os.environ.get("OFFLABEL_REQUIRE_BROKER")
    if want_broker and _broker_kind() != want_broker:
        pytest.exit(
            f"OFFLABEL_REQUIRE_BROKER={want_broker} but the broker is {_broker_kind()}",
            returncode=3,
        )
    if want_broker == "redis":
        import redis

        try:
            redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=3).ping()
        except redis.RedisError as exc:
            pytest.exit(
                f"Redis at {settings.CELERY_BROKER_URL} cannot be reached: {exc}", returncode=3
            )


@pytest.fixture
def hospital(db: Any) -> Hospital:
    return HospitalFactory.create(name="Invented General Hospital", code="inv-gen")


@pytest.fixture
def other_hospital(db: Any) -> Hospital:
    return HospitalFactory.create(name="Another Invented Hospital", code="inv-other", country="FR")


def _user(hospital: Hospital, role: Role, username: str) -> User:
    return UserFactory.create(username=username, hospital=hospital, role=role)


@pytest.fixture
def physician(hospital: Hospital) -> User:
    return _user(hospital, Role.PHYSICIAN, "dr.house")


@pytest.fixture
def pharmacist(hospital: Hospital) -> User:
    return _user(hospital, Role.PHARMACIST, "ph.rossi")


@pytest.fixture
def hospital_admin(hospital: Hospital) -> User:
    return _user(hospital, Role.HOSPITAL_ADMIN, "adm.bianchi")


@pytest.fixture
def regulatory_officer(hospital: Hospital) -> User:
    return _user(hospital, Role.REGULATORY_OFFICER, "reg.verdi")


@pytest.fixture
def rule_steward(db: Any) -> User:
    """A national rules steward: above hospitals, so with no hospital (issue 14)."""
    return UserFactory.create(
        username="steward.neri",
        first_name="Nora",
        last_name="Regolare",
        hospital=None,
        is_rule_steward=True,
        role=Role.RULE_STEWARD,
    )


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def rules(db: Any) -> Any:
    """The regulatory rules data file, loaded by the real loader."""
    from regulatory.loader import rules_load

    return rules_load()


@pytest.fixture
def studies(db: Any) -> None:
    """The review's 32 studies, loaded by the real loader."""
    from evidence.services import studies_load_review

    studies_load_review()


@pytest.fixture(autouse=True)
def _interface_language_reset() -> Any:
    """Django's LocaleMiddleware activates the reader's language in the thread that served the
    request and leaves it there; with the test client that is the test's own thread, so a test
    that read a page in Italian would hand Italian to the next test on the same worker."""
    from django.utils import translation

    yield
    translation.deactivate()
