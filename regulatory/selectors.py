from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import Hospital
from accounts.scoping import scope_to_hospital
from prescriptions.models import OffLabelRequest
from regulatory.attestations import pathway_recheck
from regulatory.models import Application, LocalChecklistItem, Pathway, PathwayVersion
from regulatory.services import checklist_state


def regulatory_panels(request: OffLabelRequest) -> dict[str, Any]:
    """What the request page shows of the pathway: checklist, applications, dossiers, and the
    granted applications a renewal may continue (data only; the forms are built by the
    ``regulatory_request_panel`` tag)."""
    choice = getattr(request, "pathway_choice", None)
    renewable = request.applications.filter(status=Application.Status.GRANTED)
    # Stored by the write that changed the inputs (regulatory.attestations); the reason is
    # worked out, in the reader's language, only when there is one to show.
    recheck = pathway_recheck(request) if choice and not choice.applies_now else None
    return {
        "choice": choice,
        "pathway_warning": recheck.why if recheck and not recheck.applies else "",
        "checklist": checklist_state(request) if choice else [],
        "applications": request.applications.select_related("renewal_of").prefetch_related(
            "reminders__rule"
        ),
        "dossiers": request.dossiers.all()[:5],
        "renewable": renewable,
    }


# --- Rules shared by hospitals (issue 14) ---------------------------------------------------------

# How long the rules page shows a notice of a national rule change.
RULE_NOTICE_DAYS = 30


def hospitals_affected_by(pathway: Pathway) -> list[Hospital]:
    """The hospitals a pathway's rules apply to: those in its country, and any hospital with a
    request filed under its jurisdiction."""
    code = pathway.jurisdiction.code
    return list(
        Hospital.objects.filter(
            Q(country__iexact=code)
            | Q(pk__in=OffLabelRequest.objects.filter(jurisdiction=code).values("hospital_id"))
        ).order_by("pk")
    )


def jurisdictions_of(hospital: Hospital) -> set[str]:
    """The jurisdictions whose rules concern a hospital: its country's, and any its requests
    were filed under (the rule-change notices and the rules to verify on the home page)."""
    filed = OffLabelRequest.objects.filter(hospital=hospital).values_list("jurisdiction", flat=True)
    return {hospital.country.upper(), *filed}


def rule_notices_for(user: Any, *, days: int = RULE_NOTICE_DAYS) -> list[PathwayVersion]:
    """National rule changes of the last ``days`` days that concern the user's hospital (all of
    them for a steward): versions after the first, newest first."""
    versions = (
        PathwayVersion.objects.filter(
            version__gt=1, created_at__gte=timezone.now() - timedelta(days=days)
        )
        .select_related("pathway__jurisdiction", "created_by")
        .order_by("-created_at")
    )
    hospital = getattr(user, "hospital", None)
    if hospital is not None:
        versions = versions.filter(pathway__jurisdiction__code__in=jurisdictions_of(hospital))
    return list(versions)


def local_items_of(user: Any) -> QuerySet[LocalChecklistItem]:
    """The local checklist items of the user's hospital (none for a user without one)."""
    return scope_to_hospital(
        LocalChecklistItem.objects.select_related("pathway", "created_by"), user
    ).order_by("pathway__jurisdiction__code", "pathway__order", "pk")
