"""Create the invented demo PKI for local runs: a CA, the hospital's seal (PKCS#12) and a
time-stamping authority's certificate. Never for production (it refuses to start with it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from accounts.services import DEMO_HOSPITAL
from signing.demo_pki import demo_pki_create


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dir", type=Path, default=None, help="Where to write (default: var/pki/)."
        )
        parser.add_argument(
            "--hospital",
            default=DEMO_HOSPITAL["name"],  # the demo hospital of seed_demo: the seal names it
            help="The sealing organisation.",
        )
        parser.add_argument(
            "--force", action="store_true", help="Regenerate even when the files exist."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        directory = options["dir"] or Path(settings.SEAL_PKI_DIR)
        paths, written = demo_pki_create(
            directory, hospital_name=options["hospital"], force=options["force"]
        )
        self.stdout.write(
            ("Wrote" if written else "Kept (use --force to regenerate)")
            + f" the demo PKI in {directory}:"
        )
        for label, path in (
            ("CA certificate (OFFLABEL_SEAL_TRUST_ROOTS)", paths.ca_certificate),
            ("hospital seal, PKCS#12 (OFFLABEL_SEAL_PKCS12)", paths.seal_pkcs12),
            ("its password (OFFLABEL_SEAL_PKCS12_PASSWORD)", paths.seal_password),
            ("TSA certificate", paths.tsa_certificate),
            ("TSA key", paths.tsa_key),
        ):
            self.stdout.write(f"  {label}: {path}")
