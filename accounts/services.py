"""Demo data: an invented hospital with one user per role. Never real people."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.contrib.auth.models import Group
from django.db import transaction

from accounts.models import Department, Hospital, User
from accounts.roles import Role, roles_sync
from audit.services import audit_record

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
            action="hospital.created",
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
            action="user.created" if user_created else "user.password_reset",
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
    ip = getattr(request, "META", {}).get("REMOTE_ADDR") if request is not None else None
    audit_record(
        actor=None,
        action="login.locked_out",
        object_type="accounts.user",
        object_id=str(user.pk) if user else "",
        hospital=user.hospital if user else None,
        summary=f"Sign-in locked for {username!r} after repeated failures"
        + (f" from {ip}" if ip else ""),
    )
