from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.checkpoints import audit_checkpoints_verify
from audit.services import audit_chain_verify


class Command(BaseCommand):
    help = (
        "Walk the audit hash chain, then check it against every signed checkpoint in "
        "AUDIT_ANCHOR_DIR; exit non-zero naming each altered, removed or inserted event, "
        "truncation, tail deletion, re-chaining, and forged or missing checkpoint."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        chain = audit_chain_verify()
        checkpoints = audit_checkpoints_verify()
        problems = ([] if chain.ok else [chain.message]) + checkpoints.problems
        if problems:
            raise CommandError("\n".join(problems))
        self.stdout.write(self.style.SUCCESS(chain.message))
        self.stdout.write(self.style.SUCCESS(checkpoints.message))
