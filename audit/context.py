"""What the current request carries into the audit events its services write.

- ``current_ip``: the client's IP, so services stamp events without views passing it.
- ``current_signature``: the electronic signature being given by the act in progress (issue 16).
  The acts' services (``request_transition``, ``dispensation_create``, ``consent_sign``...)
  write their own audit events and know nothing of signatures. The view that takes the act
  opens a ``signatures.services.signature_scope`` around the service call; ``audit_record``
  calls ``signature_audit_attach`` to add the signature (meaning, printed name, time, method)
  to each event the signer writes inside it, before the event is hashed, so the chain covers
  it. It lives here, below the signatures app, so that the audit app imports nothing above it.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

current_ip: ContextVar[str | None] = ContextVar("current_ip", default=None)
current_signature: ContextVar[PendingSignature | None] = ContextVar(
    "current_signature", default=None
)


@dataclass
class PendingSignature:
    """A signature given but not yet written: the act it signs is running."""

    signer_id: int
    payload: dict[str, Any]  # JSON: meaning, meaning_code, meaning_params, name, time, method
    events: list[Any] = field(default_factory=list)  # the audit events it was attached to


def signature_audit_attach(event: Any) -> None:
    """Called by ``audit_record`` before hashing: put the signature in the event's ``after``
    when the event is the signer's own (a system event inside the act is not signed)."""
    pending = current_signature.get()
    if pending is None or event.actor_id != pending.signer_id:
        return
    event.after = {**(event.after or {}), "signature": dict(pending.payload)}
    pending.events.append(event)
