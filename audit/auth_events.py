"""Sign-ins, sign-outs, failed sign-ins and password changes in the audit trail.

django.contrib.auth announces them only by signals (``user_logged_in``, ``user_logged_out``,
``user_login_failed``), so these receivers are the one place the trail hears of them; the
password change is recorded by its view. The lockout is recorded by
``accounts.services.lockout_record`` (django-axes' ``user_locked_out``). A failed sign-in
records the username tried, never the password.

The rows are written in the request's transaction: the login page answers a failure with a
form (200), not an exception, so ``ATOMIC_REQUESTS`` commits them.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordChangeForm
from django.contrib.auth.views import PasswordChangeView
from django.http import HttpRequest, HttpResponse

from audit.actions import AuditAction
from audit.services import audit_record


def _address(request: HttpRequest | None) -> str:
    address = request.META.get("REMOTE_ADDR", "") if request is not None else ""
    return f" from {address}" if address else ""


def logged_in_record(
    sender: object, *, request: HttpRequest | None, user: Any, **_: object
) -> None:
    audit_record(
        actor=user,
        action=AuditAction.LOGGED_IN,
        target=user,
        summary=f"{user.get_username()} signed in{_address(request)}",
    )


def logged_out_record(
    sender: object, *, request: HttpRequest | None, user: Any, **_: object
) -> None:
    if user is None:  # signing out without a session: nobody to name
        return
    audit_record(
        actor=user,
        action=AuditAction.LOGGED_OUT,
        target=user,
        summary=f"{user.get_username()} signed out{_address(request)}",
    )


def login_failed_record(
    sender: object,
    *,
    credentials: dict[str, Any],
    request: HttpRequest | None = None,
    **_: object,
) -> None:
    user_model = get_user_model()
    username = str(credentials.get(user_model.USERNAME_FIELD) or credentials.get("username") or "")
    user = (
        user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username})
        .select_related("hospital")
        .first()
        if username
        else None
    )
    audit_record(
        actor=None,
        action=AuditAction.LOGIN_FAILED,
        object_type=user_model._meta.label_lower,
        object_id=str(user.pk) if user is not None else "",
        hospital=getattr(user, "hospital", None),
        summary=f"Failed sign-in for {username[:150]!r}{_address(request)}"
        + ("" if user is not None else " (no such user)"),
    )


class PasswordChangeAuditedView(PasswordChangeView):
    """Django's password change page; the change is an audit event (the password never is)."""

    def form_valid(self, form: PasswordChangeForm) -> HttpResponse:
        response = super().form_valid(form)
        user = self.request.user
        audit_record(
            actor=user,  # type: ignore[arg-type]
            action=AuditAction.PASSWORD_CHANGED,
            target=user,  # type: ignore[arg-type]
            summary=f"{user.get_username()} changed their password{_address(self.request)}",
        )
        return response
