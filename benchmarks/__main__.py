"""Benchmarks, each reported as a ratio against a baseline measured in the same run.

    python3 scripts/dev.py bench            # the full run; rewrites the README's table
    python3 scripts/dev.py bench --quick    # smaller data, prints the table only
    python3 scripts/dev.py bench --only pages,report

pages    the pharmacy queue page and the request list API with 10,000 requests against a
         bare one-query view, and their SQL query counts at 100 and at 10,000 requests
report   the administrator's report over 10,000 requests and 100,000 audit events against
         one aggregate query
audit    verify_audit (events/s) against the same hashing in plain Python
load     the queue page under gunicorn against /healthz on the same server
consent  the consent PDF pipeline against WeasyPrint + the pyHanko seal on the same HTML
workers  100 consent PDFs through 2 Celery worker processes against 1

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
from benchmarks.results import Row, readme_rewrite, readme_section, table

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
    "and the template or serializer add to reading the data. Against a narrower baseline that "
    "reads 7 columns and no attachment count, the API measures about 2.5x and the queue page "
    "about 1.8x: most of the API's own cost is DRF serializing 22 fields a row. The queue "
    "page's ratio also depends on the data: its order (oldest change first among the waiting "
    "states) is sorted, not read from an index, which costs the page and its baseline alike "
    "about 11 ms at 10,000 requests; at 1,000 (`--quick`) the sort is cheap and the page's "
    "own cost (template, filter form, count) makes it about 3.5x. Query counts: "
    "one request after a warm-up one, with 100 requests and again after growing to the full "
    "size.",
    "- **Report**: `report_compute(hospital=…, filters=ReportFilters())` (no filter: every "
    "request of the hospital) against one `GROUP BY status` query with the hospital's "
    "audit-event count as a scalar subquery.",
    "- **verify_audit**: `audit_chain_verify()` over the whole chain against the same walk "
    "(order, link, canonical JSON, SHA-256) on rows read into memory beforehand.",
    "- **Load**: gunicorn `sync` workers on 127.0.0.1, a closed-loop client "
    "(`benchmarks/loadgen.py`, processes × threads, `http.client`, a new connection per "
    "request) for a fixed time after a warm-up; any status but 200, or a page without "
    "requests, counts as an error. Client and server share the machine's cores. On SQLite "
    "every request runs in a `BEGIN IMMEDIATE` transaction (`ATOMIC_REQUESTS`), so the "
    "gunicorn workers take turns at the database; PostgreSQL lets them overlap.",
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
    args = parser.parse_args(argv)
    unknown = set(args.only.split(",")) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    return args


def main(argv: list[str]) -> None:
    args = parse(argv)
    selected = [name for name in BENCHMARKS if name in args.only.split(",")]
    sizes = QUICK if args.quick else FULL
    started = time.monotonic()
    load_at_start = environment.load_average()
    bench = environment.prepare(force_sqlite=args.sqlite)
    if bench.postgres_admin_url:
        environment.postgres_recreate(bench.env["DATABASE_URL"], bench.postgres_admin_url)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from benchmarks import dataset
    from benchmarks.audit_chain import audit_benchmark
    from benchmarks.consent import consent_benchmark
    from benchmarks.load import load_benchmark
    from benchmarks.pages import pages_benchmark, query_counts
    from benchmarks.report import report_benchmark, report_query_count
    from benchmarks.workers import workers_benchmark

    say(f"database {bench.database}: migrating, loading studies and rules", started)
    dataset.database_prepare()
    digest = environment.static_sources_digest()
    stamp = environment.STATIC_STAMP
    if not stamp.exists() or stamp.read_text() != digest:
        say("collecting static files (compressed manifest, as in production)", started)
        call_command("collectstatic", "--noinput", verbosity=0)
        stamp.write_text(digest)
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
            # Production's autovacuum keeps table statistics; a bulk load outruns it (and some
            # servers run without it): without ANALYZE the planner sees about one request per
            # hospital and picks plans no real database would.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
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

    if connection.vendor == "sqlite":
        import sqlite3

        database = f"SQLite {sqlite3.sqlite_version}"
    else:
        pg_version = int(getattr(connection, "pg_version", 0))
        database = f"PostgreSQL {pg_version // 10000}.{pg_version % 10000}"
    machine = environment.machine_description(database, (load_at_start, environment.load_average()))
    broker = "kombu filesystem transport" if bench.broker.startswith("filesystem") else "Redis"
    complete = not args.quick and selected == list(BENCHMARKS)
    title = "Last full run of `make bench`" if complete else "This run (not the full one)"
    header = (
        f"{title}: {date.today().isoformat()}, {machine}; broker: "
        f"{broker}. Settings: `DJANGO_DEBUG=false` with the compressed static manifest, "
        f"plain HTTP on 127.0.0.1 (`DJANGO_SECURE_SSL_REDIRECT=false`), log level WARNING, "
        f"sessions in the database; gunicorn {sizes.gunicorn_workers} sync workers. "
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


if __name__ == "__main__":
    main(sys.argv[1:])
