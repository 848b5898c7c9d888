"""Which hospital's record a URL names, so that a refusal never tells a user of another
hospital that the record exists (issue 15).

The views check the user's role before they look the record up: a pharmacist of hospital B
opening ``/requests/<id>/patient/`` of hospital A was refused (403), where a request that does
not exist answered 404. The refusal handlers (``offlabel.error_views.permission_denied`` for
pages, ``offlabel.exceptions.api_exception_handler`` for the API) ask
:func:`names_record_of_another_hospital` and answer 404 instead, as for a record that does not
exist. A refusal on the user's own hospital's record stays a 403.

Each route names its records by its URL parameters; the table below says which model and which
hospital each parameter means. ``tests/test_issue15_errors_404.py`` walks every route that
takes a record and checks the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db.models import Model


@dataclass(frozen=True)
class Record:
    model: str  # "app_label.ModelName"
    lookup: str  # the field the URL parameter matches
    hospital: str  # the path from the model to its hospital's id

    def hospital_of(self, value: Any) -> int | bool | None:
        """The record's hospital id; False when there is no such record."""
        text = str(value)
        if not (text.isascii() and text.isdigit()):
            return False
        model: type[Model] = apps.get_model(self.model)
        row = model._default_manager.filter(**{self.lookup: int(text)}).values_list(
            self.hospital, flat=True
        )[:1]
        found = list(row)
        return found[0] if found else False


REQUEST = Record("prescriptions.OffLabelRequest", "pk", "hospital_id")
PATIENT = Record("prescriptions.Patient", "pk", "hospital_id")
ATTACHMENT = Record("prescriptions.EvidenceAttachment", "pk", "request__hospital_id")
CHECKLIST_ITEM = Record("regulatory.ChecklistItem", "pk", "request__hospital_id")
LOCAL_ITEM = Record("regulatory.LocalChecklistItem", "pk", "hospital_id")
APPLICATION = Record("regulatory.Application", "pk", "hospital_id")
REMINDER = Record("regulatory.Reminder", "pk", "application__hospital_id")
DOSSIER = Record("regulatory.Dossier", "pk", "request__hospital_id")
CONSENT_DOCUMENT = Record("consent.ConsentDocument", "pk", "request__hospital_id")
SIGNATURE = Record("consent.ConsentSignature", "pk", "document__request__hospital_id")
ASSESSMENT = Record("followup.ResponseAssessment", "pk", "request__hospital_id")
ADVERSE_EVENT = Record("followup.AdverseEvent", "pk", "request__hospital_id")
FOLLOWUP = Record("followup.FollowUp", "pk", "request__hospital_id")
PV_REMINDER = Record("followup.PharmacovigilanceReminder", "pk", "hospital_id")
RENEWAL_REPORT = Record("followup.RenewalReport", "pk", "request__hospital_id")
REPORT_EXPORT = Record("reports.ReportExport", "pk", "hospital_id")
AUDIT_EVENT = Record("audit.AuditEvent", "sequence", "hospital_id")

# The parameters of the pages about a request (and of the API routes named "api-...").
_REQUEST_PAGES: dict[str, Record] = {
    "pk": REQUEST,
    "attachment_id": ATTACHMENT,
    "item_id": CHECKLIST_ITEM,
    "application_id": APPLICATION,
    "reminder_id": REMINDER,
    "dossier_id": DOSSIER,
    "document_id": CONSENT_DOCUMENT,
    "signature_id": SIGNATURE,
    "event_id": ADVERSE_EVENT,
    "report_id": RENEWAL_REPORT,
}
_BY_NAMESPACE: dict[str, dict[str, Record]] = dict.fromkeys(
    ("requests", "pharmacy", "consent", "followup", "regulatory"), _REQUEST_PAGES
)
_BY_ROUTE: dict[str, dict[str, Record]] = {
    "requests:patient-identity": {"pk": PATIENT},
    "requests:patient-identity-correct": {"pk": PATIENT},
    "followup:pv-resolve": {"reminder_id": PV_REMINDER},
    "regulatory:local-item-deactivate": {"item_id": LOCAL_ITEM},
    "reports:export-download": {"pk": REPORT_EXPORT},
    "api-local-item-deactivate": {"item_id": LOCAL_ITEM},
}
# API routes of the DRF routers, by the start of their name.
_BY_API_PREFIX: dict[str, dict[str, Record]] = {
    "request-": {"pk": REQUEST, "attachment_id": ATTACHMENT},
    "patient-": {"pk": PATIENT},
    "audit-event-": {"sequence": AUDIT_EVENT},
    "fu-assessment-": {"pk": ASSESSMENT},
    "fu-adverse-event-": {"pk": ADVERSE_EVENT},
    "fu-record-": {"pk": FOLLOWUP},
    "fu-pv-reminder-": {"pk": PV_REMINDER},
    "fu-renewal-report-": {"pk": RENEWAL_REPORT},
    "api-": _REQUEST_PAGES,
}


def records_of_route(view_name: str) -> dict[str, Record]:
    """The URL parameters of a route that name a hospital's record (none for the shared study
    database, the national rules and every route not listed)."""
    if view_name in _BY_ROUTE:
        return _BY_ROUTE[view_name]
    namespace, _, name = view_name.rpartition(":")
    if namespace:
        return _BY_NAMESPACE.get(namespace, {})
    for prefix, params in _BY_API_PREFIX.items():
        if name.startswith(prefix):
            return params
    return {}


def names_record_of_another_hospital(request: Any) -> bool:
    """Whether the request's URL names a record that is not of the signed-in user's hospital
    (or does not exist): the refusal must then be the 404 of a record that does not exist.
    A user without a hospital (a national rules steward) has no hospital records."""
    user = getattr(request, "user", None)
    match = getattr(request, "resolver_match", None)
    if user is None or not getattr(user, "is_authenticated", False) or match is None:
        return False
    hospital_id = getattr(user, "hospital_id", None)
    params = records_of_route(match.view_name)
    for name, value in match.kwargs.items():
        record = params.get(name)
        if record is None:
            continue
        owner = record.hospital_of(value)
        if owner is False or hospital_id is None or owner != hospital_id:
            return True
    return False
