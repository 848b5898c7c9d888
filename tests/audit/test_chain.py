"""The audit trail is hash-chained, append-only, and verify_audit finds tampering."""

from contextlib import contextmanager

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from audit.actions import AuditAction
from audit.models import GENESIS_HASH, AuditEvent
from audit.services import audit_chain_verify, audit_event_hash, audit_record


def _three_events(actor):
    return [
        audit_record(
            actor=actor,
            action=list(AuditAction)[i],
            object_type="test",
            object_id=i,
            summary=f"event {i}",
            before={"v": i},
            after={"v": i + 1},
        )
        for i in range(1, 4)
    ]


@contextmanager
def _trigger_disabled():
    """What a DBA with table-owner rights could do: switch the append-only trigger off."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # Deferred foreign-key checks must fire before the table can be altered.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only")
    try:
        yield
    finally:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "ALTER TABLE audit_auditevent ENABLE TRIGGER audit_event_append_only"
                )


def test_events_form_a_hash_chain(physician):
    first, second, third = _three_events(physician)
    assert first.previous_hash == GENESIS_HASH
    assert second.previous_hash == first.event_hash
    assert third.previous_hash == second.event_hash
    assert [e.sequence for e in (first, second, third)] == [1, 2, 3]
    assert third.event_hash == audit_event_hash(AuditEvent.objects.get(pk=third.pk))
    assert first.hospital == physician.hospital
    assert first.actor_username == "dr.house"


def test_verify_audit_passes_on_an_intact_chain(physician, capsys):
    _three_events(physician)
    call_command("verify_audit")
    assert "3 events verified" in capsys.readouterr().out


def test_verify_audit_detects_a_row_altered_by_sql(physician):
    _three_events(physician)
    with _trigger_disabled(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET summary = 'nothing to see' WHERE sequence = 2")
    with pytest.raises(CommandError, match=r"Event #2 .* was altered"):
        call_command("verify_audit")


def test_verify_audit_detects_json_altered_by_sql(physician):
    _three_events(physician)
    with _trigger_disabled(), connection.cursor() as cursor:
        cursor.execute("""UPDATE audit_auditevent SET "after" = '{"v": 99}' WHERE sequence = 1""")
    report = audit_chain_verify()
    assert not report.ok and report.first_problem_sequence == 1


def test_verify_audit_detects_a_removed_event(physician):
    _three_events(physician)
    with _trigger_disabled(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE sequence = 2")
    with pytest.raises(CommandError, match=r"Event #2 is missing"):
        call_command("verify_audit")


def test_verify_audit_detects_the_last_event_removed(physician):
    _three_events(physician)
    with _trigger_disabled(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE sequence = 3")
    report = audit_chain_verify()
    assert not report.ok
    assert "events at the end were removed" in report.message


def test_verify_audit_detects_an_inserted_event(physician):
    events = _three_events(physician)
    # A forger inserts an event with a self-consistent hash but bypasses the chain head.
    forged = AuditEvent(
        sequence=4,
        occurred_at=events[-1].occurred_at,
        actor=physician,
        actor_username="dr.house",
        hospital=physician.hospital,
        action="test.forged",
        object_type="test",
        object_id="x",
        summary="forged",
        previous_hash=events[-1].event_hash,
    )
    forged.event_hash = audit_event_hash(forged)
    AuditEvent.objects.bulk_create([forged])
    report = audit_chain_verify()
    assert not report.ok and report.first_problem_sequence == 4


def test_verify_audit_detects_an_event_relinked_in_the_middle(physician):
    events = _three_events(physician)
    with _trigger_disabled(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET previous_hash = %s WHERE sequence = 3",
            [events[0].event_hash],
        )
    report = audit_chain_verify()
    assert not report.ok and report.first_problem_sequence == 3


def test_orm_refuses_to_change_or_delete_an_event(physician):
    event = audit_record(
        actor=physician, action=AuditAction.HOSPITAL_CREATED, object_type="t", summary="s"
    )
    event.summary = "changed"
    with pytest.raises(RuntimeError, match="append-only"):
        event.save()
    with pytest.raises(RuntimeError, match="append-only"):
        event.delete()


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="the trigger exists on PostgreSQL")
def test_postgresql_trigger_refuses_update_and_delete(physician):
    audit_record(actor=physician, action=AuditAction.HOSPITAL_CREATED, object_type="t", summary="s")
    for sql in ("UPDATE audit_auditevent SET summary = 'x'", "DELETE FROM audit_auditevent"):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as c,
        ):
            c.execute(sql)
    assert AuditEvent.objects.get().summary == "s"


def test_event_rolls_back_with_the_change_it_records(physician):
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        audit_record(
            actor=physician, action=AuditAction.HOSPITAL_CREATED, object_type="t", summary="s"
        )
        1 / 0  # noqa: B018 - the change that follows the audit row fails
    assert not AuditEvent.objects.exists()
    # The chain head rolled back too: the next event is still #1.
    assert (
        audit_record(
            actor=physician, action=AuditAction.USER_CREATED, object_type="t", summary="s"
        ).sequence
        == 1
    )


def test_admin_shows_the_trail_but_cannot_add_change_or_delete(client, physician):
    event = audit_record(
        actor=physician, action=AuditAction.HOSPITAL_CREATED, object_type="t", summary="s"
    )
    root = type(physician).objects.create_superuser(
        "root", "root@example.invalid", "Xx-long-pass-42"
    )
    client.force_login(root)
    assert client.get("/admin/audit/auditevent/").status_code == 200
    assert client.get("/admin/audit/auditevent/add/").status_code == 403
    client.post(f"/admin/audit/auditevent/{event.pk}/change/", {"summary": "rewritten"})
    assert (
        client.post(f"/admin/audit/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    event.refresh_from_db()
    assert event.summary == "s"
