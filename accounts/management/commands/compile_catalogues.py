from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from offlabel.i18n import catalogues_compile


class Command(BaseCommand):
    help = (
        "Compile the interface translations (locale/*/LC_MESSAGES/*.po to .mo) in pure "
        "Python: no GNU gettext needed, unlike compilemessages."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force", action="store_true", help="Recompile even the catalogues that are current."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        written = catalogues_compile(force=options["force"])
        for path in written:
            self.stdout.write(f"compiled {path}")
        if not written:
            self.stdout.write("catalogues are up to date")
