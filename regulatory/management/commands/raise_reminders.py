from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from regulatory.reminders import reminders_raise


class Command(BaseCommand):
    help = "Raise deadline reminders now (Celery beat runs this daily)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--today", type=date.fromisoformat, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        raised = reminders_raise(today=options["today"])
        self.stdout.write(f"{len(raised)} new reminder(s)")
