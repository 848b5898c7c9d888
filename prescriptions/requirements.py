"""The guards this feature adds. Later features register theirs the same way."""

from __future__ import annotations

from django.utils.translation import gettext

from prescriptions.models import OffLabelRequest
from prescriptions.profile import profile_missing
from prescriptions.workflow import requirement_register


@requirement_register(
    "submit", "resubmit", code="profile_complete", description="Complete clinical profile"
)
def profile_complete(request: OffLabelRequest) -> str | None:
    missing = profile_missing(request.patient)
    if not missing:
        return None
    return gettext("the patient's profile lacks %(missing)s") % {"missing": ", ".join(missing)}


@requirement_register("submit", "resubmit", code="rationale", description="Clinical rationale")
def rationale_given(request: OffLabelRequest) -> str | None:
    if len(request.clinical_rationale.strip()) < 20:
        return gettext(
            "the clinical rationale (why authorised options do not serve this patient) "
            "is missing or too short"
        )
    return None


@requirement_register("submit", "resubmit", code="regimen_complete", description="Complete regimen")
def regimen_complete(request: OffLabelRequest) -> str | None:
    missing = []
    if not request.regimen:
        missing.append(gettext("the partner regimen"))
    elif request.regimen == OffLabelRequest.Regimen.OTHER and not request.regimen_other.strip():
        missing.append(gettext("a description of the other regimen"))
    if request.ven_target_dose_mg is None:
        missing.append(gettext("the target VEN dose"))
    if not request.ramp_up:
        missing.append(gettext("the ramp-up"))
    elif request.ramp_up == OffLabelRequest.RampUp.CUSTOM and not request.ramp_up_custom.strip():
        missing.append(gettext("a description of the ramp-up"))
    if request.cycles_planned is None:
        missing.append(gettext("the number of cycles"))
    if not missing:
        return None
    return gettext("the regimen lacks %(missing)s") % {"missing": ", ".join(missing)}


@requirement_register(
    "submit", "resubmit", code="evidence_attached", description="At least one study attached"
)
def evidence_attached(request: OffLabelRequest) -> str | None:
    return None if request.attachments.exists() else gettext("no study is attached as evidence")


@requirement_register(
    "approve",
    code="outside_authorisation",
    description="Outside authorisation when the pathway needs it",
)
def outside_authorisation_first(request: OffLabelRequest) -> str | None:
    if (
        request.needs_outside_authorisation
        and request.status != OffLabelRequest.Status.AWAITING_AUTHORISATION
    ):
        return gettext("this pathway needs an outside decision: send it for authorisation first")
    return None


@requirement_register(
    "send_for_authorisation",
    code="pathway_needs_it",
    description="Pathway needs an outside decision",
)
def pathway_needs_authorisation(request: OffLabelRequest) -> str | None:
    if not request.needs_outside_authorisation:
        return gettext("this pathway needs no outside decision: approve it directly")
    return None
