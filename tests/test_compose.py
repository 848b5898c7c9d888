"""docker-compose.yml cannot be run here (no Docker engine), so it is held true by parsing it."""

import re
from pathlib import Path

import yaml
from django.conf import settings

from offlabel.env import READ_VARIABLES

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
ENV_EXAMPLE = {
    line.split("=", 1)[0]
    for line in (ROOT / ".env.example").read_text().splitlines()
    if line.strip() and not line.startswith("#")
}
APP_SERVICES = ("web", "worker", "beat")


def test_compose_has_the_production_services_with_health_checks():
    services = COMPOSE["services"]
    assert set(services) == {"postgres", "redis", "web", "worker", "beat"}
    for name, service in services.items():
        assert "healthcheck" in service, f"{name} has no health check"
        assert service["healthcheck"]["test"], name


def test_compose_uses_named_volumes_for_state():
    named = set(COMPOSE["volumes"])
    assert {"pgdata", "redisdata"} <= named
    for name, service in COMPOSE["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            assert source in named, f"{name} mounts {source}, not a named volume"


def test_app_services_run_gunicorn_celery_worker_and_beat():
    services = COMPOSE["services"]
    assert "gunicorn offlabel.wsgi:application" in " ".join(services["web"]["command"].split())
    assert services["worker"]["command"][:4] == ["celery", "-A", "offlabel", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "offlabel", "beat"]
    for name in APP_SERVICES:
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"


def test_app_services_point_at_the_compose_database_and_broker():
    for name in APP_SERVICES:
        env = COMPOSE["services"][name]["environment"]
        assert env["DJANGO_DEBUG"] == "false"
        assert (
            env["DATABASE_URL"].startswith("postgres://")
            and "@postgres:5432/" in env["DATABASE_URL"]
        )
        assert env["CELERY_BROKER_URL"] == "redis://redis:6379/0"
        # Every variable compose sets for the app is one the settings really read, or one it
        # blanks (a secret of another service that env_file would otherwise hand the app).
        assert {k for k, v in env.items() if v != ""} <= READ_VARIABLES, set(env) - READ_VARIABLES


def test_env_example_lists_exactly_the_variables_the_code_and_compose_read():
    text = (ROOT / "docker-compose.yml").read_text()
    interpolated = set(re.findall(r"\$\{([A-Z_]+)", text))
    assert READ_VARIABLES | interpolated == ENV_EXAMPLE


def test_whitenoise_serves_static_files_in_production():
    assert "whitenoise.middleware.WhiteNoiseMiddleware" in settings.MIDDLEWARE


def test_web_health_check_path_is_served(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"
    assert "/healthz" in COMPOSE["services"]["web"]["healthcheck"]["test"][-1]


def _user_of(url: str) -> str:
    return url.split("://", 1)[1].split(":", 1)[0]


def test_the_app_connects_as_its_own_role_and_only_start_up_runs_as_the_owner():
    services = COMPOSE["services"]
    owner = services["postgres"]["environment"]["POSTGRES_USER"]
    app_user = services["postgres"]["environment"]["POSTGRES_APP_USER"]
    for name in APP_SERVICES:
        env = services[name]["environment"]
        assert _user_of(env["DATABASE_URL"]) == app_user != owner, name
        assert "POSTGRES_APP_PASSWORD" in env["DATABASE_URL"]
        assert env["POSTGRES_PASSWORD"] == "", f"{name} would see the owner's password"
    assert _user_of(services["web"]["environment"]["DATABASE_OWNER_URL"]) == owner
    assert "DATABASE_OWNER_URL" not in services["worker"]["environment"]
    assert "DATABASE_OWNER_URL" not in services["beat"]["environment"]
    web = " ".join(services["web"]["command"].split())
    migrate = web.index('DATABASE_URL=\\"$$DATABASE_OWNER_URL\\" python manage.py migrate')
    grants = web.index("python manage.py db_roles")
    gunicorn = web.index("exec env -u DATABASE_OWNER_URL gunicorn")
    assert migrate < grants < gunicorn


def test_postgres_creates_the_app_role_with_no_privilege_on_first_start():
    postgres = COMPOSE["services"]["postgres"]
    (config,) = postgres["configs"]
    assert config["target"].startswith("/docker-entrypoint-initdb.d/")
    script = (ROOT / COMPOSE["configs"][config["source"]]["file"]).read_text()
    assert "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION" in script
    assert "POSTGRES_APP_PASSWORD" in script and "POSTGRES_APP_USER" in script


def test_the_worker_signs_checkpoints_into_a_volume_of_their_own():
    services = COMPOSE["services"]
    worker = services["worker"]
    assert worker["environment"]["AUDIT_SIGNING_KEY"] == "/run/secrets/audit_signing_key"
    # The key that signs checkpoints is the worker's alone (the seal certificate is everyone's).
    assert "audit_signing_key" in worker["secrets"]
    assert all(
        "audit_signing_key" not in services[name].get("secrets", []) for name in ("web", "beat")
    )
    assert COMPOSE["secrets"]["audit_signing_key"]["file"].startswith("./secrets/")
    for name in ("web", "worker"):
        anchors = services[name]["environment"]["AUDIT_ANCHOR_DIR"]
        assert f"audit-anchors:{anchors}" in services[name]["volumes"], name
    assert "AUDIT_SIGNING_KEY" not in services["web"]["environment"]
    assert "audit.tasks.audit_checkpoint_task" in {
        entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }


def test_every_app_process_can_read_the_seal_certificate():
    """Issue 16: the worker seals every PDF it renders, the web and beat start only with a
    certificate that can seal; .env.example names the files where compose mounts them."""
    example = (ROOT / ".env.example").read_text()
    assert "OFFLABEL_SEAL_PKCS12=/run/secrets/hospital_seal" in example
    assert "OFFLABEL_SEAL_TRUST_ROOTS=/run/secrets/seal_ca" in example
    assert {"hospital_seal", "seal_ca"} <= set(COMPOSE["secrets"])
    for name in ("web", "worker", "beat"):
        assert {"hospital_seal", "seal_ca"} <= set(COMPOSE["services"][name]["secrets"]), name
    assert COMPOSE["services"]["web"]["environment"]["CACHE_URL"].startswith("redis://")
