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
APP_SERVICES = ("web", "worker", "worker-pdf", "beat")


def test_compose_has_the_production_services_with_health_checks():
    services = COMPOSE["services"]
    assert set(services) == {"postgres", "redis", "web", "worker", "worker-pdf", "beat"}
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
    assert services["worker-pdf"]["command"][:4] == ["celery", "-A", "offlabel", "worker"]
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
    assert "DATABASE_OWNER_URL" not in services["worker-pdf"]["environment"]
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
        "audit_signing_key" not in services[name].get("secrets", [])
        for name in ("web", "worker-pdf", "beat")
    )
    assert COMPOSE["secrets"]["audit_signing_key"]["file"].startswith("./secrets/")
    for name in ("web", "worker"):
        anchors = services[name]["environment"]["AUDIT_ANCHOR_DIR"]
        assert f"audit-anchors:{anchors}" in services[name]["volumes"], name
    assert "AUDIT_SIGNING_KEY" not in services["web"]["environment"]
    assert "AUDIT_SIGNING_KEY" not in services["worker-pdf"]["environment"]
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
    for name in APP_SERVICES:
        assert {"hospital_seal", "seal_ca"} <= set(COMPOSE["services"][name]["secrets"]), name
    assert COMPOSE["services"]["web"]["environment"]["CACHE_URL"].startswith("redis://")


# --- Issue 17: a queue for PDF rendering, a worker per queue --------------------------------
def _queues_of(service: str) -> list[str]:
    command = COMPOSE["services"][service]["command"]
    return command[command.index("-Q") + 1].split(",")


def _routed_queue(task_name: str) -> str:
    from celery import current_app

    return current_app.amqp.router.route({}, task_name)["queue"].name


def _render_tasks() -> set[str]:
    """Every task that renders a PDF: the render task of each rendered document model, and
    every registered task made by ``offlabel.rendering.render_task`` (found by its options:
    late acknowledgement, redelivery when the worker is lost, a hard time limit)."""
    from celery import current_app

    from offlabel.rendering import rendered_models

    current_app.loader.import_default_modules()
    declared = {model.RENDER_TASK for model in rendered_models()}
    made = {
        name
        for name, task in current_app.tasks.items()
        if not name.startswith("celery.")
        and task.acks_late
        and task.reject_on_worker_lost
        and task.time_limit == settings.RENDER_TIME_LIMIT_SECONDS
    }
    assert declared == made, (declared, made)
    return declared


def test_every_render_task_routes_to_the_pdf_queue_and_the_rest_to_the_default():
    from celery import current_app

    from offlabel.celery import pdf_queue_name

    default = current_app.conf.task_default_queue
    assert default == settings.CELERY_TASK_DEFAULT_QUEUE
    renders = _render_tasks()
    assert renders >= {
        "consent.tasks.consent_render_task",
        "consent.tasks.consent_signature_record_render_task",
        "regulatory.tasks.dossier_render_task",
        "followup.tasks.renewal_report_render_task",
        "reports.tasks.report_render_task",
    }
    for name in renders:
        assert _routed_queue(name) == pdf_queue_name(default) == f"{default}.pdf", name
    others: set[str] = {
        "offlabel.rendering.render_sweep_task",
        "regulatory.tasks.reminders_raise_task",
        "audit.tasks.audit_chain_verify_task",
        "audit.tasks.audit_checkpoint_task",
        *(str(entry["task"]) for entry in settings.CELERY_BEAT_SCHEDULE.values()),
    }
    for name in others:
        assert name in current_app.tasks, name
        assert _routed_queue(name) == default, name
    # Every registered task of the project is one or the other.
    ours = {name for name in current_app.tasks if not name.startswith("celery.")}
    assert ours == renders | others, ours - renders - others


def test_the_pdf_queue_follows_the_default_queue_in_force_and_a_named_queue_wins():
    """What the test workers rely on (tests/helpers.py celery_worker_process consumes a
    queue and its PDF queue), and a deployment that renames its queue."""
    from celery import current_app

    saved = current_app.conf.task_default_queue
    current_app.conf.task_default_queue = "site-b"
    try:
        assert _routed_queue("consent.tasks.consent_render_task") == "site-b.pdf"
        assert _routed_queue("audit.tasks.audit_chain_verify_task") == "site-b"
    finally:
        current_app.conf.task_default_queue = saved
    routed = current_app.amqp.router.route({"queue": "bench"}, "consent.tasks.consent_render_task")
    assert routed["queue"].name == "bench"


def test_compose_runs_a_worker_per_queue_and_only_the_default_one_signs_checkpoints():
    from offlabel.celery import pdf_queue_name

    services = COMPOSE["services"]
    default = services["worker"]["environment"]["CELERY_TASK_DEFAULT_QUEUE"]
    assert default == "offlabel"
    for name in APP_SERVICES:  # web and beat send to the queues the workers consume
        assert services[name]["environment"]["CELERY_TASK_DEFAULT_QUEUE"] == default, name
    assert _queues_of("worker") == [default]
    assert _queues_of("worker-pdf") == [pdf_queue_name(default)]
    assert "audit_signing_key" in services["worker"]["secrets"]
    assert "audit_signing_key" not in services["worker-pdf"]["secrets"]
    assert "healthcheck" in services["worker-pdf"]


def test_the_local_worker_consumes_both_queues():
    """scripts/dev.py run starts one worker: it must take the PDF queue too."""
    text = (ROOT / "scripts" / "dev.py").read_text()
    assert '"-Q",' in text and 'f"{queue},{queue}.pdf"' in text
    assert 'os.environ.get("CELERY_TASK_DEFAULT_QUEUE") or "offlabel"' in text


def test_postgres_plans_for_ssd_as_the_scale_benchmark_measured():
    """README "Benchmarks at scale": with the default random_page_cost (4) the report at a
    million requests scans whole tables; compose sets the SSD value."""
    command = COMPOSE["services"]["postgres"]["command"]
    assert command[:2] == ["postgres", "-c"] and "random_page_cost=1.1" in command
