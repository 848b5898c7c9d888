"""Consent PDFs through real Celery workers: two worker processes against one.

Each worker is ``celery -A offlabel worker --pool solo --concurrency 1`` (one process that
renders), consuming a queue of its own run from the configured broker: kombu's filesystem
transport in var/bench/broker, or Redis when ``CELERY_BROKER_URL`` points to it. The forms are
queued through the real services beforehand; the clock starts when the workers are ready and
the first task is sent, and stops when the database shows every form ready.

Each worker's memory is read from /proc (``benchmarks.memory``): its resident set when it is
ready and idle, and its peak (``VmHWM``) once every form is stored, before it stops. With
``--pool solo`` the process started is the one that renders (no pool child).
"""

from __future__ import annotations

import logging
import os
import re
import statistics
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchmarks import memory
from benchmarks.consent import consent_documents
from benchmarks.dataset import Cast
from benchmarks.environment import WORKDIR
from benchmarks.results import Row
from consent.models import ConsentDocument
from tests.helpers import celery_worker_process

READY_TIMEOUT = 90
RUN_TIMEOUT = 900


@dataclass(frozen=True)
class Worker:
    log: Path
    pid: int  # the process that renders (``--pool solo``: the one started)
    idle: memory.Memory  # once ready, before any task


@dataclass(frozen=True)
class Pass:
    seconds: float  # from sending the first task to the last form stored
    tasks: list[int]  # tasks each worker ran
    idle: list[memory.Memory]  # each worker's, ready and idle
    done: list[memory.Memory]  # each worker's, after the last form (peak: VmHWM)


@contextmanager
def celery_worker(env: dict[str, str], queue: str, name: str, log: Path) -> Iterator[Worker]:
    with celery_worker_process(
        queue=queue,
        name=name,
        env={**env, "DJANGO_LOG_LEVEL": "INFO"},
        log=log,
        log_mode="w",  # a log name comes back in later passes: " ready." must be this start's
        stop_timeout=30,
    ) as worker:
        deadline = time.monotonic() + READY_TIMEOUT
        while " ready." not in log.read_text():
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker {name} did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        if memory.children(worker.pid):  # a pool child would render, not the process read
            raise RuntimeError(f"worker {name} has child processes: expected --pool solo")
        yield Worker(log=log, pid=worker.pid, idle=memory.memory(worker.pid))


def _render_with_workers(env: dict[str, str], ids: list[int], workers: int) -> Pass:
    """Render the forms with ``workers`` workers started for them."""
    from consent.tasks import consent_render_task

    # kombu warns on every filesystem-transport connection that it has no hostname.
    logging.getLogger("kombu.connection").setLevel(logging.ERROR)

    queue = f"bench-{uuid.uuid4().hex[:10]}"  # only this run's workers listen here
    with ExitStack() as stack:
        started = [
            stack.enter_context(
                celery_worker(
                    env, queue, f"bench{i}-{queue}", WORKDIR / f"worker-{workers}-{i}.log"
                )
            )
            for i in range(1, workers + 1)
        ]
        start = time.perf_counter()
        for pk in ids:
            consent_render_task.apply_async((pk,), queue=queue)
        documents = ConsentDocument.objects.filter(pk__in=ids)
        deadline = time.monotonic() + RUN_TIMEOUT
        while documents.filter(status=ConsentDocument.Status.READY).count() < len(ids):
            failed = documents.filter(status=ConsentDocument.Status.FAILED).first()
            if failed is not None:
                raise RuntimeError(f"consent form {failed.pk} failed: {failed.error}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{len(ids)} forms not rendered in {RUN_TIMEOUT} s")
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
        done = [memory.memory(worker.pid) for worker in started]
        succeeded = re.compile(r"consent_render_task\[[^\]]+\] succeeded")
        tasks = [len(succeeded.findall(worker.log.read_text())) for worker in started]
    return Pass(seconds=elapsed, tasks=tasks, idle=[worker.idle for worker in started], done=done)


def workers_benchmark(cast: Cast, env: dict[str, str], *, pdfs: int) -> list[Row]:
    """Four passes of ``pdfs`` distinct forms, with 1, 2, 2 and 1 workers: the machine is
    shared, and this order lets a drift in its other load hit both sides alike."""
    order = (1, 2, 2, 1)
    # Distinct forms for every pass, queued through the services before any clock starts.
    passes = [[document.pk for document in consent_documents(cast, pdfs)] for _ in order]
    times: dict[int, list[float]] = {1: [], 2: []}
    split: list[int] = [0, 0]
    alone: list[Pass] = []  # the passes where one worker renders every form
    for workers, ids in zip(order, passes, strict=True):
        run = _render_with_workers(env, ids, workers)
        times[workers].append(run.seconds)
        if workers == 2:
            split = [a + b for a, b in zip(split, run.tasks, strict=True)]
        else:
            alone.append(run)
    one, two = statistics.mean(times[1]), statistics.mean(times[2])
    cores = os.cpu_count() or 0
    idle = [run.idle[0] for run in alone]
    peaks = [run.done[0] for run in alone]
    return [
        Row(
            what=f"{pdfs} consent PDFs through Celery worker processes (`--pool solo`, "
            f"`--concurrency 1` each), 2 against 1, wall-clock, mean of 2 passes each "
            f"(order 1, 2, 2, 1)",
            baseline=f"1 worker: {one:.1f} s ({pdfs / one:.1f} PDFs/s)",
            measured=f"2 workers: {two:.1f} s ({pdfs / two:.1f} PDFs/s; tasks per worker "
            f"{split[0]} + {split[1]})",
            ratio=f"{one / two:.2f}x speed-up",
            target=f"< 2x expected on {cores} cores",
        ),
        Row(
            what=f"Peak RSS of a Celery worker rendering {pdfs} consent PDFs (`--pool solo`, "
            f"VmHWM; the 2 passes with 1 worker)",
            baseline="idle after start-up: " + ", ".join(memory.mib(m.rss) for m in idle),
            measured="peak: "
            + ", ".join(memory.mib(m.peak) for m in peaks)
            + "; at the end: "
            + ", ".join(memory.mib(m.rss) for m in peaks),
            ratio=f"{max(m.peak for m in peaks) / max(m.rss for m in idle):.2f}x",
            target="reported",
        ),
    ]
