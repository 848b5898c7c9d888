"""A small closed-loop HTTP load generator: processes x threads, each sending one GET after
another for a fixed time over a new connection (gunicorn's sync workers close every
connection). Standard library only, so the client processes never import Django."""

from __future__ import annotations

import http.client
import multiprocessing
import statistics
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies: list[float]
    first_error: str

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, max(0, round(p * len(ordered)) - 1))]

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies)

    @property
    def p99(self) -> float:
        return self.percentile(0.99)


def _thread(
    host: str,
    port: int,
    path: str,
    headers: dict[str, str],
    until: float,
    expect: bytes,
    out: list[tuple[float, str]],
) -> None:
    while time.monotonic() < until:
        start = time.perf_counter()
        problem = ""
        try:
            connection = http.client.HTTPConnection(host, port, timeout=30)
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            body = response.read()
            connection.close()
            if response.status != 200:
                problem = f"HTTP {response.status} {response.getheader('Location') or ''}"
            elif expect not in body:
                problem = f"200 without {expect!r}"
        except (OSError, http.client.HTTPException) as exc:
            problem = f"{type(exc).__name__}: {exc}"
        out.append((time.perf_counter() - start, problem))


def _process(
    args: tuple[str, int, str, dict[str, str], float, int, bytes],
) -> list[tuple[float, str]]:
    host, port, path, headers, until, threads, expect = args
    out: list[tuple[float, str]] = []  # list.append is atomic under the GIL
    workers = [
        threading.Thread(target=_thread, args=(host, port, path, headers, until, expect, out))
        for _ in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return out


def load_run(
    *,
    host: str,
    port: int,
    path: str,
    headers: dict[str, str],
    seconds: float,
    processes: int,
    threads: int,
    expect: bytes,
) -> LoadResult:
    with multiprocessing.Pool(processes) as pool:
        start = time.monotonic()
        until = start + seconds
        parts = pool.map(
            _process, [(host, port, path, headers, until, threads, expect)] * processes
        )
        elapsed = time.monotonic() - start
    samples = [sample for part in parts for sample in part]
    errors = [problem for _, problem in samples if problem]
    return LoadResult(
        requests=len(samples),
        errors=len(errors),
        seconds=elapsed,
        latencies=[latency for latency, problem in samples if not problem],
        first_error=errors[0] if errors else "",
    )
