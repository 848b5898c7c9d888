"""A small closed-loop HTTP load generator: processes x threads, each connection sending one GET
after another for a fixed time (gunicorn's sync workers close every connection, so each GET
opens a new one). Standard library only, so the client processes never import Django.

The client shares the machine's cores with the server, so it is kept cheap: every request is
built once as bytes and sent over a plain socket, and the response is read to the end (the
server closes the connection) and checked for its status and an expected piece of the body,
without parsing headers. Each connection may carry its own cookie (its own session), as
different people's browsers would. The client processes report the CPU time they used.
"""

from __future__ import annotations

import multiprocessing
import socket
import statistics
import threading
import time
from dataclasses import dataclass

TIMEOUT = 30  # seconds without a byte before a request counts as an error


@dataclass(frozen=True)
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies: list[float]
    first_error: str
    client_cpu: float  # CPU seconds used by the client processes, all threads

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


def request_bytes(host: str, path: str, headers: dict[str, str]) -> bytes:
    """A GET as sent on the wire, asking the server to close the connection after it."""
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items() if name.lower() != "host"]
    lines += ["Connection: close", "", ""]
    return "\r\n".join(lines).encode("latin-1")


def fetch(host: str, port: int, request: bytes, expect: bytes) -> str:
    """Send one request on a new connection and read the whole response: "" if it is a 200
    whose body holds ``expect``, else what went wrong."""
    try:
        with socket.create_connection((host, port), timeout=TIMEOUT) as connection:
            connection.sendall(request)
            chunks = []
            while chunk := connection.recv(65536):
                chunks.append(chunk)
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status_line, _, header_lines = head.partition(b"\r\n")
    parts = status_line.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
        return f"not an HTTP response: {status_line[:80]!r}"
    if parts[1] != b"200":
        location = next(
            (
                line.split(b":", 1)[1].strip().decode("latin-1")
                for line in header_lines.split(b"\r\n")
                if line.lower().startswith(b"location:")
            ),
            "",
        )
        return f"HTTP {parts[1].decode('latin-1')} {location}".strip()
    if expect not in body:
        return f"200 without {expect!r}"
    return ""


def _connection(
    host: str,
    port: int,
    request: bytes,
    until: float,
    expect: bytes,
    out: list[tuple[float, str]],
) -> None:
    while time.monotonic() < until:
        start = time.perf_counter()
        problem = fetch(host, port, request, expect)
        out.append((time.perf_counter() - start, problem))


def _process(
    args: tuple[str, int, list[bytes], float, bytes],
) -> tuple[list[tuple[float, str]], float]:
    host, port, requests, until, expect = args
    cpu_start = time.process_time()
    out: list[tuple[float, str]] = []  # list.append is atomic under the GIL
    threads = [
        threading.Thread(target=_connection, args=(host, port, request, until, expect, out))
        for request in requests
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return out, time.process_time() - cpu_start


def load_run(
    *,
    host: str,
    port: int,
    requests: list[bytes],
    seconds: float,
    processes: int,
    expect: bytes,
) -> LoadResult:
    """``len(requests)`` concurrent connections, each sending its own request over and over,
    spread over ``processes`` client processes."""
    shares = [requests[i::processes] for i in range(processes)]
    with multiprocessing.Pool(processes) as pool:
        start = time.monotonic()
        until = start + seconds
        parts = pool.map(_process, [(host, port, share, until, expect) for share in shares])
        elapsed = time.monotonic() - start
    samples = [sample for part, _ in parts for sample in part]
    errors = [problem for _, problem in samples if problem]
    return LoadResult(
        requests=len(samples),
        errors=len(errors),
        seconds=elapsed,
        latencies=[latency for latency, problem in samples if not problem],
        first_error=errors[0] if errors else "",
        client_cpu=sum(cpu for _, cpu in parts),
    )
