from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.services import DEMO_USERS, demo_seed


class Command(BaseCommand):
    help = "Create an invented demo hospital with one user per role (two physicians)."

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
        from pharmacy.services import demo_prices_seed

        pharmacist = accounts.hospital.users.filter(groups__name="pharmacist").first()
        if pharmacist is not None:
            added = demo_prices_seed(actor=pharmacist)
            self.stdout.write(f"  {added} invented venetoclax tablet prices added")
        self.stdout.write(
            self.style.WARNING(f"Password for every demo account: {accounts.password}")
        )
