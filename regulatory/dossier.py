"""The submission dossier PDF, rendered by a Celery worker with WeasyPrint.

A dossier goes to an outside body, so it is written in that body's language: Italian for an
Italian pathway (AIFA, an ethics committee, a hospital drug committee). The interface has
catalogues for English and Italian only (French exists for the consent form's wording alone),
so a French, German or Spanish body gets the dossier in English, and the dossier says so.
Codes are shown by their labels; the law's and the label's own words are quoted as written.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation
from django.utils.translation import gettext

from accounts.models import User
from accounts.roles import Role
from audit.actions import AuditAction
from audit.services import audit_record
from offlabel.exceptions import ApplicationError
from offlabel.rendering import render_enqueue
from pharmacy.safety import steps_text_plain
from pharmacy.selectors import plan_cost, plan_of, plan_version_latest
from prescriptions.models import OffLabelRequest
from prescriptions.policies import require_role, require_same_hospital
from prescriptions.profile import profile_as_data
from prescriptions.selectors import decimal_plain, evidence_summary
from regulatory.models import Body, Dossier, PathwayVersion
from regulatory.services import checklist_state
from signing.documents import pdf_render_once


@transaction.atomic
def dossier_request(*, actor: User, request: OffLabelRequest) -> Dossier:
    require_same_hospital(actor, request.hospital_id)
    require_role(
        actor,
        Role.PHARMACIST,
        Role.PHYSICIAN,
        Role.COMMITTEE_SECRETARY,
        message=gettext("Your role cannot prepare dossiers."),
    )
    choice = getattr(request, "pathway_choice", None)
    if choice is None:
        raise ApplicationError(
            gettext("Choose the regulatory pathway first: the dossier follows its rules.")
        )
    dossier = Dossier.objects.create(
        request=request, pathway_version=choice.pathway_version, requested_by=actor
    )
    audit_record(
        actor=actor,
        action=AuditAction.DOSSIER_REQUESTED,
        target=request,
        summary=f"{request.reference}: dossier for {choice.pathway_version} queued",
        after={"dossier": dossier.pk},
    )
    render_enqueue(dossier)  # BrokerUnavailable rolls the dossier back: nothing half-made
    return dossier


# The language of each country's bodies; used only when the interface has that language.
COUNTRY_LANGUAGES = {"IT": "it", "FR": "fr", "DE": "de", "ES": "es", "GB": "en", "US": "en"}


def dossier_language(version: PathwayVersion) -> tuple[str, str]:
    """(language the dossier is written in, the body's own language): the body's language
    when the interface has it, else English."""
    wanted = COUNTRY_LANGUAGES.get(version.pathway.jurisdiction.code, "en")
    available = {code for code, _name in settings.LANGUAGES}
    return (wanted if wanted in available else "en"), wanted


def dossier_html(dossier: Dossier) -> str:
    version = dossier.pathway_version
    language, wanted = dossier_language(version)
    with translation.override(language):
        return _dossier_html(dossier, language=language, wanted=wanted)


def _dossier_html(dossier: Dossier, *, language: str, wanted: str) -> str:
    request = dossier.request
    version = dossier.pathway_version
    plan = plan_of(request)  # the one computation of the dose, as every surface reads it
    cost = plan_cost(request, plan) if plan else None
    context = {
        "dossier": dossier,
        "request": request,
        "version": version,
        "is_aifa_fund": version.authorising_body == Body.AIFA,
        "profile": profile_as_data(request.patient),
        "patient": request.patient,
        "attachments": request.attachments.all(),
        "summary": evidence_summary(request),
        "plan": plan,
        "plan_steps": "/".join(
            formats.number_format(decimal_plain(s)) for s in (plan.schedule_mg if plan else [])
        ),
        "plan_cost": cost,
        "missing_strengths": ", ".join(
            f"{formats.number_format(decimal_plain(s))} mg"
            for s in (cost.missing_prices if cost else [])
        ),
        "plan_version": plan_version_latest(request),
        "plan_cycles": [(c, steps_text_plain(c.doses)) for c in plan.cycles] if plan else [],
        "checklist": checklist_state(request),
        "generated_at": timezone.now(),
        "language_note": (
            gettext(
                "This dossier is written in English: the application has no translation into "
                "the authority's language (%(language)s) yet."
            )
            % {"language": wanted}
            if language != wanted
            else ""
        ),
    }
    return render_to_string("regulatory/dossier.html", context)


def dossier_render(dossier_id: int) -> Dossier:
    """Idempotent: a dossier already rendered is left as it is."""

    def stored(dossier: Dossier) -> None:
        audit_record(
            actor=None,
            action=AuditAction.DOSSIER_RENDERED,
            target=dossier.request,
            hospital=dossier.request.hospital,
            summary=f"{dossier.request.reference}: dossier {dossier.pk} rendered",
            after={"dossier": dossier.pk, "sha256": dossier.sha256},
        )

    return pdf_render_once(
        Dossier.objects.select_related("request__patient", "request__hospital", "pathway_version"),
        dossier_id,
        html=dossier_html,
        filename=lambda dossier: f"dossier-{dossier.request.reference}-{dossier.pk}.pdf",
        on_stored=stored,
    )


DOWNLOAD_ROLES = {
    Role.PHARMACIST,
    Role.PHYSICIAN,
    Role.COMMITTEE_SECRETARY,
    Role.REGULATORY_OFFICER,
}


def dossier_download(*, actor: User, dossier: Dossier) -> Dossier:
    """The dossier PDF to a user of the request's hospital whose role works on dossiers; every
    download is an audit event. The file is never linked under MEDIA_URL."""
    dossier = Dossier.objects.select_related("request__hospital").get(pk=dossier.pk)
    require_same_hospital(actor, dossier.request.hospital_id)
    require_role(actor, *DOWNLOAD_ROLES, message=gettext("Your role cannot download dossiers."))
    if dossier.status != Dossier.Status.READY or not dossier.file:
        raise ApplicationError(gettext("The dossier is not rendered yet."))
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.DOSSIER_DOWNLOADED,
            target=dossier.request,
            summary=f"{dossier.request.reference}: dossier {dossier.pk} downloaded",
            after={"dossier": dossier.pk, "sha256": dossier.sha256},
        )
    return dossier
