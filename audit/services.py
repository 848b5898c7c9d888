"""Writing and verifying the audit chain.

Every service that changes a record calls ``audit_record`` inside its own transaction, so
the change and its audit event commit or roll back together.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any, TypeVar

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, transaction
from django.db.models import JSONField, Model, QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import Hospital, User
from audit.actions import AuditAction
from audit.context import current_ip, signature_audit_attach
from audit.models import GENESIS_HASH, AuditChainCheck, AuditChainHead, AuditEvent
from offlabel.exceptions import ApplicationError

M = TypeVar("M", bound=Model)


def _json_normal(value: Any) -> Any:
    """What the JSON column will give back: hashing this makes stored == hashed."""
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


# The fields an event's hash covers, in this order: the writer hashes them from the instance it
# is about to save, the verifier from rows read with ``values_list(*AUDIT_HASHED_FIELDS)``.
AUDIT_HASHED_FIELDS = (
    "sequence",
    "occurred_at",
    "actor_id",
    "actor_username",
    "hospital_id",
    "action",
    "object_type",
    "object_id",
    "summary",
    "before",
    "after",
    "ip_address",
    "previous_hash",
)
_OCCURRED_AT = AUDIT_HASHED_FIELDS.index("occurred_at")


def audit_hashed_values(event: AuditEvent) -> tuple[Any, ...]:
    return tuple(getattr(event, name) for name in AUDIT_HASHED_FIELDS)


def audit_canonical(values: Sequence[Any]) -> bytes:
    """The one canonical form of an event: its hashed fields (in ``AUDIT_HASHED_FIELDS``
    order) as sorted, compact JSON, the time in UTC to the microsecond."""
    content = dict(zip(AUDIT_HASHED_FIELDS, values, strict=True))
    content["occurred_at"] = values[_OCCURRED_AT].astimezone(UTC).isoformat(timespec="microseconds")
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def audit_values_hash(values: Sequence[Any]) -> str:
    return hashlib.sha256(audit_canonical(values)).hexdigest()


def audit_event_canonical(event: AuditEvent) -> bytes:
    return audit_canonical(audit_hashed_values(event))


def audit_event_hash(event: AuditEvent) -> str:
    return audit_values_hash(audit_hashed_values(event))


def audit_record(
    *,
    actor: User | None,
    action: AuditAction,
    target: Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    summary: str,
    hospital: Hospital | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    ip_address: str | None = None,
) -> AuditEvent:
    """Append one event to the chain, in the caller's transaction. ``action`` is a member of
    ``AuditAction``; anything else is refused (``ValueError``) before anything is written."""
    action = AuditAction(action)
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
    action: AuditAction,
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


def model_update_audited(
    instance: M,
    *,
    fields: Iterable[str],
    data: dict[str, Any],
    actor: User | None,
    action: AuditAction,
    summary_prefix: str | Callable[[M], str],
    target: Model | None = None,
    snapshot: Callable[[M], dict[str, Any]] | None = None,
    strip: bool = True,
    before_save: Callable[[M], None] | None = None,
    after_save: Callable[[M], None] | None = None,
) -> list[str]:
    """HackSoft's ``model_update`` and its audit event: apply ``data`` (only names in
    ``fields``; another name is an ``ApplicationError`` naming it), ``full_clean``, save, and
    record the fields that changed, old and new. Returns the names that changed.

    ``snapshot`` gives what the event shows before and after (default: ``fields`` as they are
    on the instance); ``target`` is what the event is about (default: the instance);
    ``before_save`` runs after the values are set and before ``full_clean`` (a stamp such as
    ``updated_by``, a rule across fields); ``after_save`` runs after the save and before the
    "after" snapshot (rows that hang on the instance, such as its tags); ``summary_prefix``
    may be a function of the saved instance. Strings are stripped unless ``strip`` is False.
    ``full_clean``'s ``ValidationError`` is raised as it is, nothing saved."""
    allowed = tuple(fields)
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ApplicationError(
            gettext("These fields cannot be changed here: %(fields)s.")
            % {"fields": ", ".join(unknown)},
            extra={"fields": unknown},
        )
    take = snapshot or (lambda obj: {name: getattr(obj, name) for name in allowed})
    before = take(instance)
    for name, value in data.items():
        setattr(instance, name, value.strip() if strip and isinstance(value, str) else value)
    if before_save is not None:
        before_save(instance)
    instance.full_clean()
    instance.save()
    if after_save is not None:
        after_save(instance)
    after = take(instance)
    audit_record_changes(
        actor=actor,
        action=action,
        target=target if target is not None else instance,
        summary_prefix=summary_prefix(instance) if callable(summary_prefix) else summary_prefix,
        before=before,
        after=after,
    )
    return sorted(k for k in after if before.get(k) != after[k])


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    events_checked: int
    first_problem_sequence: int | None
    message: str


_VERIFIED_FIELDS = (*AUDIT_HASHED_FIELDS, "event_hash")
_SEQUENCE = AUDIT_HASHED_FIELDS.index("sequence")
_ACTION = AUDIT_HASHED_FIELDS.index("action")
_OBJECT_TYPE = AUDIT_HASHED_FIELDS.index("object_type")
_OBJECT_ID = AUDIT_HASHED_FIELDS.index("object_id")
_PREVIOUS_HASH = AUDIT_HASHED_FIELDS.index("previous_hash")


def _postgresql_rows(
    queryset: QuerySet[AuditEvent, tuple[Any, ...]], *, batch_size: int, server_side: bool
) -> Iterator[tuple[Any, ...]]:
    """The rows of ``queryset`` (the ORM's own SQL) read straight from psycopg: Django's
    timestamptz loader is pure Python and its per-row converters cost more than the hashing, so
    the cursor gets psycopg's compiled loader (the same instant, the session being in UTC) and
    only the JSON columns are decoded, by their field as the ORM would."""
    connection = connections[queryset.db]
    sql, params = queryset.query.sql_with_params()
    from psycopg.types.datetime import TimestamptzLoader

    json_fields = [
        (index, field, field.cached_col)
        for index, field in enumerate(map(AuditEvent._meta.get_field, _VERIFIED_FIELDS))
        if isinstance(field, JSONField)
    ]
    with connection.chunked_cursor() if server_side else connection.cursor() as cursor:
        cursor.cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(batch_size):
            for raw in batch:
                row = list(raw)
                for index, json_field, column in json_fields:
                    if row[index] is not None:
                        row[index] = json_field.from_db_value(row[index], column, connection)
                yield tuple(row)


def audit_chain_rows(*, batch_size: int) -> Iterator[tuple[Any, ...]]:
    """Every event as a tuple of ``AUDIT_HASHED_FIELDS`` + ``event_hash``, in sequence order,
    never more than ``batch_size`` rows fetched at once and no model instance built.

    A server-side cursor when the connection allows one; behind PgBouncer in transaction mode
    (``DISABLE_SERVER_SIDE_CURSORS``) a cursor cannot outlive its transaction, so the walk reads
    keyset batches (``sequence > last ORDER BY sequence LIMIT n``) on the unique index instead:
    a client-side cursor would fetch the whole table into memory at once."""
    rows = AuditEvent.objects.order_by("sequence").values_list(*_VERIFIED_FIELDS)
    connection = connections[rows.db]
    postgresql = connection.vendor == "postgresql"
    if not connection.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS"):
        if postgresql:
            yield from _postgresql_rows(rows, batch_size=batch_size, server_side=True)
        else:
            yield from rows.iterator(chunk_size=batch_size)
        return
    last_sequence = -1
    while True:
        page = rows.filter(sequence__gt=last_sequence)[:batch_size]
        if postgresql:
            batch = list(_postgresql_rows(page, batch_size=batch_size, server_side=False))
        else:
            batch = list(page)
        yield from batch
        if len(batch) < batch_size:
            return
        last_sequence = batch[-1][_SEQUENCE]


def audit_chain_verify(*, batch_size: int = 2000) -> ChainReport:
    """Walk the chain in order and report the first altered, removed or inserted event."""
    expected_sequence = 1
    previous_hash = GENESIS_HASH
    checked = 0
    hashed = len(AUDIT_HASHED_FIELDS)
    for row in audit_chain_rows(batch_size=batch_size):
        checked += 1
        sequence = row[_SEQUENCE]
        if sequence != expected_sequence:
            if sequence > expected_sequence:
                return ChainReport(
                    False,
                    checked,
                    expected_sequence,
                    f"Event #{expected_sequence} is missing (removed): the chain jumps to "
                    f"#{sequence}.",
                )
            return ChainReport(
                False,
                checked,
                sequence,
                f"Event #{sequence} is out of order (inserted).",
            )
        if row[_PREVIOUS_HASH] != previous_hash:
            return ChainReport(
                False,
                checked,
                sequence,
                f"Event #{sequence} does not link to the event before it "
                "(an event was removed or inserted before it).",
            )
        event_hash = row[hashed]
        if audit_values_hash(row[:hashed]) != event_hash:
            return ChainReport(
                False,
                checked,
                sequence,
                f"Event #{sequence} ({row[_ACTION]} {row[_OBJECT_TYPE]}:{row[_OBJECT_ID]}) "
                "was altered: its content no longer matches its hash.",
            )
        previous_hash = event_hash
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
