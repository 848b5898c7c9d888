"""Memory and CPU figures of other processes, read from Linux's /proc: the resident set now
(``VmRSS``), its high-water mark (``VmHWM``: the peak since the process started), a process's
children, and the CPU time it has used; and the WSGI application the leak check serves.

Standard library only, like the load generator (the application imports Django when it
serves its first request). ``VmHWM`` is the kernel's own peak: nothing has to sample at the
right moment to catch it.
"""

from __future__ import annotations

import functools
import gc
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROC = Path("/proc")
MIB = 1024 * 1024
COLLECT_PATH = "/__bench/collect"
COLLECTING_APPLICATION = "benchmarks.memory:collecting_application"  # for gunicorn


@dataclass(frozen=True)
class Memory:
    rss: int  # bytes resident now (VmRSS)
    peak: int  # bytes resident at most since the process started (VmHWM)


def status_fields(text: str) -> dict[str, int]:
    """The ``kB`` figures of a /proc/<pid>/status text, in bytes (``VmRSS``, ``VmHWM``, …)."""
    fields = {}
    for line in text.splitlines():
        name, _, value = line.partition(":")
        parts = value.split()
        if len(parts) == 2 and parts[1] == "kB" and parts[0].isdigit():
            fields[name] = int(parts[0]) * 1024
    return fields


def memory(pid: int) -> Memory:
    """The process's resident set and its peak (raises ``OSError`` if it has gone)."""
    fields = status_fields((PROC / str(pid) / "status").read_text())
    return Memory(rss=fields["VmRSS"], peak=fields["VmHWM"])


def children(pid: int) -> list[int]:
    """The process's direct children (gunicorn's workers under its master), in pid order."""
    found: set[int] = set()
    try:
        for task in (PROC / str(pid) / "task").iterdir():
            found.update(int(child) for child in (task / "children").read_text().split())
        return sorted(found)
    except FileNotFoundError:  # a kernel without /proc/<pid>/task/<tid>/children
        pass
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            try:
                if parent_pid(int(entry.name)) == pid:
                    found.add(int(entry.name))
            except OSError:  # gone meanwhile
                continue
    return sorted(found)


def _stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat from the field after the command name (which may hold spaces)."""
    text = (PROC / str(pid) / "stat").read_text()
    return text[text.rindex(")") + 2 :].split()


def parent_pid(pid: int) -> int:
    return int(_stat_fields(pid)[1])


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used (its threads included, its children
    not)."""
    fields = _stat_fields(pid)
    # Fields 14 and 15 of proc(5) (utime, stime), counted here from field 3 (state).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_seconds() -> tuple[float, float]:
    """CPU seconds the whole machine has been busy and idle since boot, all cores summed (the
    first line of /proc/stat; iowait counts as idle)."""
    values = [int(value) for value in (PROC / "stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    busy = sum(values[:8]) - idle  # user nice system idle iowait irq softirq steal
    tick = os.sysconf("SC_CLK_TCK")
    return busy / tick, idle / tick


def mib(value: float) -> str:
    return f"{value / MIB:.1f} MiB"


@functools.cache
def _offlabel_application() -> Callable[..., Iterable[bytes]]:
    from offlabel.wsgi import application

    return application


def collecting_application(
    environ: dict[str, Any], start_response: Callable[..., Any]
) -> Iterable[bytes]:
    """``offlabel.wsgi``'s application, except that ``COLLECT_PATH`` runs a full garbage
    collection in the worker and answers with the number of objects still alive.

    Without it, a worker's resident set climbs between the collector's full collections (in
    a gunicorn worker of this app about every 2,000 queue pages, each leaving some 30 objects
    of cyclic garbage to the oldest generation) and the high-water mark of that garbage moves
    on for the first few thousand requests: a leak check would measure when the collector last
    ran. Read after a collection, the resident set and the live objects are what the worker
    keeps. For the benchmark's leak check only (``COLLECTING_APPLICATION``)."""
    if environ.get("PATH_INFO") != COLLECT_PATH:
        return _offlabel_application()(environ, start_response)
    gc.collect()
    body = str(len(gc.get_objects())).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
