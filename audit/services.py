"""Writing and verifying the audit chain.

Every service that changes a record calls ``audit_record`` inside its own transaction, so
the change and its audit event commit or roll back together.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from accounts.models import Hospital, User
from audit.context import current_ip
from audit.models import GENESIS_HASH, AuditChainCheck, AuditChainHead, AuditEvent
from signatures.context import signature_audit_attach


def _json_normal(value: Any) -> Any:
    """What the JSON column will give back: hashing this makes stored == hashed."""
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def audit_event_canonical(event: AuditEvent) -> bytes:
    content = {
        "sequence": event.sequence,
        "occurred_at": event.occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_id": event.actor_id,
        "actor_username": event.actor_username,
        "hospital_id": event.hospital_id,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "summary": event.summary,
        "before": event.before,
        "after": event.after,
        "ip_address": event.ip_address,
        "previous_hash": event.previous_hash,
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def audit_event_hash(event: AuditEvent) -> str:
    return hashlib.sha256(audit_event_canonical(event)).hexdigest()


def audit_record(
    *,
    actor: User | None,
    action: str,
    target: Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    summary: str,
    hospital: Hospital | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    ip_address: str | None = None,
) -> AuditEvent:
    """Append one event to the chain, in the caller's transaction."""
    if target is not None:
        object_type = object_type or target._meta.label_lower
        object_id = object_id or str(target.pk)
    if hospital is None and actor is not None:
        hospital = actor.hospital
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
        event = AuditEvent(
            sequence=head.last_sequence + 1,
            occurred_at=timezone.now(),
            actor=actor,
            actor_username=actor.get_username() if actor is not None else "",
            hospital=hospital,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            summary=summary[:500],
            before=_json_normal(before),
            after=_json_normal(after),
            ip_address=ip_address if ip_address is not None else current_ip.get(),
            previous_hash=head.last_hash,
        )
        # An act signed electronically (issue 16) carries its signature, inside the hash.
        signature_audit_attach(event)
        event.event_hash = audit_event_hash(event)
        event.save()
        head.last_sequence = event.sequence
        head.last_hash = event.event_hash
        head.save(update_fields=["last_sequence", "last_hash"])
    return event


def audit_record_changes(
    *,
    actor: User | None,
    action: str,
    target: Model,
    summary_prefix: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> AuditEvent:
    """Record an edit with only the fields that changed, old and new, named in the summary."""
    changed = sorted(k for k in after if before.get(k) != after[k])
    return audit_record(
        actor=actor,
        action=action,
        target=target,
        summary=f"{summary_prefix}: {', '.join(changed) or 'no change'}",
        before={k: before.get(k) for k in changed},
        after={k: after[k] for k in changed},
    )


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    events_checked: int
    first_problem_sequence: int | None
    message: str


def audit_chain_verify(*, batch_size: int = 2000) -> ChainReport:
    """Walk the chain in order and report the first altered, removed or inserted event."""
    expected_sequence = 1
    previous_hash = GENESIS_HASH
    checked = 0
    queryset = AuditEvent.objects.order_by("sequence")
    for event in queryset.iterator(chunk_size=batch_size):
        checked += 1
        if event.sequence != expected_sequence:
            if event.sequence > expected_sequence:
                return ChainReport(
                    False,
                    checked,
                    expected_sequence,
                    f"Event #{expected_sequence} is missing (removed): the chain jumps to "
                    f"#{event.sequence}.",
                )
            return ChainReport(
                False,
                checked,
                event.sequence,
                f"Event #{event.sequence} is out of order (inserted).",
            )
        if event.previous_hash != previous_hash:
            return ChainReport(
                False,
                checked,
                event.sequence,
                f"Event #{event.sequence} does not link to the event before it "
                "(an event was removed or inserted before it).",
            )
        if audit_event_hash(event) != event.event_hash:
            return ChainReport(
                False,
                checked,
                event.sequence,
                f"Event #{event.sequence} ({event.action} {event.object_type}:{event.object_id}) "
                "was altered: its content no longer matches its hash.",
            )
        previous_hash = event.event_hash
        expected_sequence += 1
    head = AuditChainHead.objects.filter(pk=1).first()
    last_sequence = expected_sequence - 1
    if head is not None:
        if last_sequence > head.last_sequence:
            return ChainReport(
                False,
                checked,
                head.last_sequence + 1,
                f"Event #{head.last_sequence + 1} was inserted after the recorded end of the "
                f"chain (#{head.last_sequence}).",
            )
        if last_sequence < head.last_sequence:
            return ChainReport(
                False,
                checked,
                last_sequence + 1,
                f"The chain ends at #{last_sequence} but its head records #{head.last_sequence}: "
                "events at the end were removed.",
            )
        if head.last_hash != previous_hash:
            return ChainReport(
                False,
                checked,
                last_sequence,
                f"Event #{last_sequence} does not match the hash recorded for the chain's end.",
            )
    return ChainReport(True, checked, None, f"Audit chain intact: {checked} events verified.")


def audit_chain_and_checkpoints_verify() -> ChainReport:
    """The chain walk, then the chain against every signed checkpoint outside the database
    (a chain truncated, cut short or re-chained with our own hash function walks clean)."""
    from audit.checkpoints import audit_checkpoints_verify

    report = audit_chain_verify()
    checkpoints = audit_checkpoints_verify()
    if checkpoints.ok:
        if not report.ok:
            return report
        return ChainReport(
            True, report.events_checked, None, f"{report.message} {checkpoints.message}"
        )
    message = f"{report.message} {checkpoints.message}" if not report.ok else checkpoints.message
    return ChainReport(False, report.events_checked, report.first_problem_sequence, message)


def audit_chain_check_record() -> AuditChainCheck:
    report = audit_chain_and_checkpoints_verify()
    return AuditChainCheck.objects.create(
        ok=report.ok,
        events_checked=report.events_checked,
        first_problem_sequence=report.first_problem_sequence,
        message=report.message,
    )
