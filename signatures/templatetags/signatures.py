"""``{% signature_fields "approve" %}``: in an act's form, what the user is about to sign and,
when their authentication is not recent, the fields to confirm who they are."""

from __future__ import annotations

from typing import Any

from django import template

from accounts.models import User
from signatures.http import signature_fields_context
from signatures.meanings import meaning_display, method_display
from signatures.models import SignatureAction
from signatures.services import SIGNED_TRANSITIONS, act_meaning

register = template.Library()


@register.inclusion_tag("includes/signature_fields.html", takes_context=True)
def signature_fields(context: template.Context, act: str, **params: Any) -> dict[str, Any]:
    """``act``: a SignatureAction value, or a request transition's name (only approve, reject
    and withdraw are signatures; any other renders nothing)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    action = SIGNED_TRANSITIONS.get(act) or (act if act in SignatureAction.values else "")
    if not action or request is None or not isinstance(user, User):
        return {"sig": None}
    meaning = act_meaning(action, user, **params)
    return {"sig": signature_fields_context(request, meaning)}


@register.filter
def signature_meaning(signature: Any) -> str:
    """An ElectronicSignature's meaning, or an audit event's ``after.signature``, in the
    active language (the stored English is the record; this is its reading)."""
    if isinstance(signature, dict):
        action = str(signature.get("meaning_code", ""))
        params = signature.get("meaning_params") or {}
        fallback = str(signature.get("meaning", ""))
    else:
        action = str(getattr(signature, "action", ""))
        params = getattr(signature, "meaning_params", None) or {}
        fallback = str(getattr(signature, "meaning", ""))
    if action not in SignatureAction.values:
        return fallback
    return meaning_display(action, dict(params), html=True)


@register.filter
def signature_method(method: str) -> str:
    """How the signer authenticated, in words: "password + authenticator code"."""
    return method_display(str(method or ""))
