"""The workflow guard this feature adds: no approval without a signed, current consent."""

from __future__ import annotations

from django.utils.translation import gettext

from consent.services import consent_is_signed
from prescriptions.models import OffLabelRequest
from prescriptions.workflow import requirement_register


@requirement_register(
    "approve", code="consent_signed", description="Signed consent on the current form"
)
def consent_signed(request: OffLabelRequest) -> str | None:
    if consent_is_signed(request):
        return None
    return gettext("no signed consent on the current version of the consent form")
