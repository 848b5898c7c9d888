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
        # Every variable compose sets for the app is one the settings really read.
        assert set(env) <= READ_VARIABLES, set(env) - READ_VARIABLES


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
