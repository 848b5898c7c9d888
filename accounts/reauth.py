"""When the person at the keyboard last proved who they are, in this session.

A signature (approve, reject, dispense, record a consent signature, edit a rule, withdraw)
needs the signer's password or second factor again unless they authenticated within
``SIGNATURE_REAUTH_MINUTES`` (21 CFR 11.200(a)(1): the first signing of a session uses every
component, later ones at least one). Signing in counts as authenticating; so does a
re-authentication with the password, a second factor or the hospital's provider.

The session keeps the time and the method; nothing else reads or writes these keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.utils import timezone

SESSION_AT = "signatures_auth_at"
SESSION_METHOD = "signatures_auth_method"


@dataclass(frozen=True)
class Authentication:
    at: datetime
    method: str  # "password", "password+totp", "oidc", "oidc+mfa", "totp", "passkey", ...


def authentication_mark(request: Any, method: str, at: datetime | None = None) -> None:
    """Record that the user proved who they are now (or at ``at``), and how."""
    session = getattr(request, "session", None)
    if session is None:
        return
    session[SESSION_AT] = (at or timezone.now()).isoformat()
    session[SESSION_METHOD] = method


def authentication_last(request: Any) -> Authentication | None:
    session = getattr(request, "session", None)
    if session is None or SESSION_AT not in session:
        return None
    try:
        at = datetime.fromisoformat(session[SESSION_AT])
    except (TypeError, ValueError):
        return None
    return Authentication(at=at, method=str(session.get(SESSION_METHOD, "")))


def authentication_recent(request: Any, now: datetime | None = None) -> Authentication | None:
    """The last authentication if it is within the window, else None."""
    last = authentication_last(request)
    if last is None:
        return None
    now = now or timezone.now()
    window = timedelta(minutes=settings.SIGNATURE_REAUTH_MINUTES)
    if last.at > now or now - last.at > window:
        return None
    return last


@receiver(user_logged_in, dispatch_uid="accounts_authentication_mark_on_login")
def _on_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    # The sign-in's own method; the provider's sign-in (accounts.oidc) and the second factor
    # (accounts.mfa) overwrite it with theirs once they complete.
    if request is not None:
        authentication_mark(request, getattr(request, "_offlabel_auth_method", "password"))
