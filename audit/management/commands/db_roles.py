from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from audit.db_roles import DbRolesError, db_roles_apply


class Command(BaseCommand):
    help = (
        "As the owner of the tables (DATABASE_OWNER_URL), grant the app's role (the user of "
        "DATABASE_URL) what it needs: on the audit tables only SELECT and INSERT. Run after "
        "every migrate."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--database",
            default="owner",
            help="The connection to run as: the owner of the tables (default: owner).",
        )
        parser.add_argument(
            "--app-role",
            default="",
            help="The app's role (default: the user of DATABASE_URL).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        app_role = options["app_role"] or settings.DATABASES["default"].get("USER", "")
        if not app_role:
            raise CommandError("No app role: DATABASE_URL names no user; pass --app-role.")
        password = settings.DATABASES["default"].get("PASSWORD") or None
        if options["app_role"]:
            password = None
        try:
            report = db_roles_apply(
                connection=connections[options["database"]],
                app_role=app_role,
                app_password=password,
            )
        except DbRolesError as exc:
            raise CommandError(str(exc)) from None
        if options["verbosity"] > 1:
            for statement in report.statements:
                self.stdout.write(statement)
        self.stdout.write(
            self.style.SUCCESS(
                f"Role {report.app_role!r} granted by owner {report.owner_role!r}: audit tables "
                "SELECT and INSERT only."
            )
        )
