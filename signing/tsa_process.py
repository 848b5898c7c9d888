"""The demo time-stamping authority (``signing.tsa_server``) as a process of its own on
127.0.0.1: started by the tests (``tests/peers/tsa.py``) and the benchmarks, which seal every
PDF as production does. No Django import: the benchmarks start it before settings are read."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from signing.demo_pki import DemoPkiPaths

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Tsa:
    process: subprocess.Popen[str]
    url: str
    port: int

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def tsa_process_start(paths: DemoPkiPaths, port: int = 0) -> Tsa:
    """Start the TSA process and wait until it listens (it prints its address); port 0 takes a
    free one."""
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "signing.tsa_server"),
            *("--cert", str(paths.tsa_certificate), "--key", str(paths.tsa_key)),
            *("--ca", str(paths.ca_certificate), "--port", str(port)),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()  # blocks until it listens, or ends on a crash
    if not line.startswith("listening on "):
        process.kill()
        raise RuntimeError(f"the TSA did not start: {line}{process.stdout.read()}")
    url = line.split()[-1]
    return Tsa(process=process, url=url, port=int(url.rstrip("/").rsplit(":", 1)[1]))
