"""Serve the demo time-stamping authority (RFC 3161 over HTTP) with the demo PKI's TSA
certificate; ``make_demo_pki`` first. For local runs only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from signing import tsa_server
from signing.demo_pki import DemoPkiPaths


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dir", type=Path, default=None, help="The demo PKI (var/pki/).")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8077)

    def handle(self, *args: Any, **options: Any) -> None:
        paths = DemoPkiPaths(options["dir"] or Path(settings.SEAL_PKI_DIR))
        if not paths.complete():
            raise CommandError(f"No demo PKI in {paths.directory}: run manage.py make_demo_pki")
        tsa_server.main(
            [
                "--cert",
                str(paths.tsa_certificate),
                "--key",
                str(paths.tsa_key),
                "--ca",
                str(paths.ca_certificate),
                "--host",
                options["host"],
                "--port",
                str(options["port"]),
            ]
        )
