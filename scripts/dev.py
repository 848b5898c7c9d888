#!/usr/bin/env python3
"""One entry point for developers and CI; needs nothing but Python 3.11+.

    python3 scripts/dev.py run     # venv, install, migrate, studies, demo users; web + worker
    python3 scripts/dev.py test    # venv + install, then ruff, mypy and the whole pytest suite
    python3 scripts/dev.py bench   # benchmarks (ratios in one run); --quick for a small run

Everything it installs goes into ./.venv; it is reinstalled when pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("OFFLABEL_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def call(*args: str | Path, env: dict[str, str] | None = None) -> None:
    result = subprocess.run([str(a) for a in args], cwd=ROOT, env=env)
    if result.returncode != 0:
        sys.exit(result.returncode)


def ensure_venv() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - says so clearly on an old python3
        sys.exit("offlabel needs Python 3.11 or newer.")
    if not PY.exists():
        say(f"creating the virtual environment in {VENV}")
        call(sys.executable, "-m", "venv", VENV)
    stamp = VENV / ".offlabel-installed"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    say("installing offlabel and its dependencies (runtime + dev): a few minutes the first time")
    call(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    # Not --quiet: each package pip collects and installs is printed, so a first install
    # never sits silent for minutes.
    call(PY, "-m", "pip", "install", "--progress-bar", "on", "-e", f"{ROOT}[dev]")
    stamp.write_text(digest)


def manage(*args: str) -> None:
    call(PY, "manage.py", *args)


def compile_catalogues() -> None:
    """The .mo files are build output (not in git): compiled in pure Python, no gettext."""
    say("compiling the interface translations (locale/*.po)")
    manage("compile_catalogues")


def port_wait(host: str, web: subprocess.Popen[bytes], seconds: float = 60) -> None:
    """Until the web server accepts connections on ``host`` (or has stopped)."""
    import socket

    name, _, port = host.rpartition(":")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and web.poll() is None:
        with socket.socket() as probe:
            probe.settimeout(1)
            if probe.connect_ex((name or "127.0.0.1", int(port or 8000))) == 0:
                return
        time.sleep(0.5)


def run() -> None:
    ensure_venv()
    compile_catalogues()
    say("migrating the database")
    manage("migrate", "--noinput")
    # Development only: a key that signs the audit checkpoints, in var/ (production sets
    # AUDIT_SIGNING_KEY to a key of its own; this never overwrites one).
    manage("audit_keygen", "--if-missing")
    # Development only (issue 16): the invented demo CA, hospital seal and TSA certificate in
    # var/pki/, kept when present; every PDF is sealed with them and timestamped by the demo
    # TSA started below. Production configures its own certificate and TSA.
    manage("make_demo_pki")
    say("loading the study database, the regulatory rules and the label rules")
    manage("load_studies")
    manage("load_rules")
    manage("load_label_rules")
    say("creating the demo hospital and accounts (invented people)")
    accounts = subprocess.run(
        [str(PY), "manage.py", "seed_demo", "--no-color"], cwd=ROOT, capture_output=True, text=True
    )
    print(accounts.stdout, end="", flush=True)
    if accounts.returncode != 0:
        print(accounts.stderr, file=sys.stderr)
        sys.exit(accounts.returncode)
    host = os.environ.get("OFFLABEL_HOST", "127.0.0.1:8000")

    def stop_on_sigterm(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # same clean stop of both children as Ctrl-C

    signal.signal(signal.SIGTERM, stop_on_sigterm)
    queue = os.environ.get("CELERY_TASK_DEFAULT_QUEUE") or "offlabel"
    processes = {
        # Own process groups: a stop signal reaches runserver's autoreload child as well.
        "web": subprocess.Popen(
            [str(PY), "manage.py", "runserver", host], cwd=ROOT, start_new_session=True
        ),
        # The demo RFC 3161 time-stamping authority the seals ask (OFFLABEL_TSA_URL's default).
        "tsa": subprocess.Popen(
            [str(PY), "manage.py", "run_demo_tsa", "--port", "8077"],
            cwd=ROOT,
            start_new_session=True,
        ),
        "worker": subprocess.Popen(
            [
                str(BIN / "celery"),
                "-A",
                "offlabel",
                "worker",
                # Both queues, the default and its PDF queue (offlabel.celery.pdf_queue_name):
                # production runs a worker for each.
                "-Q",
                f"{queue},{queue}.pdf",
                "--beat",
                "--loglevel",
                "INFO",
                "--concurrency",
                "2",
                "--schedule",
                str(ROOT / "var" / "celerybeat-schedule"),
            ],
            cwd=ROOT,
            start_new_session=True,
        ),
    }
    port_wait(host, processes["web"])
    # Last on the screen, after the servers' start-up lines: where to go and who to be.
    say(
        f"offlabel is running on http://{host}/ with a Celery worker and the demo TSA; "
        "Ctrl-C stops them"
    )
    print(accounts.stdout, end="", flush=True)
    try:
        while all(p.poll() is None for p in processes.values()):
            time.sleep(0.5)
        stopped = [name for name, p in processes.items() if p.poll() is not None]
        say(f"{', '.join(stopped)} stopped; stopping the rest")
    except KeyboardInterrupt:
        say("stopping")
    finally:
        # SIGTERM, not SIGINT: a shell that starts this in the background has its children
        # ignore SIGINT, and runserver would wait for the SIGKILL. runserver's whole group
        # (its autoreload child too); Celery's main process only, which stops its pool itself
        # (warm shutdown).
        if processes["web"].poll() is None:
            os.killpg(processes["web"].pid, signal.SIGTERM)
        if processes["worker"].poll() is None:
            processes["worker"].send_signal(signal.SIGTERM)
        for p in processes.values():
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)


def test(pytest_args: list[str]) -> None:
    ensure_venv()
    compile_catalogues()
    say("ruff (lint)")
    call(BIN / "ruff", "check", ".")
    say("ruff (format)")
    call(BIN / "ruff", "format", "--check", ".")
    # mypy checks while pytest runs (its report is printed after pytest's): on a clean clone it
    # has no cache and takes a minute or two that the suite need not wait for.
    say("mypy (django-stubs), in the background")
    mypy = subprocess.Popen(
        [str(BIN / "mypy"), "."], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    # Two processes (pytest-xdist, one per core) unless the caller chose: each has its own test
    # database; the tests that share something outside it name an xdist_group.
    chosen = any(a.startswith(("-n", "--numprocesses")) or a == "no:xdist" for a in pytest_args)
    parallel = [] if chosen else ["-n", "auto", "--dist", "loadgroup"]
    # axe-core, which the accessibility tests run in the browser, at its pinned version (npm,
    # into var/node/; nothing happens when it is there already).
    say("axe-core (npm) for the accessibility tests")
    call(sys.executable, "-m", "tests.browser.axe")
    say("pytest")
    tests = subprocess.run([str(PY), "-m", "pytest", *parallel, *pytest_args], cwd=ROOT)
    out, _ = mypy.communicate()
    say("mypy (django-stubs)")
    print(out.decode(), end="", flush=True)
    if tests.returncode != 0:
        sys.exit(tests.returncode)
    if mypy.returncode != 0:
        sys.exit(mypy.returncode)


def bench(bench_args: list[str]) -> None:
    """Ratios against baselines measured in the same run; the full run rewrites the README's
    table (``--quick`` for a smaller run, ``--help`` for the rest)."""
    ensure_venv()
    call(PY, "-m", "benchmarks", *bench_args)


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in {"run", "test", "bench", "install"}:
        sys.exit(__doc__)
    command, rest = sys.argv[1], sys.argv[2:]
    os.chdir(ROOT)
    if command == "run":
        run()
    elif command == "test":
        test(rest)
    elif command == "bench":
        bench(rest)
    else:
        ensure_venv()


if __name__ == "__main__":
    main()
