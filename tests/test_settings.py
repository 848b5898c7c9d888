"""Settings come from the environment; bad values stop start-up with a clear message."""

import json
import os
import secrets

import pytest

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


# --- Issue 17: beyond one machine -----------------------------------------------------------
def _printed(expression: str, env: dict[str, str]) -> object:
    """The value of ``expression`` (over ``settings as s``) in a fresh manage.py with ``env``."""
    result = run_manage(
        "shell",
        "-c",
        f"import json; from django.conf import settings as s; print(json.dumps({expression}))",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


S3 = {
    "OFFLABEL_STORAGE": "s3",
    "AWS_STORAGE_BUCKET_NAME": "offlabel-documents",
    "AWS_S3_ENDPOINT_URL": "https://s3.example-hospital.invalid",
    "AWS_S3_REGION_NAME": "eu-south-1",
    "AWS_ACCESS_KEY_ID": "invented-key-id",
    "AWS_SECRET_ACCESS_KEY": "invented-secret",
}


def test_files_stay_on_the_filesystem_unless_s3_is_chosen():
    default = _printed("s.STORAGES['default']", env={"OFFLABEL_STORAGE": ""})
    assert default == {"BACKEND": "django.core.files.storage.FileSystemStorage"}


def test_s3_storage_is_a_private_bucket_that_never_overwrites():
    default = _printed("s.STORAGES['default']", env=S3)
    assert default["BACKEND"] == "storages.backends.s3.S3Storage"
    options = default["OPTIONS"]
    assert options["bucket_name"] == "offlabel-documents"
    assert options["endpoint_url"] == "https://s3.example-hospital.invalid"
    assert options["region_name"] == "eu-south-1"
    assert (options["access_key"], options["secret_key"]) == ("invented-key-id", "invented-secret")
    assert options["addressing_style"] == "path"  # a self-hosted endpoint: bucket in the path
    assert options["default_acl"] is None  # no public-read, nothing but the bucket's owner
    assert options["file_overwrite"] is False
    # Amazon S3 itself (no endpoint), credentials from the machine's role.
    aws = _printed(
        "s.STORAGES['default']['OPTIONS']",
        env={**S3, "AWS_S3_ENDPOINT_URL": "", "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""},
    )
    assert aws["endpoint_url"] is None and aws["access_key"] is None
    assert aws["addressing_style"] == "auto"


def test_s3_storage_without_a_bucket_or_an_unknown_storage_stops_startup():
    result = run_manage("check", env={**S3, "AWS_STORAGE_BUCKET_NAME": ""})
    assert result.returncode != 0
    assert "OFFLABEL_STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME" in result.stderr
    result = run_manage("check", env={"OFFLABEL_STORAGE": "nfs"})
    assert result.returncode != 0
    assert "OFFLABEL_STORAGE='nfs': expected filesystem or s3" in result.stderr


def test_sessions_are_cached_in_redis_and_kept_in_the_database():
    redis = _printed(
        "[s.SESSION_ENGINE, s.CACHES['default']['BACKEND']]",
        env={"CACHE_URL": "redis://redis.invalid:6379/1"},
    )
    assert redis == [
        "django.contrib.sessions.backends.cached_db",
        "django.core.cache.backends.redis.RedisCache",
    ]
    # One process, no Redis: the database alone (a per-process cache would not be shared).
    local = _printed("s.SESSION_ENGINE", env={"CACHE_URL": ""})
    assert local == "django.contrib.sessions.backends.db"


def test_behind_pgbouncer_no_server_side_cursor_prepared_statement_or_kept_connection():
    url = "postgres://offlabel:pw@pgbouncer.invalid:6432/offlabel"
    expression = (
        "[[s.DATABASES[a].get('DISABLE_SERVER_SIDE_CURSORS', False),"
        " s.DATABASES[a]['CONN_MAX_AGE'],"
        " s.DATABASES[a].get('OPTIONS', {}).get('prepare_threshold', 'default')]"
        " for a in ('default', 'owner')]"
    )
    direct = _printed(expression, env={"DATABASE_URL": url})
    assert direct == [[False, 60, "default"], [False, 0, "default"]]
    pooled = _printed(expression, env={"DATABASE_URL": url, "DATABASE_PGBOUNCER": "true"})
    assert pooled == [[True, 0, None], [True, 0, None]]
    result = run_manage("check", env={"DATABASE_URL": "", "DATABASE_PGBOUNCER": "true"})
    assert result.returncode != 0
    assert "DATABASE_PGBOUNCER=true needs a PostgreSQL DATABASE_URL" in result.stderr


def test_the_pgbouncer_settings_are_accepted_by_a_real_postgresql_connection():
    """psycopg takes ``prepare_threshold=None`` and Django runs queries, iterators included,
    with client-side cursors (the real PostgreSQL of the suite, the ``postgres`` database)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        pytest.skip("needs the suite on PostgreSQL (CI runs it there)")
    server = url.rsplit("/", 1)[0] + "/postgres"
    result = run_manage(
        "shell",
        "-c",
        "from django.db import connection; "
        "[connection.cursor().execute('SELECT 1') for _ in range(7)]; "
        "print(connection.connection.prepare_threshold, "
        "connection.features.can_use_chunked_reads, "
        "connection.settings_dict['DISABLE_SERVER_SIDE_CURSORS'])",
        env={"DATABASE_URL": server, "DATABASE_PGBOUNCER": "true"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == ["None", "True", "True"]
