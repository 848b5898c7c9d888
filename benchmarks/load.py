"""A load run on the queue page under gunicorn, against ``/healthz`` on the same gunicorn.

gunicorn serves ``offlabel.wsgi`` with production settings (``DJANGO_DEBUG=false``, whitenoise,
the compressed manifest) on a free port of 127.0.0.1. The pharmacist's session is made
beforehand (``force_login``) and sent as a cookie. ``/healthz`` answers from the first
middleware after one ``SELECT 1``: the cheapest request the same server and client can make.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

from benchmarks.dataset import Cast
from benchmarks.environment import ROOT, WORKDIR
from benchmarks.loadgen import LoadResult, load_run
from benchmarks.results import Row, ms
from prescriptions.models import OffLabelRequest

HOST = "127.0.0.1"
CLIENT_PROCESSES = 2
CLIENT_THREADS = 2


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _healthy(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection(HOST, port, timeout=2)
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False


@contextmanager
def gunicorn(env: dict[str, str], *, workers: int, log: Path) -> Iterator[int]:
    port = free_port()
    command = [str(Path(sys.executable).parent / "gunicorn"), "offlabel.wsgi"]
    command += ["--workers", str(workers), "--bind", f"{HOST}:{port}", "--log-level", "warning"]
    with log.open("w") as out:
        server = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while not _healthy(port):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield port
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)  # graceful stop of the master and workers
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


def _session_cookie(cast: Cast) -> str:
    from benchmarks.dataset import pharmacist_client

    client = pharmacist_client(cast)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def load_benchmark(
    cast: Cast, env: dict[str, str], *, workers: int, seconds: float, warmup: float
) -> list[Row]:
    n = OffLabelRequest.objects.filter(hospital=cast.hospital).count()
    headers = {"Host": HOST, "Cookie": _session_cookie(cast)}
    results: dict[str, LoadResult] = {}
    with gunicorn(env, workers=workers, log=WORKDIR / "gunicorn.log") as port:
        for path, expect in (("/healthz", b"ok"), ("/requests/queue/", b"OL-0")):

            def run(duration: float, path: str = path, expect: bytes = expect) -> LoadResult:
                return load_run(
                    host=HOST,
                    port=port,
                    path=path,
                    headers=headers,
                    seconds=duration,
                    processes=CLIENT_PROCESSES,
                    threads=CLIENT_THREADS,
                    expect=expect,
                )

            run(warmup)  # every gunicorn worker loads its code and templates first
            results[path] = run(seconds)
    health, queue = results["/healthz"], results["/requests/queue/"]
    connections = CLIENT_PROCESSES * CLIENT_THREADS
    errors = health.errors + queue.errors
    first_error = queue.first_error or health.first_error
    return [
        Row(
            what=f"Queue page under gunicorn ({workers} sync workers), {n:,} requests, "
            f"{connections} concurrent connections, {seconds:g} s each",
            baseline=f"`/healthz`, same server: {health.rps:,.0f} req/s, "
            f"p50 {ms(health.p50)}, p99 {ms(health.p99)}, {health.errors} errors",
            measured=f"{queue.rps:,.0f} req/s, p50 {ms(queue.p50)}, p99 {ms(queue.p99)}, "
            f"{queue.errors} errors" + (f" (first: {first_error})" if first_error else ""),
            ratio=f"{queue.rps / health.rps:.3f}x the rps",
            target="0 errors",
            met=errors == 0,
        )
    ]
