from typing import Any

from django.core.management.base import BaseCommand

from pharmacy.rules import label_rules_load


class Command(BaseCommand):
    help = "Load the venetoclax label rules data file (a changed file becomes a new version)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(str(label_rules_load()))
