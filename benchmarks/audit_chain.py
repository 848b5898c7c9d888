"""``verify_audit`` (``audit_chain_verify``) against hashing the same canonical contents in plain
Python, with the rows already in memory: the ratio is what reading the chain from the
database (a server-side cursor, tuples, no model instances) costs on top of the hashing itself.
Target: ``audit_chain_verify`` keeps at least 0.6x the plain walk's throughput."""

from __future__ import annotations

import hashlib
import json
import statistics
from datetime import UTC
from typing import Any

from audit.models import GENESIS_HASH, AuditEvent
from audit.services import AUDIT_HASHED_FIELDS, audit_chain_verify
from benchmarks.results import Row, seconds

TARGET_THROUGHPUT_RATIO = 0.6
CANONICAL_FIELDS = AUDIT_HASHED_FIELDS  # the same fields, in the same order, as the writer hashes


def plain_verify(rows: list[dict[str, Any]]) -> int:
    """The chain walk of ``audit_chain_verify`` on plain dicts: order, link, then the hash of
    the same canonical JSON as ``audit_event_canonical``. Returns the events checked."""
    previous = GENESIS_HASH
    for expected, row in enumerate(rows, start=1):
        content = {name: row[name] for name in CANONICAL_FIELDS}
        content["occurred_at"] = (
            row["occurred_at"].astimezone(UTC).isoformat(timespec="microseconds")
        )
        canonical = json.dumps(
            content, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
        if (
            row["sequence"] != expected
            or row["previous_hash"] != previous
            or hashlib.sha256(canonical).hexdigest() != row["event_hash"]
        ):
            raise AssertionError(f"plain verification disagrees at #{row['sequence']}")
        previous = row["event_hash"]
    return len(rows)


def audit_benchmark(*, runs: int) -> list[Row]:
    report = audit_chain_verify()  # also the warm-up
    assert report.ok, report.message
    rows = list(
        AuditEvent.objects.order_by("sequence").values(*CANONICAL_FIELDS, "event_hash")
    )  # read once, outside the timing
    assert plain_verify(rows) == report.events_checked
    verify_times, plain_times = [], []
    for _ in range(runs):
        verify_times.append(seconds(audit_chain_verify))
        plain_times.append(seconds(lambda: plain_verify(rows)))
    n = report.events_checked
    verify_rate = n / statistics.median(verify_times)
    plain_rate = n / statistics.median(plain_times)
    return [
        Row(
            what=f"`verify_audit` (`audit_chain_verify`), {n:,} events, median of {runs}",
            baseline=f"same canonical JSON + SHA-256 chain in plain Python, rows in memory: "
            f"{plain_rate:,.0f} events/s",
            measured=f"{verify_rate:,.0f} events/s",
            ratio=f"{verify_rate / plain_rate:.2f}x the throughput",
            target=f"≥ {TARGET_THROUGHPUT_RATIO:.2f}x",
            met=verify_rate / plain_rate >= TARGET_THROUGHPUT_RATIO,
        )
    ]
