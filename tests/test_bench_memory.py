"""The benchmarks' /proc readings (``benchmarks.memory``), the leak check's arithmetic and its
collecting application, and the load generator's response check, on this process, a child of
it and a local stdlib server. Linux only (/proc); no timing here."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from benchmarks import memory
from benchmarks.load import LEAK_SAMPLE_EVERY, LeakCheck
from benchmarks.loadgen import fetch, request_bytes

pytestmark = pytest.mark.skipif(
    not os.path.exists("/proc/self/status"), reason="reads Linux's /proc"
)
KIB = 1024


def test_own_resident_set_is_below_its_peak() -> None:
    own = memory.memory(os.getpid())
    assert own.peak >= own.rss > 0


def test_status_fields_are_bytes_and_skip_what_is_not_a_size() -> None:
    text = (
        "Name:\tpython3\nState:\tS (sleeping)\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\nThreads:\t4\n"
    )
    assert memory.status_fields(text) == {"VmHWM": 2048 * KIB, "VmRSS": 1024 * KIB}


def test_a_started_process_is_a_child_of_this_one() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        assert child.pid in memory.children(os.getpid())
        assert memory.parent_pid(child.pid) == os.getpid()
        assert memory.memory(child.pid).rss > 0
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait()
    assert child.pid not in memory.children(os.getpid())


def test_cpu_time_is_read_for_a_process_and_the_machine() -> None:
    assert memory.cpu_seconds(os.getpid()) > 0  # this process has imported Django
    busy, idle = memory.machine_cpu_seconds()
    assert busy > 0 and idle >= 0


def _check(rss: list[int]) -> LeakCheck:
    samples = [(i * LEAK_SAMPLE_EVERY, value) for i, value in enumerate(rss)]
    return LeakCheck(samples=samples, objects=[300_000] * len(rss), errors=0, first_error="")


def test_a_level_resident_set_with_a_step_is_no_leak() -> None:
    base = 230 * memory.MIB
    check = _check([base] * 10 + [base + 256 * KIB] * 11)  # one arena more, halfway
    assert check.growth == 256 * KIB and check.met


def test_a_kilobyte_and_a_half_a_request_is_a_leak_even_with_a_low_last_sample() -> None:
    base = 230 * memory.MIB
    rss = [base + 1536 * i * LEAK_SAMPLE_EVERY for i in range(21)]
    rss[-1] = base  # a collection just before the last reading
    check = _check(rss)
    assert check.growth == 0 and check.slope > 1024 and not check.met


def test_the_leak_checks_application_collects_and_counts_the_live_objects() -> None:
    answered: list[str] = []
    body = memory.collecting_application(
        {"PATH_INFO": memory.COLLECT_PATH, "REQUEST_METHOD": "GET"},
        lambda status, headers: answered.append(status),
    )
    assert answered == ["200 OK"] and int(b"".join(body)) > 0


class _Pages(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "/accounts/login/")
            self.end_headers()
            return
        body = b"<td>OL-000001</td>" if self.path == "/queue" else b"nothing"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def pages() -> Iterator[int]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Pages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_the_load_generator_tells_a_page_from_a_redirect_and_an_empty_page(pages: int) -> None:
    def get(path: str) -> str:
        return fetch(
            "127.0.0.1", pages, request_bytes("127.0.0.1", path, {"Cookie": "a=b"}), b"OL-0"
        )

    assert get("/queue") == ""
    assert get("/moved") == "HTTP 302 /accounts/login/"
    assert get("/empty") == "200 without b'OL-0'"
