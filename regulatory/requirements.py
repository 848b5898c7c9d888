"""Workflow guards this feature adds: a pathway before submission; checklist and outside
authorisation before approval."""

from __future__ import annotations

from django.utils.translation import gettext

from offlabel.i18n import localized
from prescriptions.models import OffLabelRequest
from prescriptions.workflow import requirement_register
from regulatory.attestations import pathway_recheck
from regulatory.services import authorisation_current, checklist_unmet


@requirement_register(
    "submit", "resubmit", code="pathway_chosen", description="Regulatory pathway chosen"
)
def pathway_chosen(request: OffLabelRequest) -> str | None:
    if getattr(request, "pathway_choice", None) is None:
        return gettext("no regulatory pathway is chosen (see the pathway step)")
    return None


@requirement_register(
    "submit",
    "resubmit",
    "approve",
    code="pathway_still_applies",
    description="The chosen pathway still applies to the request as it is now",
)
def pathway_still_applies(request: OffLabelRequest) -> str | None:
    recheck = pathway_recheck(request)
    if recheck is None or recheck.applies:
        return None
    return gettext(
        "the chosen pathway %(pathway)s no longer applies (%(why)s): choose the pathway again"
    ) % {"pathway": localized(recheck.choice.pathway_version, "name"), "why": recheck.why}


@requirement_register(
    "approve", code="checklist_complete", description="Every required checklist item holds"
)
def checklist_complete(request: OffLabelRequest) -> str | None:
    unmet = checklist_unmet(request)
    if not unmet:
        return None
    return gettext("checklist items still open: %(items)s") % {"items": "; ".join(unmet)}


@requirement_register(
    "approve", code="authorisation_granted", description="Outside authorisation granted and in date"
)
def authorisation_granted(request: OffLabelRequest) -> str | None:
    if not request.needs_outside_authorisation:
        return None
    if authorisation_current(request) is None:
        return gettext("the outside authorisation is not recorded as granted and in date")
    return None
