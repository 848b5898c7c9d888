"""Where the benchmarks run: a throw-away database, broker and media folder under var/bench/.

Nothing here imports Django: the environment must be set before ``django.setup()`` reads it.
The settings are production-like (``DJANGO_DEBUG=false``, the compressed static manifest)
except for HTTPS, because the load run talks plain HTTP to gunicorn on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import os
import platform
import secrets
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


def _workdir() -> Path:
    """``var/bench/``; a run on another PostgreSQL database than ``offlabel`` works in
    ``var/bench-<database>/``, so that runs on different databases at the same time never
    empty each other's folder (``OFFLABEL_BENCH_DIR`` names one outright)."""
    if named := os.environ.get("OFFLABEL_BENCH_DIR"):
        return Path(named)
    database = urlsplit(os.environ.get("DATABASE_URL", "")).path.lstrip("/")
    if os.environ.get("DATABASE_URL", "").startswith("postgres") and database not in {
        "",
        "offlabel",
    }:
        return ROOT / "var" / f"bench-{database}"
    return ROOT / "var" / "bench"


WORKDIR = _workdir()
STATIC_STAMP = WORKDIR / "staticfiles.stamp"


@dataclass(frozen=True)
class BenchEnvironment:
    env: dict[str, str]  # what this process and every child (workers, gunicorn) runs with
    database: str  # shown in the report, without a password
    broker: str
    postgres_admin_url: str | None  # set when the bench database is PostgreSQL


def seal_peer_start(directory: Path) -> dict[str, str]:
    """Every PDF is sealed (issue 16), so the benchmarks seal as production does: an invented
    PKI without the demo unit (production refuses the demo certificate, and the benchmarks run
    with DEBUG off) and the small RFC 3161 server as a process of its own on 127.0.0.1, stopped
    when the run ends. Returns the settings' environment."""
    import atexit

    from signing.demo_pki import DEMO_PASSWORD, demo_pki_create
    from signing.tsa_process import tsa_process_start

    paths, _ = demo_pki_create(directory, hospital_name="Invented Benchmark Hospital", demo=False)
    tsa = tsa_process_start(paths)
    atexit.register(tsa.stop)
    return {
        "OFFLABEL_SEAL_PKCS12": str(paths.seal_pkcs12),
        "OFFLABEL_SEAL_PKCS12_PASSWORD": DEMO_PASSWORD,
        "OFFLABEL_SEAL_TRUST_ROOTS": str(paths.ca_certificate),
        "OFFLABEL_TSA_URL": tsa.url,
    }


def _postgres_bench_url(database_url: str) -> tuple[str, str]:
    """The bench database sits next to the given one as ``<name>_bench``: the given database
    itself is never touched, because the bench drops and recreates its own."""
    parts = urlsplit(database_url)
    name = parts.path.lstrip("/") or "offlabel"
    bench = urlunsplit(parts._replace(path=f"/{name}_bench"))
    admin = urlunsplit(parts._replace(path="/postgres"))
    return bench, admin


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def prepare(*, force_sqlite: bool) -> BenchEnvironment:
    """Empty var/bench/ (keeping the collected static files) and build the environment."""
    WORKDIR.mkdir(parents=True, exist_ok=True)
    for entry in WORKDIR.iterdir():
        if entry.name in {"staticfiles", STATIC_STAMP.name}:
            continue
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()

    given_db = os.environ.get("DATABASE_URL", "")
    admin_url = None
    if given_db.startswith(("postgres://", "postgresql://")) and not force_sqlite:
        database_url, admin_url = _postgres_bench_url(given_db)
    else:
        database_url = f"sqlite:///{WORKDIR / 'bench.sqlite3'}"
    given_broker = os.environ.get("CELERY_BROKER_URL", "")
    broker = given_broker if given_broker.startswith(("redis://", "rediss://")) else "filesystem://"

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "offlabel.settings",
        "OFFLABEL_VAR_DIR": str(WORKDIR),
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker,
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(60),  # one run, every process
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        # Plain HTTP on 127.0.0.1: no redirect to HTTPS, no secure-only cookies.
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_SESSION_COOKIE_SECURE": "false",
        "DJANGO_CSRF_COOKIE_SECURE": "false",
        "DJANGO_BEHIND_TLS_PROXY": "false",
        "DJANGO_SECURE_HSTS_SECONDS": "0",
        "DJANGO_LOG_LEVEL": "WARNING",
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    env.update(seal_peer_start(WORKDIR / "pki"))
    os.environ.update(env)
    return BenchEnvironment(
        env=env,
        database=_without_password(database_url),
        broker=_without_password(broker),
        postgres_admin_url=admin_url,
    )


def postgres_recreate(database_url: str, admin_url: str) -> None:
    """Drop and create the ``*_bench`` database (refuses any other name)."""
    import psycopg
    from psycopg import sql

    name = urlsplit(database_url).path.lstrip("/")
    if not name.endswith("_bench"):
        raise SystemExit(f"refusing to recreate {name!r}: only a *_bench database")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def static_sources_digest() -> str:
    """A digest of every static source file (path, size, mtime): collectstatic with the
    compressed manifest takes half a minute, so it only runs when this changes."""
    from django.contrib.staticfiles.finders import get_finders

    digest = hashlib.sha256()
    for finder in get_finders():
        for path, storage in finder.list(ignore_patterns=[]):
            stat = os.stat(storage.path(path))
            digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def load_average() -> float | None:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def machine_description(database: str, loads: tuple[float | None, float | None]) -> str:
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    cores = os.cpu_count() or 0
    start, end = loads
    load = (
        ""
        if start is None or end is None
        else f", 1-minute load average {start:.1f} at the start and {end:.1f} at the end"
    )
    return (
        f"{cores} cores{f' ({model})' if model else ''}, Python {platform.python_version()}, "
        f"{database}{load}"
    )
