"""Deploy checks (``manage.py check --deploy``) for sign-in settings that only matter in
production."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def passkey_domain_check(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    if settings.DEBUG or settings.WEBAUTHN_RP_ID not in ("localhost", "127.0.0.1", ""):
        return []
    return [
        Warning(
            f"OFFLABEL_WEBAUTHN_RP_ID is {settings.WEBAUTHN_RP_ID!r}: passkeys would work only "
            "on the server itself.",
            hint="Set it to the site's domain as the address bar shows it "
            "(e.g. offlabel.hospital.example).",
            id="accounts.W001",
        )
    ]
