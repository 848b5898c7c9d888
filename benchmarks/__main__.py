"""Benchmarks, each reported as a ratio against a baseline measured in the same run.

    python3 scripts/dev.py bench            # the full run; rewrites the README's table
    python3 scripts/dev.py bench --quick    # smaller data, prints the table only
    python3 scripts/dev.py bench --only pages,report
    python3 scripts/dev.py bench --scale    # PostgreSQL: 10,000 requests, then 1,000,000

pages    the pharmacy queue page and the request list API with 10,000 requests against a
         bare one-query view, and their SQL query counts at 100 and at 10,000 requests
report   the administrator's report over 10,000 requests and 100,000 audit events against
         one aggregate query
audit    verify_audit (events/s) against the same hashing in plain Python
load     the queue page under gunicorn against /healthz on the same server
consent  the consent PDF pipeline against WeasyPrint + the pyHanko seal on the same HTML
workers  100 consent PDFs through 2 Celery worker processes against 1

--scale (a run of its own, PostgreSQL only; 15 to 30 minutes) copies the database with one
hospital at 10,000 requests, bulk-loads 1,000,000 requests across 50 hospitals and 10,000,000
audit events with COPY, then measures that hospital's queue page, request list API, registry
and report on both databases in alternating rounds (benchmarks/scale_run.py).

Everything runs on a throw-away database in var/bench/ (SQLite; PostgreSQL ``<name>_bench``
next to the database of ``DATABASE_URL`` when that is PostgreSQL), with invented data only.
Speed targets live here, never in the unit tests.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import date

from benchmarks import environment
from benchmarks.results import (
    SCALE_END_MARKER,
    SCALE_START_MARKER,
    Row,
    readme_rewrite,
    readme_scale_section,
    readme_section,
    table,
)

BENCHMARKS = ("pages", "report", "audit", "load", "consent", "workers")
NEED_BULK_DATA = {"pages", "report", "audit", "load"}
SMALL = 100  # requests when the query counts are first taken


@dataclass(frozen=True)
class Sizes:
    requests: int
    events: int
    pdfs: int
    page_runs: int
    report_runs: int
    verify_runs: int
    consent_rounds: int
    load_seconds: float
    load_warmup: float
    gunicorn_workers: int


FULL = Sizes(
    requests=10_000,
    events=100_000,
    pdfs=100,
    page_runs=20,
    report_runs=5,
    verify_runs=3,
    consent_rounds=int(os.environ.get("BENCH_ROUNDS", "7")),
    load_seconds=15,
    load_warmup=3,
    gunicorn_workers=2,
)
QUICK = replace(
    FULL,
    requests=1_000,
    events=10_000,
    pdfs=10,
    page_runs=8,
    report_runs=3,
    verify_runs=2,
    consent_rounds=3,
    load_seconds=4,
    load_warmup=1,
)

NOTES = [
    "How each figure is taken (`benchmarks/`):",
    "",
    "- **Data**: bulk-written, all invented: one hospital, requests in every state (half of "
    "them waiting in the queue) with a patient each, the transitions of their path, a pathway "
    "choice, 1–3 studies, outside applications and dispensations; audit events hashed and "
    "chained with the audit service's own `audit_event_hash`, and `audit_chain_verify()` must "
    "pass before anything is timed.",
    "- **Pages and API**: `django.test.Client` with a pharmacist's session (`force_login`), the "
    "whole middleware stack and `ATOMIC_REQUESTS`; medians after a warm-up, page and baseline "
    "alternating. The baselines (`benchmarks/urls.py`) read the same 25 rows with one "
    "`.values()` query behind the same middleware, with the columns the page shows or the API "
    "returns (the request's fields, patient pseudonym, prescriber, drug, attachment count) and "
    "return them as JSON: the ratio is what permissions, filters, pagination with its count "
    "and the template or serializer add to reading the data. Each baseline reads its rows in "
    "order from the list's partial index (`request_waiting_idx`, `request_recent_idx`), and "
    "`benchmarks/pages.py` asserts with EXPLAIN that the page's query and the baseline's are "
    "index scans with no sort before anything is timed. Where the queue page's time goes "
    "beyond its baseline (profiled): the 25 rows as model instances and their table about "
    "6.5 ms, the base layout about 2 ms, the count about 1 ms, and one more query for a "
    "permission the pharmacist's role does not grant. Query counts: one request after a "
    "warm-up one, with 100 requests and again after growing to the full size.",
    "- **Report**: `report_compute(hospital=…, filters=ReportFilters())` (no filter: every "
    "request of the hospital) against one `GROUP BY status` query with the hospital's "
    "audit-event count as a scalar subquery (the report itself reads no audit events, so a "
    "second, informative row compares it with the requests' own GROUP BY alone).",
    "- **verify_audit**: `audit_chain_verify()` over the whole chain against the same walk "
    "(order, link, canonical JSON, SHA-256) on rows read into memory beforehand.",
    "- **Load**: gunicorn `sync` workers on 127.0.0.1, a closed-loop client "
    "(`benchmarks/loadgen.py`: 2 processes × 4 threads = 8 connections, each with a session of "
    "its own, a prebuilt request sent over a plain socket, a new connection per request) for a "
    "fixed time after a warm-up; any status but 200, or a page without requests, counts as an "
    "error. With a Redis broker the server keeps sessions `cached_db` in Redis, as production "
    "does. CPU per request is read from /proc for the gunicorn workers, the PostgreSQL "
    "backends and the client; client and server share the machine's 2 cores. On SQLite every "
    "request runs in a `BEGIN IMMEDIATE` transaction (`ATOMIC_REQUESTS`), so the gunicorn "
    "workers take turns at the database; PostgreSQL lets them overlap.",
    "- **Memory**: peak RSS is the kernel's `VmHWM` of each process, against its RSS after the "
    "warm-up (gunicorn) or idle after start-up (Celery). The leak check sends 1,000 queue pages "
    "to one gunicorn worker after 200 to warm up and reads its `VmRSS` every 50, after a full "
    "garbage collection in the worker (a benchmark-only path of `benchmarks/memory.py`): "
    "without it the RSS climbs about 5 KB a request until the collector's next full pass, "
    "with the same number of live objects, which is not a leak. No growth means at most "
    "1,000 KiB over the 1,000 requests and a trend of at most 1 KiB a request.",
    "- **Celery**: real `celery -A offlabel worker` processes, each `--pool solo "
    "--concurrency 1`, on a queue of their own; the clock runs from the first task sent (the "
    "workers already up) to the last form stored. The filesystem broker polls once a second "
    "when idle, which adds up to about a second to both runs.",
    "- **Consent**: `consent_render` in-process against WeasyPrint on the same HTML, then "
    "pyHanko sealing it with the same certificate and TSA (every PDF is sealed).",
]


def say(message: str, started: float) -> None:
    print(f"==> [{time.monotonic() - started:6.1f} s] {message}", flush=True)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python3 scripts/dev.py bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="smaller data; README untouched")
    parser.add_argument(
        "--only", default=",".join(BENCHMARKS), help=f"comma-separated: {','.join(BENCHMARKS)}"
    )
    parser.add_argument("--no-readme", action="store_true", help="print the table only")
    parser.add_argument(
        "--sqlite", action="store_true", help="SQLite even when DATABASE_URL is PostgreSQL"
    )
    parser.add_argument(
        "--scale",
        action="store_true",
        help="PostgreSQL only: 10,000 requests, then 1,000,000 across 50 hospitals "
        "(with --quick: a small region); --only does not apply",
    )
    args = parser.parse_args(argv)
    unknown = set(args.only.split(",")) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    return args


def bench_setup(*, force_sqlite: bool, started: float) -> environment.BenchEnvironment:
    """A fresh bench database, migrated, with the studies and rules, and the static files."""
    bench = environment.prepare(force_sqlite=force_sqlite)
    if bench.postgres_admin_url:
        environment.postgres_recreate(bench.env["DATABASE_URL"], bench.postgres_admin_url)

    import django

    django.setup()
    from django.core.management import call_command

    from benchmarks import dataset

    say(f"database {bench.database}: migrating, loading studies and rules", started)
    dataset.database_prepare()
    digest = environment.static_sources_digest()
    stamp = environment.STATIC_STAMP
    if not stamp.exists() or stamp.read_text() != digest:
        say("collecting static files (compressed manifest, as in production)", started)
        call_command("collectstatic", "--noinput", verbosity=0)
        stamp.write_text(digest)
    return bench


def database_description() -> str:
    from django.db import connection

    if connection.vendor == "sqlite":
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}"
    pg_version = int(getattr(connection, "pg_version", 0))
    return f"PostgreSQL {pg_version // 10000}.{pg_version % 10000}"


def main(argv: list[str]) -> None:
    args = parse(argv)
    if args.scale:
        scale_main(args)
        return
    selected = [name for name in BENCHMARKS if name in args.only.split(",")]
    sizes = QUICK if args.quick else FULL
    started = time.monotonic()
    load_at_start = environment.load_average()
    bench = bench_setup(force_sqlite=args.sqlite, started=started)

    from django.db import connection

    from benchmarks import dataset
    from benchmarks.audit_chain import audit_benchmark
    from benchmarks.consent import consent_benchmark
    from benchmarks.load import load_benchmark, sessions_description
    from benchmarks.pages import pages_benchmark, query_counts
    from benchmarks.report import report_benchmark, report_query_count
    from benchmarks.workers import workers_benchmark

    cast = dataset.cast_create()
    rows: list[Row] = []

    def report(new: list[Row]) -> None:
        rows.extend(new)
        for row in new:
            print(f"    {row.what}: {row.measured} against {row.baseline} -> {row.ratio}")

    if NEED_BULK_DATA & set(selected):
        from audit.services import audit_chain_verify

        dataset.requests_grow_to(cast, SMALL)
        small, small_report = query_counts(cast), report_query_count(cast)
        say(f"writing {sizes.requests:,} requests and {sizes.events:,} audit events", started)
        dataset.requests_grow_to(cast, sizes.requests)
        dataset.audit_fill_to(cast, sizes.events)
        if connection.vendor == "postgresql":
            # Production's autovacuum keeps table statistics and the visibility map; a bulk
            # load outruns it (and some servers run without it): without ANALYZE the planner
            # sees about one request per hospital and picks plans no real database would, and
            # without VACUUM no page is all-visible, so the queue's count reads the table
            # instead of only its partial index (about 2 ms against 0.6 ms at 10,000).
            with connection.cursor() as cursor:
                cursor.execute("VACUUM (ANALYZE)")
        chain = audit_chain_verify()
        if not chain.ok:  # the generated chain must be one the real check accepts
            raise SystemExit(f"generated audit chain rejected: {chain.message}")
        large = query_counts(cast)
    steps: dict[str, tuple[str, Callable[[], list[Row]]]] = {
        "pages": (
            "queue page and request list API against bare views",
            lambda: pages_benchmark(
                cast, runs=sizes.page_runs, warmup=3, small=small, small_n=SMALL, large=large
            ),
        ),
        "report": (
            "admin report against one aggregate query",
            lambda: report_benchmark(
                cast, runs=sizes.report_runs, small_queries=small_report, small_n=SMALL
            ),
        ),
        "audit": (
            "verify_audit against plain-Python hashing",
            lambda: audit_benchmark(runs=sizes.verify_runs),
        ),
        "load": (
            "load run under gunicorn: /healthz, then the queue page",
            lambda: load_benchmark(
                cast,
                bench.env,
                workers=sizes.gunicorn_workers,
                seconds=sizes.load_seconds,
                warmup=sizes.load_warmup,
            ),
        ),
        "consent": (
            "consent pipeline against WeasyPrint",
            lambda: consent_benchmark(cast, rounds=sizes.consent_rounds),
        ),
        "workers": (
            f"{sizes.pdfs} consent PDFs through 1, 2, 2, then 1 Celery workers",
            lambda: workers_benchmark(cast, bench.env, pdfs=sizes.pdfs),
        ),
    }
    broken: list[str] = []
    for name in selected:
        message, run = steps[name]
        say(message, started)
        try:
            report(run())
        except Exception:  # one broken benchmark must not cost the others' figures
            traceback.print_exc()
            broken.append(name)

    database = database_description()
    machine = environment.machine_description(database, (load_at_start, environment.load_average()))
    broker = "kombu filesystem transport" if bench.broker.startswith("filesystem") else "Redis"
    complete = not args.quick and selected == list(BENCHMARKS)
    title = "Last full run of `make bench`" if complete else "This run (not the full one)"
    header = (
        f"{title}: {date.today().isoformat()}, {machine}; broker: "
        f"{broker}. Settings: `DJANGO_DEBUG=false` with the compressed static manifest, "
        f"plain HTTP on 127.0.0.1 (`DJANGO_SECURE_SSL_REDIRECT=false`), log level WARNING, "
        f"{sessions_description(bench.env)} for the load run; gunicorn "
        f"{sizes.gunicorn_workers} sync workers. "
        f"The whole run took {(time.monotonic() - started) / 60:.1f} minutes."
    )
    print()
    print(header)
    print()
    print(table(rows))
    (environment.WORKDIR / "results.json").write_text(
        json.dumps({"header": header, "rows": [asdict(row) for row in rows]}, indent=2)
    )
    if broken:
        say(f"failed: {', '.join(broken)}; README.md left as it was", started)
    elif complete and not args.no_readme:
        section = readme_section(rows=rows, header=header, notes=NOTES)
        readme = environment.ROOT / "README.md"
        if readme_rewrite(readme, section):
            say("README.md: benchmark table rewritten between the markers", started)
        else:
            say("README.md has no benchmark markers: table not written", started)
    failed = [row.what for row in rows if row.met is False]
    if failed:
        print("\nTargets not met:\n  " + "\n  ".join(failed))
    if broken:
        sys.exit(1)


def scale_main(args: argparse.Namespace) -> None:
    """``--scale``: its own data, rows, results.json and README section."""
    url = os.environ.get("DATABASE_URL", "")
    if args.sqlite or not url.startswith(("postgres://", "postgresql://")):
        # Before anything is emptied or started: the run is about PostgreSQL's plans and COPY.
        raise SystemExit(
            "--scale runs on PostgreSQL only (COPY, production's planner): set DATABASE_URL="
            "postgres://user@host:5432/name (the run works in name_bench) and drop --sqlite."
        )
    started = time.monotonic()
    load_at_start = environment.load_average()
    bench = bench_setup(force_sqlite=False, started=started)
    assert bench.postgres_admin_url is not None  # PostgreSQL, checked above

    from benchmarks import dataset
    from benchmarks.scale_run import SCALE_FULL, SCALE_NOTES, SCALE_QUICK, scale_rows, scale_run

    sizes = SCALE_QUICK if args.quick else SCALE_FULL
    cast = dataset.cast_create()
    outcome = scale_run(
        cast, sizes, lambda message: say(message, started), admin_url=bench.postgres_admin_url
    )
    rows = scale_rows(outcome)
    for row in rows:
        print(f"    {row.what}: {row.measured} against {row.baseline} -> {row.ratio}")

    machine = environment.machine_description(
        database_description(), (load_at_start, environment.load_average())
    )
    load = outcome.load
    title = "Last `--scale` run" if not args.quick else "This `--scale --quick` run"
    header = (
        f"{title}: {date.today().isoformat()}, {machine}. Load: {load.total:,} rows with "
        f"`COPY` in {load.seconds / 60:.1f} minutes ({load.rows_per_second:,.0f} rows/s), then "
        f"`VACUUM (ANALYZE)` in {outcome.vacuum_seconds / 60:.1f} minutes. PostgreSQL "
        f"settings of docker-compose.yml on the bench databases: "
        f"{', '.join(f'`{k}={v}`' for k, v in outcome.settings.items()) or 'none'}. Django "
        f"settings as for `make bench` (`DJANGO_DEBUG=false`, the compressed static manifest, "
        f"sessions in the database for the in-process pages). The whole run took "
        f"{(time.monotonic() - started) / 60:.1f} minutes."
    )
    print()
    print(header)
    print()
    print(table(rows))
    (environment.WORKDIR / "results.json").write_text(
        json.dumps(
            {"run": "scale", "header": header, "rows": [asdict(row) for row in rows]}, indent=2
        )
    )
    if not args.quick and not args.no_readme:
        section = readme_scale_section(rows=rows, header=header, notes=SCALE_NOTES)
        readme = environment.ROOT / "README.md"
        if readme_rewrite(readme, section, start=SCALE_START_MARKER, end=SCALE_END_MARKER):
            say("README.md: the --scale section rewritten between its markers", started)
        else:
            say("README.md has no --scale markers: section not written", started)
    failed = [row.what for row in rows if row.met is False]
    if failed:
        print("\nTargets not met:\n  " + "\n  ".join(failed))


if __name__ == "__main__":
    main(sys.argv[1:])
