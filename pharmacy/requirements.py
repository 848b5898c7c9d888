"""Workflow guard of the pharmacy: open blocking safety findings stop approval."""

from __future__ import annotations

from django.utils.translation import gettext

from pharmacy.safety import safety_check
from prescriptions.models import OffLabelRequest
from prescriptions.workflow import requirement_register


@requirement_register(
    "approve",
    code="safety_clear",
    description="No blocking safety finding without a pharmacist's decision",
)
def safety_clear(request: OffLabelRequest) -> str | None:
    open_findings = safety_check(request).open_blocking
    if not open_findings:
        return None
    findings = "; ".join(f"{f.title} ({f.message})" for f in open_findings)
    return gettext("blocking safety findings need a pharmacist's decision: %(findings)s") % {
        "findings": findings
    }
