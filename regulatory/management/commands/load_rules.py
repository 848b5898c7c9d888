from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from regulatory.loader import RULES_FILE, rules_load


class Command(BaseCommand):
    help = "Load the regulatory rules data file (idempotent; a changed pathway gets a new version)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--file", type=Path, default=RULES_FILE)

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(self.style.SUCCESS(f"Rules: {rules_load(path=options['file'])}"))
