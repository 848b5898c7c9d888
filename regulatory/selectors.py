from __future__ import annotations

from typing import Any

from prescriptions.models import OffLabelRequest
from regulatory.forms import ApplicationCreateForm, ApplicationStepForm
from regulatory.services import checklist_state


def regulatory_panels(request: OffLabelRequest) -> dict[str, Any]:
    """What the request page shows of the pathway: checklist, applications, dossiers."""
    choice = getattr(request, "pathway_choice", None)
    application_form = ApplicationCreateForm(
        initial={"body": choice.pathway_version.authorising_body} if choice else None
    )
    application_form.fields["renewal_of"].queryset = request.applications.filter(status="granted")  # type: ignore[attr-defined]
    return {
        "choice": choice,
        "checklist": checklist_state(request) if choice else [],
        "applications": request.applications.select_related("renewal_of").prefetch_related(
            "reminders__rule"
        ),
        "dossiers": request.dossiers.all()[:5],
        "application_form": application_form,
        "step_form": ApplicationStepForm(),
    }
