from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_manage(
    *args: str, env: dict[str, str] | None = None, timeout: int = 120
) -> subprocess.CompletedProcess[str]:
    """Run manage.py in a fresh interpreter, so settings are read from ``env`` from scratch."""
    full_env = {
        k: v
        for k, v in os.environ.items()
        # The suite's seal settings (tests/peers/tsa.py) name the demo certificate, which a
        # production start refuses: a test that wants them passes them in ``env``.
        if not k.startswith(("DJANGO_", "OFFLABEL_REQUIRE", "OFFLABEL_SEAL_", "OFFLABEL_TSA_"))
    }
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@contextmanager
def celery_worker_process(
    *,
    queue: str,
    name: str,
    env: dict[str, str],
    log: Path,
    pool: str = "solo",
    log_mode: str = "a",
    stop_timeout: float = 20,
) -> Iterator[subprocess.Popen[bytes]]:
    """A real ``celery worker`` process consuming only ``queue`` and its PDF queue (where the
    router sends render tasks when ``queue`` is the default queue), its output in ``log``, in
    its own process group (so a kill reaches a prefork pool's children too). On leaving it gets
    SIGTERM, then SIGKILL after ``stop_timeout`` seconds. The tests and the benchmarks use it."""
    from offlabel.celery import pdf_queue_name

    queues = f"{queue},{pdf_queue_name(queue)}"
    command = [sys.executable, "-m", "celery", "-A", "offlabel", "worker", "-Q", queues]
    command += ["--pool", pool, "--concurrency", "1", "--without-gossip", "--without-mingle"]
    command += ["--without-heartbeat", "--loglevel", "INFO", "-n", f"{name}@%h"]
    with log.open(log_mode) as out:
        worker = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield worker
        finally:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
                try:
                    worker.wait(timeout=stop_timeout)
                except subprocess.TimeoutExpired:
                    os.killpg(worker.pid, signal.SIGKILL)
                    worker.wait()


def production_signing_env(directory: Path) -> dict[str, str]:
    """What a production deployment sets for sealing and passkeys: a seal certificate that is
    not the demo one (an invented PKI without the demo unit, made in ``directory``), a TSA URL
    (not contacted by ``check``) and the site's domain."""
    from signing.demo_pki import DEMO_PASSWORD, demo_pki_create

    paths, _ = demo_pki_create(directory, demo=False)
    return {
        "OFFLABEL_SEAL_PKCS12": str(paths.seal_pkcs12),
        "OFFLABEL_SEAL_PKCS12_PASSWORD": DEMO_PASSWORD,
        "OFFLABEL_SEAL_TRUST_ROOTS": str(paths.ca_certificate),
        "OFFLABEL_TSA_URL": "https://tsa.example-hospital.invalid/",
        "OFFLABEL_WEBAUTHN_RP_ID": "offlabel.example-hospital.invalid",
    }
