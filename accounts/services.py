"""Account actions: the demo data (an invented hospital with one user per role, never real
people), API tokens, and the lockout's audit event."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.contrib.auth.models import Group
from django.db import transaction
from django.http import HttpRequest
from knox.models import AuthToken

from accounts.models import Department, Hospital, User
from accounts.roles import Role, roles_sync
from audit.actions import AuditAction
from audit.services import audit_record
from offlabel.middleware import client_ip_address

DEMO_HOSPITAL = {
    "code": "demo-milano",
    "name": "Ospedale Dimostrativo di Milano (DEMO)",
    "country": "IT",
    "city": "Milano",
    # Invented, like everything here: no real line answers these (the consent form needs them).
    "emergency_phone_24h": "+39 02 0000 0000 (INVENTED, demo)",
    "data_controller": "Ospedale Dimostrativo di Milano (DEMO, invented)",
    "dpo_contact": "dpo@demo-milano.example.invalid (invented)",
}
DEMO_DEPARTMENTS = ["Ematologia", "Farmacia ospedaliera", "Direzione sanitaria"]
# username, first name, last name, role, department (all invented)
DEMO_USERS = [
    ("demo.physician1", "Giulia", "Esempio", Role.PHYSICIAN, "Ematologia"),
    ("demo.physician2", "Marco", "Prova", Role.PHYSICIAN, "Ematologia"),
    ("demo.pharmacist", "Sara", "Fittizia", Role.PHARMACIST, "Farmacia ospedaliera"),
    ("demo.admin", "Luca", "Inventato", Role.HOSPITAL_ADMIN, "Direzione sanitaria"),
    ("demo.regulatory", "Elena", "Campione", Role.REGULATORY_OFFICER, "Farmacia ospedaliera"),
]


@dataclass(frozen=True)
class DemoAccounts:
    hospital: Hospital
    usernames: list[str]
    password: str


def demo_password_generate() -> str:
    return "Demo-" + secrets.token_urlsafe(12)


@transaction.atomic
def demo_seed(*, password: str | None = None) -> DemoAccounts:
    """Create (or refresh) the demo hospital and its users; every run sets a fresh password."""
    roles_sync()
    password = password or demo_password_generate()
    hospital, created = Hospital.objects.update_or_create(
        code=DEMO_HOSPITAL["code"], defaults={**DEMO_HOSPITAL, "is_demo": True}
    )
    if created:
        audit_record(
            actor=None,
            action=AuditAction.HOSPITAL_CREATED,
            target=hospital,
            hospital=hospital,
            summary=f"Created demo hospital {hospital.name}",
        )
    departments = {
        name: Department.objects.get_or_create(hospital=hospital, name=name)[0]
        for name in DEMO_DEPARTMENTS
    }
    usernames = []
    for username, first, last, role, department in DEMO_USERS:
        user, user_created = User.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "hospital": hospital,
                "department": departments[department],
                "email": f"{username}@example.invalid",
            },
        )
        user.set_password(password)
        user.save()
        user.groups.set([Group.objects.get(name=role)])
        audit_record(
            actor=None,
            action=AuditAction.USER_CREATED if user_created else AuditAction.USER_PASSWORD_RESET,
            target=user,
            hospital=hospital,
            summary=f"Demo account {username} ({role}) "
            + ("created" if user_created else "password reset"),
        )
        usernames.append(username)
    return DemoAccounts(hospital=hospital, usernames=usernames, password=password)


def lockout_record(
    sender: object, *, request: object = None, username: str = "", **_: object
) -> None:
    """Write a login lockout (django-axes) into the audit trail: who was locked out, from where.
    The username is not identifying patient data; the password never reaches here."""
    user = User.objects.filter(username=username).select_related("hospital").first()
    request = getattr(request, "_request", request)  # DRF's wrapper: the HttpRequest in it
    ip = client_ip_address(request) if isinstance(request, HttpRequest) else None
    audit_record(
        actor=None,
        action=AuditAction.LOCKED_OUT,
        object_type="accounts.user",
        object_id=str(user.pk) if user else "",
        hospital=user.hospital if user else None,
        summary=f"Sign-in locked for {username!r} after repeated failures"
        + (f" from {ip}" if ip else ""),
    )


def api_token_issue(*, user: User) -> tuple[AuthToken, str]:
    """A new API token for ``user``, valid ``API_TOKEN_TTL_HOURS``. Only its hash is stored:
    the returned string is the one copy of the token."""
    with transaction.atomic():
        instance, token = AuthToken.objects.create(user=user)
        audit_record(
            actor=user,
            action=AuditAction.API_TOKEN_ISSUED,
            target=user,
            summary=f"API token issued to {user.get_username()}, valid until "
            f"{instance.expiry.isoformat() if instance.expiry else 'revoked'}",
        )
    return instance, token


def api_tokens_revoke(*, user: User, reason: str) -> int:
    """Revoke every API token of ``user`` (sign-out, password change); audited when there
    were any."""
    with transaction.atomic():
        count, _ = AuthToken.objects.filter(user=user).delete()
        if count:
            audit_record(
                actor=user,
                action=AuditAction.API_TOKEN_REVOKED,
                target=user,
                summary=f"{count} API token(s) of {user.get_username()} revoked ({reason})",
            )
    return count


def api_tokens_revoke_at_logout(sender: object, *, user: object = None, **_: object) -> None:
    """``user_logged_out``: signing out of the pages signs the person out of the API too."""
    if isinstance(user, User):
        api_tokens_revoke(user=user, reason="signed out")
