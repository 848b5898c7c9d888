"""Settings come from the environment; bad values stop start-up with a clear message."""

import secrets

from tests.helpers import production_signing_env, run_manage

PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(60),
    "DJANGO_ALLOWED_HOSTS": "offlabel.example-hospital.invalid",
    "DATABASE_URL": "postgres://offlabel:pw@db.invalid:5432/offlabel",
    "CELERY_BROKER_URL": "redis://redis.invalid:6379/0",
}


def test_malformed_debug_value_stops_startup_with_a_clear_message():
    result = run_manage("check", env={"DJANGO_DEBUG": "maybe"})
    assert result.returncode != 0
    assert "DJANGO_DEBUG='maybe' is not a boolean" in result.stderr
    assert "Traceback" not in result.stderr


def test_production_has_no_default_secret_key():
    env = {k: v for k, v in PRODUCTION.items() if k != "DJANGO_SECRET_KEY"}
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is required" in result.stderr


def test_short_production_secret_key_is_refused():
    result = run_manage("check", env={**PRODUCTION, "DJANGO_SECRET_KEY": "short"})
    assert result.returncode != 0
    assert "at least 50 characters" in result.stderr


def test_malformed_database_url_is_reported():
    result = run_manage("check", env={"DATABASE_URL": "notadb://x"})
    assert result.returncode != 0
    assert "DATABASE_URL is not a valid database URL" in result.stderr


def test_unknown_broker_scheme_is_reported():
    result = run_manage("check", env={"CELERY_BROKER_URL": "carrier-pigeon://loft"})
    assert result.returncode != 0
    assert "CELERY_BROKER_URL" in result.stderr


def test_deploy_check_is_clean_with_production_values(tmp_path):
    env = {**PRODUCTION, **production_signing_env(tmp_path)}
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_deploy_check_warns_without_a_seal_certificate_a_tsa_or_the_sites_domain():
    """Issue 16: production starts without them (the image build has no certificate), but every
    PDF would fail and passkeys would work only on the server: check --deploy says so."""
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert result.returncode != 0
    for code in ("signing.W001", "signing.W002", "accounts.W001"):
        assert code in result.stderr, (code, result.stderr)


def test_deploy_check_fails_when_a_protection_is_switched_off(tmp_path):
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={
            **PRODUCTION,
            **production_signing_env(tmp_path),
            "DJANGO_SECURE_SSL_REDIRECT": "false",
        },
    )
    assert result.returncode != 0
    assert "security.W008" in result.stderr


def test_local_defaults_are_sqlite_and_a_serverless_broker():
    result = run_manage(
        "shell",
        "-c",
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, s.DEBUG)",
        env={"DATABASE_URL": "", "CELERY_BROKER_URL": ""},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == [
        "django.db.backends.sqlite3",
        "filesystem://",
        "True",
    ]


def test_production_hashes_passwords_with_pbkdf2():
    """The tests hash with MD5 for speed (tests/conftest.py); the app itself must not."""
    result = run_manage(
        "shell",
        "-c",
        "from django.contrib.auth.hashers import get_hasher; "
        "h = get_hasher(); print(h.algorithm, h.iterations)",
        env=PRODUCTION,
    )
    assert result.returncode == 0, result.stderr
    algorithm, iterations = result.stdout.splitlines()[-1].split()
    assert algorithm == "pbkdf2_sha256" and int(iterations) >= 1_000_000
