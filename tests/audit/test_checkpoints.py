"""Signed checkpoints outside the database catch what the hash chain alone cannot: whoever
controls the database truncating the chain, cutting its tail, or rewriting an event and
re-chaining everything after it with the app's own hash function."""

import base64
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from audit.actions import AuditAction
from audit.checkpoints import anchor_dir, audit_checkpoint_write, key_id
from audit.models import GENESIS_HASH, AuditChainCheck, AuditEvent
from audit.services import audit_chain_verify, audit_event_hash, audit_record
from audit.tasks import audit_chain_verify_task, audit_checkpoint_task


def _events(actor, count: int, start: int = 1) -> list[AuditEvent]:
    return [
        audit_record(
            actor=actor,
            action=AuditAction.HOSPITAL_CREATED,
            object_type="t",
            object_id=i,
            summary=f"event {i}",
        )
        for i in range(start, start + count)
    ]


@contextmanager
def _as_superuser() -> Iterator[Any]:
    """What the issue describes: a superuser skips every trigger with
    session_replication_role=replica (on SQLite there are no triggers to skip)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending FK checks for TRUNCATE
            cursor.execute("SET session_replication_role = replica")
        try:
            yield cursor
        finally:
            if connection.vendor == "postgresql":
                cursor.execute("SET session_replication_role = DEFAULT")


def _head_reset(cursor, sequence: int, event_hash: str) -> None:
    cursor.execute(
        "UPDATE audit_auditchainhead SET last_sequence = %s, last_hash = %s",
        [sequence, event_hash],
    )


def _verify_audit_fails(*patterns: str) -> str:
    with pytest.raises(CommandError) as refused:
        call_command("verify_audit")
    message = str(refused.value)
    for pattern in patterns:
        assert pattern in message, message
    return message


def test_verify_audit_passes_with_intact_chain_and_checkpoints(physician, capsys):
    _events(physician, 3)
    first = audit_checkpoint_write()
    _events(physician, 2, start=4)
    call_command("audit_checkpoint")
    call_command("verify_audit")
    out = capsys.readouterr().out
    assert "5 events verified" in out and "2 signed checkpoints agree with the chain" in out
    assert first.number == 1 and first.sequence == 3
    assert first.path.parent == anchor_dir()
    saved = json.loads(first.path.read_text())
    assert saved["sequence"] == 3 and saved["hash"] == AuditEvent.objects.get(sequence=3).event_hash
    assert saved["count"] == 3 and set(saved) >= {"recorded_at", "signature", "key_id"}


def test_verify_audit_finds_the_chain_truncated_and_its_head_reset(physician):
    _events(physician, 4)
    audit_checkpoint_write()
    with _as_superuser() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("TRUNCATE audit_auditevent CASCADE")  # signatures refer to events
        else:
            cursor.execute("DELETE FROM audit_auditevent")
        _head_reset(cursor, 0, GENESIS_HASH)
    assert audit_chain_verify().ok  # the walk alone is fooled: an empty chain is consistent
    _verify_audit_fails("checkpoint-00000001.json", "recorded #4", "truncated")


def test_verify_audit_finds_the_tail_deleted(physician):
    events = _events(physician, 5)
    audit_checkpoint_write()
    with _as_superuser() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE sequence > 3")
        _head_reset(cursor, 3, events[2].event_hash)
    assert audit_chain_verify().ok
    _verify_audit_fails("The chain ends at #3", "recorded #5", "tail deleted")


def test_verify_audit_finds_an_event_rewritten_and_the_chain_recomputed(physician):
    _events(physician, 5)
    audit_checkpoint_write()
    # Rewrite event #3 and re-chain #3..#5 with the app's own hash function.
    rewritten = list(AuditEvent.objects.filter(sequence__gte=3).order_by("sequence"))
    previous_hash = AuditEvent.objects.get(sequence=2).event_hash
    with _as_superuser() as cursor:
        for event in rewritten:
            if event.sequence == 3:
                event.summary = "nothing happened"
            event.previous_hash = previous_hash
            event.event_hash = audit_event_hash(event)
            previous_hash = event.event_hash
            cursor.execute(
                "UPDATE audit_auditevent SET summary = %s, previous_hash = %s, event_hash = %s "
                "WHERE sequence = %s",
                [event.summary, event.previous_hash, event.event_hash, event.sequence],
            )
        _head_reset(cursor, 5, previous_hash)
    assert audit_chain_verify().ok  # self-consistent again
    _verify_audit_fails("Event #5 has another hash", "checkpoint-00000001.json", "re-chained")


def test_verify_audit_refuses_a_checkpoint_signed_with_another_key(physician):
    events = _events(physician, 2)
    audit_checkpoint_write()
    # The attacker writes the next checkpoint with a key of their own.
    forger = Ed25519PrivateKey.generate()
    fields = {
        "number": 2,
        "sequence": 2,
        "hash": events[1].event_hash,
        "recorded_at": timezone.now().isoformat(),
        "count": 2,
        "key_id": key_id(forger.public_key()),
    }
    signed = json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()
    fields["signature"] = base64.b64encode(forger.sign(signed)).decode()
    (anchor_dir() / "checkpoint-00000002.json").write_text(json.dumps(fields))
    _verify_audit_fails("checkpoint-00000002.json is forged")


def test_verify_audit_refuses_a_checkpoint_edited_after_signing(physician):
    _events(physician, 3)
    checkpoint = audit_checkpoint_write()
    fields = json.loads(checkpoint.path.read_text())
    fields["sequence"] = 1  # pretend the chain was shorter, to cover a tail deletion
    fields["hash"] = AuditEvent.objects.get(sequence=1).event_hash
    os.chmod(checkpoint.path, 0o644)
    checkpoint.path.write_text(json.dumps(fields))
    _verify_audit_fails("checkpoint-00000001.json is forged")


def test_verify_audit_finds_a_deleted_checkpoint(physician):
    for start in (1, 3, 5):
        _events(physician, 2, start=start)
        audit_checkpoint_write()
    (anchor_dir() / "checkpoint-00000002.json").unlink()
    _verify_audit_fails("checkpoint-00000002.json missing", "deleted")


def test_verify_audit_finds_the_newest_checkpoints_deleted_once_overdue(physician, settings):
    _events(physician, 2)
    audit_checkpoint_write()
    _events(physician, 2, start=3)
    audit_checkpoint_write()
    (anchor_dir() / "checkpoint-00000002.json").unlink()  # no gap left behind
    call_command("verify_audit")  # within the interval, nothing can tell yet
    later = timezone.now() + timedelta(minutes=2 * settings.AUDIT_CHECKPOINT_MINUTES + 1)
    with time_machine.travel(later):
        _verify_audit_fails("No checkpoint covers event #3", "checkpoint job is not running")


def test_verify_audit_fails_when_no_checkpoint_was_ever_written(physician, settings):
    _events(physician, 1)
    later = timezone.now() + timedelta(minutes=2 * settings.AUDIT_CHECKPOINT_MINUTES + 1)
    with time_machine.travel(later):
        _verify_audit_fails("No checkpoint covers event #1")


def test_checkpoints_are_numbered_and_never_overwritten(physician):
    _events(physician, 1)
    first = audit_checkpoint_write()
    second = audit_checkpoint_write()
    assert (first.number, second.number) == (1, 2)
    assert sorted(p.name for p in anchor_dir().iterdir()) == [
        "checkpoint-00000001.json",
        "checkpoint-00000002.json",
    ]  # no temporary file left behind


def test_the_beat_tasks_write_a_checkpoint_and_record_a_failed_check(physician):
    events = _events(physician, 3)
    assert audit_checkpoint_task() == 1
    assert audit_chain_verify_task()
    assert AuditChainCheck.objects.get().ok
    with _as_superuser() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE sequence = 3")
        _head_reset(cursor, 2, events[1].event_hash)
    audit_chain_verify_task()
    failed = AuditChainCheck.objects.order_by("-pk").first()
    assert failed is not None and not failed.ok and "recorded #3" in failed.message


def test_audit_checkpoint_needs_a_signing_key(settings, db):
    settings.AUDIT_SIGNING_KEY = ""
    with pytest.raises(CommandError, match="AUDIT_SIGNING_KEY is not set"):
        call_command("audit_checkpoint")


def test_audit_keygen_creates_a_private_key_only_its_owner_reads_and_never_overwrites(
    tmp_path, capsys
):
    path = tmp_path / "new" / "signing.pem"
    call_command("audit_keygen", "--path", str(path))
    assert path.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "new" / "signing.pub.pem").exists()
    before = path.read_bytes()
    with pytest.raises(CommandError, match="never overwritten"):
        call_command("audit_keygen", "--path", str(path))
    call_command("audit_keygen", "--path", str(path), "--if-missing")
    assert path.read_bytes() == before
