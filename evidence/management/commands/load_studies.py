from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from evidence.services import REVIEW_DATA_FILE, studies_load_review


class Command(BaseCommand):
    help = "Load the review's Table 1 studies from the versioned data file (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--file", type=Path, default=REVIEW_DATA_FILE)

    def handle(self, *args: Any, **options: Any) -> None:
        report = studies_load_review(path=options["file"])
        self.stdout.write(self.style.SUCCESS(f"Studies: {report}"))
