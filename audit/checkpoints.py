"""Signed checkpoints of the audit chain, kept outside the database.

The hash chain shows an edit only to someone who cannot recompute it; whoever controls the
database can truncate it, cut its tail or rewrite an event and re-chain everything after it
with the app's own hash function. A checkpoint is the chain's head (sequence, hash, time,
count) signed with an Ed25519 key that is not in the database and written where the database
user cannot reach (``AUDIT_ANCHOR_DIR``: in production write-once storage or another host).
``verify_audit`` then checks the chain against every checkpoint: a later chain must still hold
each checkpointed event with the same hash.

Checkpoints are numbered from 1 without gaps and never overwritten, so one that was deleted
leaves a gap; deleting the newest is found once events older than two intervals are not
covered by any checkpoint.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.db import connection
from django.utils import timezone

from audit.models import GENESIS_HASH, AuditEvent

FILE_PATTERN = re.compile(r"^checkpoint-(\d{8})\.json$")
SIGNED_FIELDS = ("number", "sequence", "hash", "recorded_at", "count", "key_id")


class CheckpointError(Exception):
    pass


@dataclass(frozen=True)
class Checkpoint:
    number: int
    sequence: int
    hash: str
    recorded_at: str
    count: int
    key_id: str
    signature: str
    path: Path

    @property
    def recorded(self) -> datetime:
        return datetime.fromisoformat(self.recorded_at)


@dataclass(frozen=True)
class CheckpointReport:
    ok: bool
    checkpoints_checked: int
    problems: list[str]
    message: str


# --- Keys ------------------------------------------------------------------------------------


def signing_key_generate(*, private_path: Path, public_path: Path) -> None:
    """A new Ed25519 key pair; the private key readable by its owner only. Never overwrites."""
    key = Ed25519PrivateKey.generate()
    private_path.parent.mkdir(parents=True, exist_ok=True)
    public_path.parent.mkdir(parents=True, exist_ok=True)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(private_pem)
    descriptor = os.open(public_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(public_pem)


def public_key_path_for(private_path: Path) -> Path:
    return private_path.with_name(private_path.stem + ".pub.pem")


def signing_key_load() -> Ed25519PrivateKey:
    if not settings.AUDIT_SIGNING_KEY:
        raise CheckpointError(
            "AUDIT_SIGNING_KEY is not set: checkpoints need an Ed25519 private key file "
            "(manage.py audit_keygen creates one)."
        )
    path = Path(settings.AUDIT_SIGNING_KEY)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"Cannot read the signing key {path}: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError(f"The signing key {path} is not an Ed25519 key.")
    return key


def verify_key_load() -> Ed25519PublicKey:
    """The public key: AUDIT_VERIFY_KEY, else the one beside the private key, else derived."""
    if settings.AUDIT_VERIFY_KEY:
        path = Path(settings.AUDIT_VERIFY_KEY)
        try:
            key = serialization.load_pem_public_key(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise CheckpointError(f"Cannot read the verify key {path}: {exc}") from None
        if not isinstance(key, Ed25519PublicKey):
            raise CheckpointError(f"The verify key {path} is not an Ed25519 key.")
        return key
    return signing_key_load().public_key()


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _signed_bytes(fields: dict[str, Any]) -> bytes:
    content = {name: fields[name] for name in SIGNED_FIELDS}
    return json.dumps(content, sort_keys=True, separators=(",", ":")).encode()


# --- Writing ---------------------------------------------------------------------------------


def anchor_dir() -> Path:
    """One folder per database, so staging, production and the tests never share checkpoints."""
    name = Path(str(connection.settings_dict["NAME"])).stem or "default"
    return Path(settings.AUDIT_ANCHOR_DIR) / name


def checkpoint_files() -> dict[int, Path]:
    folder = anchor_dir()
    if not folder.is_dir():
        return {}
    found = {}
    for path in folder.iterdir():
        match = FILE_PATTERN.match(path.name)
        if match:
            found[int(match.group(1))] = path
    return dict(sorted(found.items()))


def audit_checkpoint_write(*, private_key: Ed25519PrivateKey | None = None) -> Checkpoint:
    """Sign the chain's current head and write it as the next numbered checkpoint.

    Written to a temporary file first and then hard-linked to its final name, which fails if
    that name exists: a checkpoint appears whole or not at all, and is never overwritten.
    """
    key = private_key or signing_key_load()
    folder = anchor_dir()
    folder.mkdir(parents=True, exist_ok=True)
    last = AuditEvent.objects.order_by("-sequence").values_list("sequence", "event_hash").first()
    sequence, event_hash = last if last is not None else (0, GENESIS_HASH)
    fields: dict[str, Any] = {
        "sequence": sequence,
        "hash": event_hash,
        "recorded_at": timezone.now().isoformat(timespec="microseconds"),
        "count": AuditEvent.objects.filter(sequence__lte=sequence).count(),
        "key_id": key_id(key.public_key()),
    }
    for _attempt in range(5):
        existing = checkpoint_files()
        fields["number"] = max(existing, default=0) + 1
        fields["signature"] = base64.b64encode(key.sign(_signed_bytes(fields))).decode()
        final = folder / f"checkpoint-{fields['number']:08d}.json"
        descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=".checkpoint-", suffix=".tmp")
        try:
            with os.fdopen(descriptor, "w") as handle:
                json.dump(fields, handle, sort_keys=True, indent=1)
                os.fchmod(handle.fileno(), 0o444)  # read-only; the anchor store should be too
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(temporary, final)
            except FileExistsError:
                continue  # another writer took this number: sign the next one
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
        return Checkpoint(**fields, path=final)
    raise CheckpointError(f"Could not claim a checkpoint number in {folder}.")


# --- Verifying -------------------------------------------------------------------------------


def _checkpoint_read(number: int, path: Path, public_key: Ed25519PublicKey) -> Checkpoint:
    try:
        fields = json.loads(path.read_text())
        checkpoint = Checkpoint(
            number=int(fields["number"]),
            sequence=int(fields["sequence"]),
            hash=str(fields["hash"]),
            recorded_at=str(fields["recorded_at"]),
            count=int(fields["count"]),
            key_id=str(fields["key_id"]),
            signature=str(fields["signature"]),
            path=path,
        )
        signature = base64.b64decode(checkpoint.signature, validate=True)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"Checkpoint {path.name} cannot be read: {exc}") from None
    try:
        public_key.verify(signature, _signed_bytes(fields))
    except InvalidSignature:
        raise CheckpointError(
            f"Checkpoint {path.name} is forged or altered: its signature does not verify with "
            f"the audit verify key (key id {key_id(public_key)}, file says {checkpoint.key_id})."
        ) from None
    if checkpoint.number != number:
        raise CheckpointError(
            f"Checkpoint {path.name} says it is number {checkpoint.number}: it was renamed."
        )
    return checkpoint


def audit_checkpoints_verify(*, now: datetime | None = None) -> CheckpointReport:
    """Check the chain in the database against every checkpoint; list everything found."""
    now = now or timezone.now()
    files = checkpoint_files()
    problems: list[str] = []
    checkpoints: list[Checkpoint] = []
    if files:
        try:
            public_key = verify_key_load()
        except CheckpointError as exc:
            return CheckpointReport(False, 0, [str(exc)], str(exc))
        for number, path in files.items():
            try:
                checkpoints.append(_checkpoint_read(number, path, public_key))
            except CheckpointError as exc:
                problems.append(str(exc))
        missing = sorted(set(range(1, max(files) + 1)) - set(files))
        if missing:
            problems.append(
                "Checkpoint(s) "
                + ", ".join(f"checkpoint-{n:08d}.json" for n in missing)
                + f" missing from {anchor_dir()}: deleted from the anchor store."
            )
    chain_end = AuditEvent.objects.order_by("-sequence").values_list("sequence", flat=True).first()
    chain_end = chain_end or 0
    hashes = dict(
        AuditEvent.objects.filter(sequence__in=[c.sequence for c in checkpoints]).values_list(
            "sequence", "event_hash"
        )
    )
    for checkpoint in checkpoints:
        if checkpoint.sequence == 0:
            continue
        where = f"checkpoint {checkpoint.path.name} ({checkpoint.recorded_at})"
        if checkpoint.sequence > chain_end:
            what = "truncated" if chain_end == 0 else "cut short (tail deleted)"
            problems.append(
                f"The chain ends at #{chain_end} but {where} recorded #{checkpoint.sequence}: "
                f"the chain was {what}."
            )
        elif checkpoint.sequence not in hashes:
            problems.append(
                f"Event #{checkpoint.sequence}, recorded by {where}, is missing from the chain."
            )
        elif hashes[checkpoint.sequence] != checkpoint.hash:
            problems.append(
                f"Event #{checkpoint.sequence} has another hash than {where} recorded: the "
                "chain was rewritten and re-chained up to there."
            )
    # Events no checkpoint covers that are older than two intervals: the newest checkpoints
    # were deleted, or the checkpoint job is not running.
    covered = max((c.sequence for c in checkpoints), default=0)
    overdue = now - timedelta(minutes=2 * settings.AUDIT_CHECKPOINT_MINUTES)
    stale = (
        AuditEvent.objects.filter(sequence__gt=covered, occurred_at__lt=overdue)
        .order_by("sequence")
        .values_list("sequence", flat=True)
        .first()
    )
    if stale is not None:
        minutes = 2 * settings.AUDIT_CHECKPOINT_MINUTES
        problems.append(
            f"No checkpoint covers event #{stale}, older than {minutes}"
            " minutes: a checkpoint is missing (deleted) or the checkpoint job is not running."
        )
    if problems:
        return CheckpointReport(False, len(checkpoints), problems, " ".join(problems))
    return CheckpointReport(
        True,
        len(checkpoints),
        [],
        f"{len(checkpoints)} signed checkpoint{'' if len(checkpoints) == 1 else 's'} agree"
        f"{'s' if len(checkpoints) == 1 else ''} with the chain.",
    )
