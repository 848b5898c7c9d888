from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from accounts.models import User
from accounts.roles import Role
from accounts.services import DEMO_USERS, demo_seed
from audit.actions import AuditAction
from audit.services import audit_record
from pharmacy.services import demo_prices_seed

# An invented national rules steward (issue 14): above hospitals, so in none of them.
DEMO_STEWARD = ("demo.steward", "Nora", "Regolare")


@transaction.atomic
def demo_steward_seed(*, password: str) -> User:
    """Create (or refresh) the demo steward, with the demo accounts' password."""
    username, first, last = DEMO_STEWARD
    user, created = User.objects.get_or_create(
        username=username,
        defaults={
            "first_name": first,
            "last_name": last,
            "hospital": None,
            "is_rule_steward": True,
            "email": f"{username}@example.invalid",
        },
    )
    user.set_password(password)
    user.save()
    user.groups.set([Group.objects.get(name=Role.RULE_STEWARD)])
    audit_record(
        actor=None,
        action=AuditAction.USER_CREATED if created else AuditAction.USER_PASSWORD_RESET,
        target=user,
        summary=f"Demo account {username} ({Role.RULE_STEWARD}, above hospitals) "
        + ("created" if created else "password reset"),
    )
    return user


class Command(BaseCommand):
    help = (
        "Create an invented demo hospital with one user per role (two physicians), and an "
        "invented national rules steward above hospitals."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even with DJANGO_DEBUG=false (never in production).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "Refusing to create demo accounts with DJANGO_DEBUG=false: this looks like "
                "production. Use --force if you really mean it."
            )
        accounts = demo_seed()
        roles = {username: role for username, _, _, role, _ in DEMO_USERS}
        self.stdout.write(f"Demo hospital (invented): {accounts.hospital.name}")
        for username in accounts.usernames:
            self.stdout.write(f"  {username:<18} {roles[username]}")
        steward = demo_steward_seed(password=accounts.password)
        self.stdout.write(f"  {steward.username:<18} {Role.RULE_STEWARD} (above hospitals)")
        pharmacist = accounts.hospital.users.filter(groups__name="pharmacist").first()
        if pharmacist is not None:
            added = demo_prices_seed(actor=pharmacist)
            self.stdout.write(f"  {added} invented venetoclax tablet prices added")
        self.stdout.write(
            self.style.WARNING(f"Password for every demo account: {accounts.password}")
        )
