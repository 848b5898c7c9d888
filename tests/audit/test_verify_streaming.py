"""verify_audit reads the chain as tuples in batches (a server-side cursor, or keyset pages when
server-side cursors are off, as behind PgBouncer in transaction mode) and hashes them with the
same function the writer uses: the tuple's hash must be byte-for-byte the event's."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.actions import AuditAction
from audit.context import PendingSignature, current_signature
from audit.models import AuditEvent
from audit.services import (
    AUDIT_HASHED_FIELDS,
    audit_canonical,
    audit_chain_rows,
    audit_chain_verify,
    audit_event_canonical,
    audit_event_hash,
    audit_record,
    audit_values_hash,
)
from tests.audit.test_chain import _trigger_disabled

HASHED = len(AUDIT_HASHED_FIELDS)


@pytest.fixture(params=["server-side cursor", "keyset batches"])
def cursor_mode(request, monkeypatch):
    """Both ways of reading the chain; the second is what PgBouncer's transaction mode needs."""
    if request.param == "keyset batches":
        monkeypatch.setitem(connection.settings_dict, "DISABLE_SERVER_SIDE_CURSORS", True)
    return request.param


def _awkward_events(physician):
    """Events whose canonical JSON has every hard case: unicode, nesting, nulls, numbers
    written as strings, an IPv6 address, a system event, and an electronic signature."""
    audit_record(
        actor=physician,
        action=AuditAction.PATIENT_UPDATED,
        object_type="test",
        object_id="ü-1",
        summary="Paziente «Zoë» — dose ridotta ½ ✓ 患者 🙂",
        before={"note": "perché", "nested": {"list": [1, "due", None, {"x": []}], "empty": {}}},
        after={"note": "così", "dose": Decimal("0.50"), "when": timezone.now(), "flag": False},
        ip_address="2001:db8::1",
    )
    audit_record(
        actor=None, action=AuditAction.AUDIT_CHECK_REQUESTED, object_type="test", summary="system"
    )
    signed_at = timezone.now() - timedelta(minutes=1)
    token = current_signature.set(
        PendingSignature(
            signer_id=physician.pk,
            payload={
                "meaning": "I approve this off-label use",
                "meaning_code": "request.approved",
                "meaning_params": {"farmaco": "Venetoclax", "ciclo": 2},
                "signer_name": "Dott.ssa Ada Lovelace-Müller",
                "signer_username": physician.get_username(),
                "signed_at": signed_at.isoformat(),
                "method": "password+totp",
                "authenticated_at": signed_at.isoformat(),
            },
        )
    )
    try:
        audit_record(
            actor=physician,
            action=AuditAction.REQUEST_APPROVE,
            object_type="test",
            object_id=7,
            summary="signed act",
            before=None,
            after={"status": "approved", "reason": None},
            ip_address="10.0.0.7",
        )
    finally:
        current_signature.reset(token)
    for i in range(4):  # enough to span several batches of 2
        audit_record(
            actor=physician,
            action=AuditAction.REQUEST_UPDATED,
            object_type="test",
            object_id=i,
            summary=f"event {i}",
        )


def test_streamed_hash_equals_the_event_hash_for_awkward_contents(physician, cursor_mode):
    _awkward_events(physician)
    signed = AuditEvent.objects.get(action=AuditAction.REQUEST_APPROVE)
    assert signed.after["signature"]["meaning_params"] == {"farmaco": "Venetoclax", "ciclo": 2}
    rows = list(audit_chain_rows(batch_size=2))
    assert [row[0] for row in rows] == list(range(1, 8))
    for row in rows:
        event = AuditEvent.objects.get(sequence=row[0])
        values, stored_hash = row[:HASHED], row[HASHED]
        assert audit_canonical(values) == audit_event_canonical(event)  # byte-identical
        assert audit_values_hash(values) == audit_event_hash(event) == stored_hash
    assert "Zoë" in audit_canonical(rows[0][:HASHED]).decode()  # not \\u-escaped
    report = audit_chain_verify(batch_size=2)
    assert report.ok and report.events_checked == 7, report.message


def test_the_walk_finds_an_alteration_in_a_later_batch(physician, cursor_mode):
    _awkward_events(physician)
    with _trigger_disabled(), connection.cursor() as cursor:
        cursor.execute(
            """UPDATE audit_auditevent SET "after" = jsonb_set("after", '{signature,method}',"""
            """ '"password"') WHERE sequence = 3"""
        )
    report = audit_chain_verify(batch_size=2)
    assert not report.ok and report.first_problem_sequence == 3
    assert "request.approve test:7" in report.message and "altered" in report.message


def test_the_walk_finds_an_event_removed_at_a_batch_boundary(physician, cursor_mode):
    _awkward_events(physician)
    with _trigger_disabled(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE sequence = 5")
    report = audit_chain_verify(batch_size=2)
    assert not report.ok and report.first_problem_sequence == 5
    assert "missing" in report.message


def _open_server_side_cursors() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_cursors WHERE name LIKE '_django_curs_%%'")
        return int(cursor.fetchone()[0])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL cursors")
def test_the_chain_is_read_through_a_server_side_cursor(physician):
    _awkward_events(physician)
    rows = audit_chain_rows(batch_size=2)
    next(rows)
    assert _open_server_side_cursors() == 1  # the walk holds one named cursor open
    assert len(list(rows)) == 6
    assert _open_server_side_cursors() == 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL cursors")
def test_without_server_side_cursors_the_chain_is_read_in_keyset_batches(physician, monkeypatch):
    _awkward_events(physician)  # 7 events
    monkeypatch.setitem(connection.settings_dict, "DISABLE_SERVER_SIDE_CURSORS", True)
    with CaptureQueriesContext(connection) as captured:
        rows = audit_chain_rows(batch_size=3)
        next(rows)
        assert _open_server_side_cursors() == 0
        assert len(list(rows)) == 6
    pages = [q["sql"] for q in captured.captured_queries if "audit_auditevent" in q["sql"]]
    assert len(pages) == 3  # 3 + 3 + 1 rows: the short page ends the walk
    assert all("ORDER BY" in sql and sql.endswith("LIMIT 3") for sql in pages), pages
    # The first page starts at the beginning; each next one after the last sequence read.
    assert ['"sequence" > 3' in pages[1], '"sequence" > 6' in pages[2]] == [True, True]
