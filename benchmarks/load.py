"""A load run on the queue page under gunicorn, against ``/healthz`` on the same gunicorn, with
the memory of its workers: their peak under the run and a leak check of one worker.

gunicorn serves ``offlabel.wsgi`` with production settings (``DJANGO_DEBUG=false``, whitenoise,
the compressed manifest) on a free port of 127.0.0.1, with 8 concurrent connections as issue 17
asks. When the run's broker is Redis, gunicorn gets ``CACHE_URL`` on the same Redis database, so
sessions are ``cached_db`` as in production (read from Redis, written through to PostgreSQL);
else they are in the database. Each connection has a pharmacist's session of its own, made
beforehand (``force_login``) with the session engine and cache the server uses, and sent as a
cookie. ``/healthz`` answers from the first middleware after one ``SELECT 1``: the cheapest
request the same server and client can make.

CPU time is read from /proc before and after each timed run, for the gunicorn workers, the
PostgreSQL backends of the bench database, the client processes and the whole machine (which
other work shares): the figures say how much of each request is the server's and how much
the client took from it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.test import override_settings

from benchmarks import memory
from benchmarks.dataset import Cast
from benchmarks.environment import ROOT, WORKDIR
from benchmarks.loadgen import LoadResult, fetch, load_run, request_bytes
from benchmarks.results import Row, ms
from prescriptions.models import OffLabelRequest

HOST = "127.0.0.1"
QUEUE_PATH = "/requests/queue/"
QUEUE_EXPECT = b"OL-0"  # a request's reference: the page lists requests
CLIENT_PROCESSES = 2
CLIENT_THREADS = 4  # per process: 8 concurrent connections, as issue 17 asks
TARGET_RPS = 100
TARGET_P99 = 0.150  # seconds
# The leak check: one worker, queue pages one after another after a warm-up, and every
# LEAK_SAMPLE_EVERY a full garbage collection in the worker before its resident set is read
# (``benchmarks.memory.collecting_application``): what the worker keeps, not the garbage the
# collector has not reached yet.
LEAK_WARMUP = 200
LEAK_REQUESTS = 1_000
LEAK_SAMPLE_EVERY = 50
# A leak of a kilobyte a request (a list that keeps each request's rows, an unbounded cache
# keyed by session) adds a megabyte over the run; a worker's resident set otherwise moves in
# steps of the allocator's arenas and pages, a fraction of a megabyte. Both the growth from the
# first sample to the last and the least-squares slope over every sample must stay under a
# kilobyte a request: one step in the last sample cannot fail the check alone, and a steady
# climb cannot hide behind a lucky last sample.
LEAK_TOLERANCE_PER_REQUEST = 1024  # bytes
SESSIONS_CACHED_DB = "django.contrib.sessions.backends.cached_db"


@dataclass(frozen=True)
class Server:
    port: int
    pid: int  # the gunicorn master

    def workers(self) -> list[int]:
        return memory.children(self.pid)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _healthy(port: int) -> bool:
    return fetch(HOST, port, request_bytes(HOST, "/healthz", {}), b"ok") == ""


@contextmanager
def gunicorn(
    env: dict[str, str], *, workers: int, log: Path, app: str = "offlabel.wsgi"
) -> Iterator[Server]:
    """gunicorn with ``workers`` sync workers, every one of them up before this yields."""
    port = free_port()
    command = [str(Path(sys.executable).parent / "gunicorn"), app]
    command += ["--workers", str(workers), "--bind", f"{HOST}:{port}", "--log-level", "warning"]
    with log.open("w") as out:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(port=port, pid=process.pid)
    try:
        deadline = time.monotonic() + 60
        while not _healthy(port) or len(server.workers()) < workers:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield server
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # graceful stop of the master and workers
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def session_setup(env: dict[str, str]) -> tuple[dict[str, str], dict[str, object], str]:
    """gunicorn's environment, the settings a session must be made with to be the server's,
    and how sessions are kept, in words. Production keeps sessions ``cached_db`` in Redis
    (``CACHE_URL``): so does the load run when the run's broker is Redis, on the same Redis
    database (the cache's keys and the broker's do not meet)."""
    broker = env.get("CELERY_BROKER_URL", "")
    if not broker.startswith(("redis://", "rediss://")):
        return env, {}, "sessions in the database"
    cache = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": broker}
    }
    overrides: dict[str, object] = {"CACHES": cache, "SESSION_ENGINE": SESSIONS_CACHED_DB}
    return {**env, "CACHE_URL": broker}, overrides, "sessions `cached_db` in Redis"


def sessions_description(env: dict[str, str]) -> str:
    """How the load run's server keeps sessions, for the report's header."""
    return session_setup(env)[2]


def _session_cookies(cast: Cast, count: int, overrides: dict[str, object]) -> list[str]:
    """``count`` sessions of the pharmacist, as people signed in on ``count`` computers."""
    from benchmarks.dataset import pharmacist_client

    with override_settings(**overrides):
        name = settings.SESSION_COOKIE_NAME
        return [f"{name}={pharmacist_client(cast).cookies[name].value}" for _ in range(count)]


def _sessions_check(port: int, cookie: str, overrides: dict[str, object]) -> None:
    """The cookie signs the pharmacist in on this server and, with ``cached_db``, the server
    keeps the session in the same Redis cache: a request puts back the entry deleted here."""
    request = request_bytes(HOST, QUEUE_PATH, {"Cookie": cookie})
    if not overrides:
        problem = fetch(HOST, port, request, QUEUE_EXPECT)
        if problem:
            raise RuntimeError(f"the session cookie does not open {QUEUE_PATH}: {problem}")
        return
    from django.contrib.sessions.backends.cached_db import KEY_PREFIX
    from django.core.cache import cache

    with override_settings(**overrides):
        key = KEY_PREFIX + cookie.split("=", 1)[1]
        if cache.get(key) is None:
            raise RuntimeError("the session made for the load run is not in the Redis cache")
        cache.delete(key)
        problem = fetch(HOST, port, request, QUEUE_EXPECT)
        if problem:
            raise RuntimeError(f"the session cookie does not open {QUEUE_PATH}: {problem}")
        if cache.get(key) is None:
            raise RuntimeError("gunicorn did not keep the session in the Redis cache")


def _postgres_backends() -> list[int]:
    """The PostgreSQL server processes of the bench database's other connections (gunicorn's),
    whose CPU time /proc shows when the server runs on this machine."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return [pid for (pid,) in cursor.fetchall() if (memory.PROC / str(pid)).exists()]


def _cpu_of(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += memory.cpu_seconds(pid)
        except OSError:  # gone meanwhile
            continue
    return total


@dataclass(frozen=True)
class CpuUse:
    """CPU seconds used during one timed run."""

    server: float  # the gunicorn workers
    database: float  # the PostgreSQL backends of the bench database
    client: float
    machine: float  # every process on the machine, all cores

    def summary(self, requests: int) -> str:
        """CPU per request of each, the client's and other processes' share of the machine,
        and the rate the server side's CPU alone would allow on this machine's cores."""
        own = self.server + self.database + self.client
        per = f"{ms(self.server / requests)} gunicorn"
        if self.database:
            per += f", {ms(self.database / requests)} PostgreSQL"
        per += f", {ms(self.client / requests)} client"
        other = max(0.0, self.machine - own)
        cores = os.cpu_count() or 1
        return (
            f"CPU per request {per} (at most {cores * requests / own:,.0f} req/s on {cores} "
            f"cores doing nothing else); of the machine's busy CPU, client "
            f"{self.client / self.machine:.1%}, other processes {other / self.machine:.0%}"
        )


def _timed(server: Server, run: Callable[[], LoadResult]) -> tuple[LoadResult, CpuUse]:
    workers, backends = server.workers(), _postgres_backends()
    server_before, database_before = _cpu_of(workers), _cpu_of(backends)
    busy_before, _ = memory.machine_cpu_seconds()
    result = run()
    busy_after, _ = memory.machine_cpu_seconds()
    return result, CpuUse(
        server=_cpu_of(workers) - server_before,
        database=_cpu_of(backends) - database_before,
        client=result.client_cpu,
        machine=busy_after - busy_before,
    )


@dataclass(frozen=True)
class LeakCheck:
    samples: list[tuple[int, int]]  # (requests after the warm-up, VmRSS in bytes)
    objects: list[int]  # live objects after each sample's collection
    errors: int
    first_error: str

    @property
    def growth(self) -> int:
        return self.samples[-1][1] - self.samples[0][1]

    @property
    def slope(self) -> float:
        """Bytes per request, least squares over every sample."""
        n = len(self.samples)
        mean_x = sum(x for x, _ in self.samples) / n
        mean_y = sum(y for _, y in self.samples) / n
        covariance = sum((x - mean_x) * (y - mean_y) for x, y in self.samples)
        variance = sum((x - mean_x) ** 2 for x, _ in self.samples)
        return covariance / variance

    @property
    def requests(self) -> int:
        return self.samples[-1][0]

    @property
    def met(self) -> bool:
        limit = LEAK_TOLERANCE_PER_REQUEST
        return self.errors == 0 and self.growth <= limit * self.requests and self.slope <= limit


def _collected(port: int, worker: int) -> tuple[int, int]:
    """A full collection in the worker, then its resident set and its live objects."""
    with urllib.request.urlopen(f"http://{HOST}:{port}{memory.COLLECT_PATH}", timeout=60) as answer:
        objects = int(answer.read())
    return memory.memory(worker).rss, objects


def leak_check(env: dict[str, str], cookie: str) -> LeakCheck:
    """One gunicorn worker, ``LEAK_WARMUP`` queue pages, then ``LEAK_REQUESTS`` more one after
    another, its memory read after a collection every ``LEAK_SAMPLE_EVERY``."""
    request = request_bytes(HOST, QUEUE_PATH, {"Cookie": cookie})
    problems: list[str] = []
    samples: list[tuple[int, int]] = []
    objects: list[int] = []
    log = WORKDIR / "gunicorn-leak.log"
    with gunicorn(env, workers=1, log=log, app=memory.COLLECTING_APPLICATION) as server:
        (worker,) = server.workers()
        for done in range(-LEAK_WARMUP + 1, LEAK_REQUESTS + 1):
            problems.append(fetch(HOST, server.port, request, QUEUE_EXPECT))
            if done >= 0 and done % LEAK_SAMPLE_EVERY == 0:
                rss, alive = _collected(server.port, worker)
                samples.append((done, rss))
                objects.append(alive)
    errors = [problem for problem in problems if problem]
    return LeakCheck(
        samples=samples,
        objects=objects,
        errors=len(errors),
        first_error=errors[0] if errors else "",
    )


def load_benchmark(
    cast: Cast, env: dict[str, str], *, workers: int, seconds: float, warmup: float
) -> list[Row]:
    n = OffLabelRequest.objects.filter(hospital=cast.hospital).count()
    server_env, overrides, sessions = session_setup(env)
    connections = CLIENT_PROCESSES * CLIENT_THREADS
    cookies = _session_cookies(cast, connections, overrides)
    results: dict[str, tuple[LoadResult, CpuUse]] = {}
    warm: dict[int, memory.Memory] = {}  # each worker after the queue page's warm-up
    with gunicorn(server_env, workers=workers, log=WORKDIR / "gunicorn.log") as server:
        _sessions_check(server.port, cookies[0], overrides)
        for path, expect in (("/healthz", b"ok"), (QUEUE_PATH, QUEUE_EXPECT)):
            requests = [request_bytes(HOST, path, {"Cookie": cookie}) for cookie in cookies]

            def run(
                duration: float, requests: list[bytes] = requests, expect: bytes = expect
            ) -> LoadResult:
                return load_run(
                    host=HOST,
                    port=server.port,
                    requests=requests,
                    seconds=duration,
                    processes=CLIENT_PROCESSES,
                    expect=expect,
                )

            run(warmup)  # every gunicorn worker loads its code and templates first
            if path == QUEUE_PATH:
                warm = {pid: memory.memory(pid) for pid in server.workers()}
            results[path] = _timed(server, partial(run, seconds))
        after = {pid: memory.memory(pid) for pid in server.workers()}
    leak = leak_check(server_env, cookies[0])

    (health, health_cpu), (queue, cpu) = results["/healthz"], results[QUEUE_PATH]
    first_error = queue.first_error or health.first_error
    web_peak = max(after.values(), key=lambda m: m.peak)
    web_warm = max(warm.values(), key=lambda m: m.rss)
    limit_kib = LEAK_TOLERANCE_PER_REQUEST * LEAK_REQUESTS // 1024
    return [
        Row(
            what=f"Queue page under gunicorn ({workers} sync workers, {sessions}), {n:,} "
            f"requests, {connections} concurrent connections ({CLIENT_PROCESSES} client "
            f"processes × {CLIENT_THREADS}), {seconds:g} s each",
            baseline=f"`/healthz`, same server: {health.rps:,.0f} req/s, "
            f"p50 {ms(health.p50)}, p99 {ms(health.p99)}, {health.errors} errors (client "
            f"{ms(health_cpu.client / health.requests)} CPU a request, "
            f"{health_cpu.client / health_cpu.machine:.0%} of the machine's busy CPU)",
            measured=f"{queue.rps:,.0f} req/s, p50 {ms(queue.p50)}, p99 {ms(queue.p99)}, "
            f"{queue.errors} errors"
            + (f" (first: {first_error})" if first_error else "")
            + f"; {cpu.summary(queue.requests)}",
            ratio=f"{queue.rps / health.rps:.3f}x the rps",
            target=f"≥ {TARGET_RPS} req/s, p99 ≤ {TARGET_P99 * 1000:.0f} ms, 0 errors",
            met=queue.rps >= TARGET_RPS and queue.p99 <= TARGET_P99 and queue.errors == 0,
        ),
        Row(
            what=f"Peak RSS of a gunicorn worker under the queue page's load run "
            f"({workers} workers, VmHWM)",
            baseline="after the warm-up: " + ", ".join(memory.mib(m.rss) for m in warm.values()),
            measured="peak: "
            + ", ".join(memory.mib(m.peak) for m in after.values())
            + "; at the end: "
            + ", ".join(memory.mib(m.rss) for m in after.values()),
            ratio=f"{web_peak.peak / web_warm.rss:.2f}x",
            target="reported",
        ),
        Row(
            what=f"Leak check: one gunicorn worker, {LEAK_REQUESTS:,} consecutive queue pages "
            f"after {LEAK_WARMUP} to warm up; every {LEAK_SAMPLE_EVERY}, a full garbage "
            "collection in the worker, then its VmRSS",
            baseline=f"after the warm-up: {memory.mib(leak.samples[0][1])}, "
            f"{leak.objects[0]:,} live objects",
            measured=f"after {leak.requests:,}: {memory.mib(leak.samples[-1][1])} "
            f"(growth {leak.growth / 1024:+,.0f} KiB, slope {leak.slope:+,.0f} bytes a "
            f"request, samples {memory.mib(min(y for _, y in leak.samples))}–"
            f"{memory.mib(max(y for _, y in leak.samples))}), {leak.objects[-1]:,} live "
            f"objects ({leak.objects[-1] - leak.objects[0]:+,}); {leak.errors} errors"
            + (f" (first: {leak.first_error})" if leak.first_error else ""),
            ratio=f"{leak.samples[-1][1] / leak.samples[0][1]:.3f}x",
            target=f"no growth: ≤ {limit_kib:,} KiB over {LEAK_REQUESTS:,} requests and "
            f"slope ≤ {LEAK_TOLERANCE_PER_REQUEST:,} bytes a request",
            met=leak.met,
        ),
    ]
