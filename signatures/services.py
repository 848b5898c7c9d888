"""Electronic signatures: who may sign now, and the record of each signature.

An act that is a signature (approve, reject, withdraw a request, dispense, record a consent
signature or its withdrawal, edit a national rule) goes through three steps in its view:

1. ``signature_require``: the signer authenticated within ``SIGNATURE_REAUTH_MINUTES``, or
   re-enters a credential now (their password, a TOTP or recovery code). A failed re-entry is
   refused, audited, and counted; after ``AXES_FAILURE_LIMIT`` failures the signer may not sign
   for ``AXES_COOLOFF_TIME`` (the sign-in's own limits: one policy for guessing a password).
   A passkey or the hospital's provider re-authenticates on their own pages, which mark the
   session (``accounts.reauth.authentication_mark``) and come back.
2. ``signature_scope`` around the act's service: each audit event the signer writes during the
   act carries the signature (meaning, printed name, time, method), inside the hash chain.
3. At the end of the scope, ``signature_record`` writes the ElectronicSignature row, in the same
   transaction as the act (the request's: ``ATOMIC_REQUESTS``); an act that fails raises
   through the scope and leaves no signature.

The refusals are returned, not raised (``signature_refusal_page``/``signature_refusal_api``):
``ATOMIC_REQUESTS`` would otherwise roll back the failure's audit event.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import models
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_otp import user_has_device
from knox.auth import TokenAuthentication

from accounts import mfa
from accounts.models import User
from accounts.reauth import authentication_mark, authentication_recent
from audit.actions import AuditAction
from audit.context import PendingSignature, current_signature
from audit.services import audit_record
from signatures.meanings import Meaning, signature_meaning
from signatures.models import ElectronicSignature, SignatureAction

PASSWORD_FIELD = "reauth_password"  # noqa: S105 (a field name)
CODE_FIELD = "reauth_code"
REAUTH_FIELDS = frozenset({PASSWORD_FIELD, CODE_FIELD})

# The transitions of a request that are signatures, and the act each one is.
SIGNED_TRANSITIONS: dict[str, str] = {
    "approve": SignatureAction.APPROVE,
    "reject": SignatureAction.REJECT,
    "withdraw": SignatureAction.WITHDRAW,
}


class Refusal(models.TextChoices):
    """Why a signature was refused; the API's ``code``."""

    REQUIRED = "reauthentication_required", _("Re-authentication required")
    FAILED = "reauthentication_failed", _("Re-authentication failed")
    LOCKED = "reauthentication_locked", _("Signing locked")


@dataclass(frozen=True)
class SigningProof:
    """How, and when, the signer proved who they are for this signature."""

    method: str
    authenticated_at: datetime


@dataclass(frozen=True)
class SignatureCheck:
    proof: SigningProof | None = None
    refusal: str = ""  # a Refusal value when proof is None
    message: str = ""


# --- Second factors ------------------------------------------------------------------------


def second_factor_check(user: User, code: str) -> str | None:
    """Either "totp" or "recovery" when ``code`` is one of the user's second factors, else None:
    ``accounts.mfa.second_factor_check`` is the one rule (throttling, used recovery codes)."""
    result = mfa.second_factor_check(user, code)
    return str(result) if result else None


def second_factor_enrolled(user: User) -> bool:
    return bool(user_has_device(user, confirmed=True))


def local_password_allowed(user: User) -> bool:
    """The user may prove who they are with a password kept here (not an OIDC-only hospital,
    not an account the provider created without a password)."""
    hospital = user.hospital
    if hospital is not None and not hospital.local_password_login:
        return False
    return user.has_usable_password()


# --- Failures and lockout ------------------------------------------------------------------


def _cooloff() -> timedelta:
    value = settings.AXES_COOLOFF_TIME
    return value if isinstance(value, timedelta) else timedelta(hours=float(value))


def _failures_key(user: User) -> str:
    return f"signatures:reauth-failures:{user.pk}"


def _locked_key(user: User) -> str:
    return f"signatures:reauth-locked:{user.pk}"


def signing_locked(user: User) -> bool:
    return cache.get(_locked_key(user)) is not None


def _failure_count(user: User) -> tuple[int, bool]:
    """Count one failure (the shared cache: every worker sees it). Returns the count in the
    window and whether this failure locked signing."""
    seconds = int(_cooloff().total_seconds())
    key = _failures_key(user)
    cache.add(key, 0, timeout=seconds)
    try:
        failures = int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=seconds)
        failures = 1
    if failures >= int(settings.AXES_FAILURE_LIMIT):
        cache.set(_locked_key(user), timezone.now().isoformat(), timeout=seconds)
        cache.delete(key)
        return failures, True
    return failures, False


def _lockout_minutes() -> int:
    return max(1, int(_cooloff().total_seconds() // 60))


# --- Checking the signer -------------------------------------------------------------------


def _api_token(request: Any) -> Any:
    """The knox token a DRF request authenticated with, or None (a session, or a page)."""
    authenticator = getattr(request, "successful_authenticator", None)
    if isinstance(authenticator, TokenAuthentication):
        return request.auth
    return None


def _window() -> timedelta:
    return timedelta(minutes=settings.SIGNATURE_REAUTH_MINUTES)


def authentication_recent_proof(request: Any) -> SigningProof | None:
    """The signer's authentication within the window, if any.

    A page or a session-authenticated API client: the session's last sign-in or
    re-authentication. A token (knox) client: the token's creation, since a token is obtained
    with the password; a token client has no session, so after the window every signature
    sends ``reauth_password`` or ``reauth_code``."""
    token = _api_token(request)
    if token is not None:
        created = getattr(token, "created", None)
        now = timezone.now()
        if created is not None and created <= now and now - created <= _window():
            return SigningProof(method="password (API token)", authenticated_at=created)
        return None
    last = authentication_recent(request)
    if last is None:
        return None
    return SigningProof(method=last.method or "password", authenticated_at=last.at)


def _failure_record(user: User, *, tried: str, meaning: Meaning, failures: int, why: str) -> None:
    audit_record(
        actor=user,
        action=AuditAction.SIGNATURE_REAUTH_FAILED,
        target=user,
        summary=f"{user.get_username()} failed to re-authenticate ({tried}) to sign "
        f"'{meaning.english}': {why}",
        after={
            "tried": tried,
            "meaning": meaning.english,
            "meaning_code": meaning.action,
            "failures": failures,
            "reason": why,
        },
    )


def signature_require(
    request: Any, *, meaning: Meaning, password: str = "", code: str = ""
) -> SignatureCheck:
    """May the signed-in user sign ``meaning`` now? With a password or a code, they are
    checked (even within the window: a credential offered is a credential checked); without,
    the authentication within the window is the proof."""
    user = request.user
    if not isinstance(user, User):
        return SignatureCheck(refusal=Refusal.REQUIRED, message=gettext("Sign in first."))
    password = password or ""
    code = (code or "").strip().replace(" ", "")
    tried = "+".join(n for n, v in (("password", password), ("code", code)) if v)
    if signing_locked(user):
        if tried:
            _failure_record(user, tried=tried, meaning=meaning, failures=0, why="signing locked")
        return SignatureCheck(
            refusal=Refusal.LOCKED,
            message=gettext(
                "Too many failed re-authentications: you cannot sign for %(minutes)s minutes."
            )
            % {"minutes": _lockout_minutes()},
        )
    if not tried:
        proof = authentication_recent_proof(request)
        if proof is not None:
            return SignatureCheck(proof=proof)
        return SignatureCheck(
            refusal=Refusal.REQUIRED,
            message=gettext(
                "To sign, confirm who you are: your last sign-in was more than %(minutes)s "
                "minutes ago."
            )
            % {"minutes": settings.SIGNATURE_REAUTH_MINUTES},
        )
    methods: list[str] = []
    problem = ""
    if password:
        if not local_password_allowed(user):
            # Not a guess: the hospital signs in through its provider. Refused, not counted.
            _failure_record(user, tried=tried, meaning=meaning, failures=0, why="no local password")
            return SignatureCheck(
                refusal=Refusal.FAILED,
                message=gettext(
                    "Your hospital does not use passwords kept here: confirm with your second "
                    "factor, a passkey or your hospital's sign-in."
                ),
            )
        if user.check_password(password):
            methods.append("password")
        else:
            problem = gettext("The password is not correct.")
    if code and not problem:
        factor = second_factor_check(user, code)
        if factor:
            methods.append(factor)
        else:
            problem = gettext("The code is not correct (or was already used).")
    if problem:
        failures, locked = _failure_count(user)
        _failure_record(user, tried=tried, meaning=meaning, failures=failures, why=problem)
        if locked:
            audit_record(
                actor=user,
                action=AuditAction.SIGNATURE_REAUTH_LOCKED,
                target=user,
                summary=f"{user.get_username()} may not sign for {_lockout_minutes()} minutes "
                f"after {failures} failed re-authentications",
                after={"failures": failures, "minutes": _lockout_minutes()},
            )
            return SignatureCheck(
                refusal=Refusal.LOCKED,
                message=problem
                + " "
                + gettext(
                    "Too many failed re-authentications: you cannot sign for %(minutes)s minutes."
                )
                % {"minutes": _lockout_minutes()},
            )
        return SignatureCheck(refusal=Refusal.FAILED, message=problem)
    cache.delete(_failures_key(user))
    method = "+".join(methods)
    now = timezone.now()
    if _api_token(request) is None:
        # Later signatures within the window need nothing (a token client has no session).
        authentication_mark(request, method, at=now)
    return SignatureCheck(proof=SigningProof(method=method, authenticated_at=now))


# --- Recording -----------------------------------------------------------------------------


def signer_printed_name(user: User) -> str:
    return user.get_full_name().strip() or user.get_username()


def _target_reference(target: Model | None) -> tuple[str, str]:
    if target is None:
        return "", ""
    return target._meta.label_lower, str(target.pk)


def signature_record(
    *,
    signer: User,
    action: str,
    meaning: str,
    meaning_params: dict[str, Any],
    method: str,
    authenticated_at: datetime,
    request: Any | None,
    target: Model | None,
    signed_at: datetime | None = None,
    audit_event: Any | None = None,
) -> ElectronicSignature:
    """Write one signature, in the caller's transaction. ``request`` is the OffLabelRequest
    the act concerns (None for a rule edit)."""
    object_type, object_id = _target_reference(target)
    signature = ElectronicSignature(
        action=action,
        signer=signer,
        signer_name=signer_printed_name(signer)[:300],
        signer_role=str(meaning_params.get("role", ""))[:40],
        hospital=signer.hospital,
        meaning=meaning[:300],
        meaning_params=meaning_params,
        method=method[:40],
        authenticated_at=authenticated_at,
        signed_at=signed_at or timezone.now(),
        request=request,
        object_type=object_type,
        object_id=object_id,
        audit_event=audit_event,
    )
    signature.full_clean()
    signature.save()
    return signature


@dataclass
class Signing:
    """Handed to the view inside ``signature_scope``: it names what the act produced."""

    target: Model | None = None
    request: Any | None = None
    signature: ElectronicSignature | None = None
    extra_params: dict[str, Any] = field(default_factory=dict)


def _audit_event_of(events: Iterable[Any], target: Model | None) -> Any | None:
    events = list(events)
    object_type, object_id = _target_reference(target)
    for event in events:
        if event.object_type == object_type and event.object_id == object_id:
            return event
    return events[0] if events else None


@contextmanager
def signature_scope(
    *, signer: User, proof: SigningProof, meaning: Meaning, request: Any | None = None
) -> Iterator[Signing]:
    """Sign the act run inside: its audit events carry the signature, and the signature row is
    written when the act returns (nothing when it raises). Set ``signing.target`` to the
    object the act produced or changed."""
    signed_at = timezone.now()
    payload = {
        "meaning": meaning.english,
        "meaning_code": meaning.action,
        "meaning_params": dict(meaning.params),
        "signer_name": signer_printed_name(signer),
        "signer_username": signer.get_username(),
        "signed_at": signed_at.isoformat(),
        "method": proof.method,
        "authenticated_at": proof.authenticated_at.isoformat(),
    }
    pending = PendingSignature(signer_id=signer.pk, payload=payload)
    signing = Signing(request=request)
    token = current_signature.set(pending)
    try:
        yield signing
    finally:
        current_signature.reset(token)
    event = _audit_event_of(pending.events, signing.target)
    if event is None:
        # The act wrote no event of its own: the signature gets one, so the trail has it.
        event = audit_record(
            actor=signer,
            action=AuditAction.SIGNATURE_RECORDED,
            target=signing.target,
            summary=f"{payload['signer_name']} signed: {meaning.english}",
            after={"signature": payload},
        )
    signing.signature = signature_record(
        signer=signer,
        action=meaning.action,
        meaning=meaning.english,
        meaning_params=dict(meaning.params),
        method=proof.method,
        authenticated_at=proof.authenticated_at,
        request=signing.request,
        target=signing.target,
        signed_at=signed_at,
        audit_event=event,
    )


@contextmanager
def signature_scope_optional(
    *,
    signer: User,
    proof: SigningProof | None,
    meaning: Meaning | None,
    request: Any | None = None,
) -> Iterator[Signing]:
    """``signature_scope`` when the act is a signature (a proof and a meaning), else nothing:
    for an entry point that takes signed and unsigned acts (the request's transitions)."""
    if proof is None or meaning is None:
        yield Signing(request=request)
        return
    with signature_scope(signer=signer, proof=proof, meaning=meaning, request=request) as signing:
        yield signing


# The capacities each act is taken in, first preferred ("approved as pharmacist").
_ACT_ROLES: dict[str, tuple[str, ...]] = {
    SignatureAction.APPROVE: ("pharmacist",),
    SignatureAction.REJECT: ("pharmacist",),
    SignatureAction.WITHDRAW: ("physician",),
    SignatureAction.DISPENSE: ("pharmacist",),
    SignatureAction.CONSENT_SIGNATURE: ("physician",),
    SignatureAction.CONSENT_WITHDRAWAL: ("physician", "pharmacist"),
    SignatureAction.RULE_EDIT: ("rule_steward",),
}


def signing_role(user: User, candidates: Iterable[str]) -> str:
    """The capacity the user signs in: the first of the act's roles they hold, else their
    first role."""
    held = user.role_set
    for role in candidates:
        if role in held:
            return str(role)
    return sorted(held)[0] if held else ""


def act_meaning(action: str, user: User, **params: Any) -> Meaning:
    """The meaning of ``action`` signed by ``user``, in the capacity the act is taken in."""
    if user.is_rule_steward and action == SignatureAction.RULE_EDIT:
        params.setdefault("role", "rule_steward")
    params.setdefault("role", signing_role(user, _ACT_ROLES.get(action, ())))
    return signature_meaning(action, **params)


def transition_meaning(transition: str, user: User) -> Meaning | None:
    """The meaning of a request transition that is a signature, or None (not one)."""
    action = SIGNED_TRANSITIONS.get(transition)
    return act_meaning(action, user) if action else None


def consent_signature_meaning(
    user: User, *, method: str, signer: str, representative_name: str, witness_name: str
) -> Meaning:
    """The meaning "consent signature recorded (patient signed on screen, witness A. Bianchi) as
    physician": how the patient signed, as the physician records it."""
    params: dict[str, Any] = {"signer": signer or "patient", "method": method}
    if params["signer"] == "representative":
        params["representative"] = (representative_name or "").strip()
    if (witness_name or "").strip():
        params["witness"] = witness_name.strip()
    return act_meaning(SignatureAction.CONSENT_SIGNATURE, user, **params)
