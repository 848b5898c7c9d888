"""Deploy checks (``manage.py check --deploy``): a production without a seal certificate or a
time-stamping authority starts (the image build needs no certificate), but every PDF it renders
would fail; the check says so before the first patient's consent form does."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def seal_configuration_check(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    if settings.DEBUG:
        return []
    problems = []
    if not settings.SEAL_PKCS12:
        problems.append(
            Warning(
                "No seal certificate: every PDF (consent forms, dossiers, reports) will fail "
                "to render until one is configured.",
                hint="Set OFFLABEL_SEAL_PKCS12, OFFLABEL_SEAL_PKCS12_PASSWORD and "
                "OFFLABEL_SEAL_TRUST_ROOTS to the hospital's certificate (PKCS#12) and its CA.",
                id="signing.W001",
            )
        )
    if not settings.SEAL_TSA_URL:
        problems.append(
            Warning(
                "No time-stamping authority: every PDF will wait for its timestamp, unserved.",
                hint="Set OFFLABEL_TSA_URL to the RFC 3161 endpoint of the hospital's TSA.",
                id="signing.W002",
            )
        )
    return problems
