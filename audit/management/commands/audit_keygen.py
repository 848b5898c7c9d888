from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.checkpoints import public_key_path_for, signing_key_generate


class Command(BaseCommand):
    help = (
        "Create the Ed25519 key pair that signs audit checkpoints: the private key at "
        "AUDIT_SIGNING_KEY (mode 600) and the public key beside it (.pub.pem). Never overwrites."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--path", default="", help="Private key path (default: the setting).")
        parser.add_argument(
            "--if-missing",
            action="store_true",
            help="Do nothing when the key exists (scripts/dev.py run uses this).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        raw = options["path"] or settings.AUDIT_SIGNING_KEY
        if not raw and options["if_missing"]:
            self.stderr.write("AUDIT_SIGNING_KEY is not set: no key generated.")
            return
        if not raw:
            raise CommandError("Set AUDIT_SIGNING_KEY (a file path) or pass --path.")
        private_path = Path(raw)
        if private_path.exists():
            if options["if_missing"]:
                return
            raise CommandError(f"{private_path} exists; a signing key is never overwritten.")
        public_path = public_key_path_for(private_path)
        try:
            signing_key_generate(private_path=private_path, public_path=public_path)
        except FileExistsError as exc:
            raise CommandError(f"{exc.filename} exists; a key is never overwritten.") from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Audit signing key written to {private_path}, its public key to {public_path}. "
                "Keep the private key out of the database and its backups."
            )
        )
