from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.checkpoints import CheckpointError, audit_checkpoint_write


class Command(BaseCommand):
    help = (
        "Write the audit chain's head (sequence, hash, time), signed with AUDIT_SIGNING_KEY, as "
        "the next checkpoint in AUDIT_ANCHOR_DIR (Celery beat does this every "
        "AUDIT_CHECKPOINT_MINUTES)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            checkpoint = audit_checkpoint_write()
        except CheckpointError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Checkpoint {checkpoint.number} at event #{checkpoint.sequence} written to "
                f"{checkpoint.path}."
            )
        )
