"""Issue 15: another hospital's records answer the same 404 on every page and API endpoint; the
error pages are the application's own, in the reader's language; a 403 is one log line.

The walk goes through the URL resolver: every pattern that names a record (a request, a
patient, a document, a reminder, ...) is requested by a user of another hospital in each role,
with GET and with the methods the view accepts. A new pattern that names a record must be
added to ``_object_kwargs`` (or to ``NOT_HOSPITAL_RECORDS`` with the reason), or the test fails.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts.roles import Role
from audit.models import AuditEvent
from consent.models import ConsentSignature
from followup.models import FollowUp, PharmacovigilanceReminder, RenewalReport, ResponseAssessment
from followup.services import adverse_event_create, followup_update, response_assessment_create
from prescriptions.models import OffLabelRequest
from regulatory.models import Application, DeadlineRule, Dossier, Pathway, Reminder
from regulatory.services import local_item_add
from reports.models import ReportExport
from tests.factories import UserFactory
from tests.followup.conftest import ae_fields, days_ago, start_treatment
from tests.pharmacy.conftest import approve
from tests.prescriptions.conftest import draft, foreign_pharmacist, patient  # noqa: F401

# Patterns whose parameters name something that belongs to no hospital: the study database and
# the national rules are shared by every hospital (issue 14), and the admin is for superusers.
NOT_HOSPITAL_RECORDS = {
    "mfa-device-remove": "the signed-in user's own second factors (another's device is a 404)",
    "evidence:study-detail": "the study database is shared by every hospital",
    "evidence:study-edit": "the study database is shared by every hospital",
    "study-detail": "the study database is shared by every hospital (API)",
    "regulatory:rule-edit": "national rules, shared by every hospital",
    "regulatory:local-item-add": "national rules, shared by every hospital (adds to its own)",
    "api-pathway-versions": "national rules, shared by every hospital",
    "api-local-items": "national rules, shared by every hospital (lists its own)",
    "regulatory:rule-preview": "national rules: a steward's preview of a change",
}
FOREIGN_ROLES = (
    Role.PHYSICIAN,
    Role.PHARMACIST,
    Role.HOSPITAL_ADMIN,
    Role.REGULATORY_OFFICER,
    Role.COMMITTEE_SECRETARY,
)
MISSING = 987654321


@dataclass(frozen=True)
class Route:
    name: str  # namespace:name
    route: str
    params: tuple[str, ...]
    methods: tuple[str, ...]


def _params(pattern: str) -> tuple[str, ...]:
    found = re.findall(r"<(?:\w+:)?(\w+)>", pattern) + re.findall(r"\(\?P<(\w+)>", pattern)
    return tuple(p for p in found if p != "format")


def _methods(callback: Any) -> tuple[str, ...]:
    actions = getattr(callback, "actions", None)
    if actions:  # a DRF viewset route: the methods it maps (HEAD is GET's twin)
        return tuple(m for m in ("get", "post", "put", "patch", "delete") if m in actions)
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if view_class is not None:
        return tuple(m for m in ("get", "post", "put", "patch", "delete") if hasattr(view_class, m))
    return ("get", "post")  # a function view: it decides, and must answer 404 to both


def routes_with_records() -> list[Route]:
    found: list[Route] = []

    def walk(patterns: list[Any], prefix: str, namespace: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                inner = namespace
                if entry.namespace:
                    inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
                walk(entry.url_patterns, prefix + str(entry.pattern), inner)
            elif isinstance(entry, URLPattern):
                route = prefix + str(entry.pattern)
                params = _params(route)
                if not params or namespace == "admin" or not entry.name:
                    continue
                if "(?P<format>" in route:
                    continue  # the same view as the pattern without the suffix
                name = f"{namespace}:{entry.name}" if namespace else entry.name
                found.append(Route(name, route, params, _methods(entry.callback)))

    walk(get_resolver().url_patterns, "", "")
    return found


@pytest.fixture
def world(draft, physician, pharmacist, hospital_admin, regulatory_officer):  # noqa: F811
    """One of each record of the home hospital, the way its users make them."""
    request = approve(draft, physician, pharmacist)  # consent rendered and signed, checklist done
    request = start_treatment(request, on=days_ago(40), pharmacist=pharmacist, cycles=1)
    response_assessment_create(
        actor=physician, request=request, assessed_on=days_ago(10), response="cri"
    )
    event = adverse_event_create(actor=physician, request=request, **ae_fields())
    followup_update(actor=physician, request=request, fields={"last_contact_on": days_ago(1)})
    application = Application.objects.create(
        request=request,
        hospital=request.hospital,
        body="hospital_drug_committee",
        prepared_at=days_ago(30),
        created_by=pharmacist,
    )
    reminder = Reminder.objects.create(
        application=application,
        rule=DeadlineRule.objects.order_by("pk")[0],
        due_on=timezone.localdate() - timedelta(days=1),
        message="invented",
    )
    dossier = Dossier.objects.create(
        request=request,
        pathway_version=request.pathway_choice.pathway_version,
        requested_by=pharmacist,
    )
    renewal = RenewalReport.objects.create(
        request=request, conclusion="Invented conclusion.", requested_by=physician
    )
    export = ReportExport.objects.create(hospital=request.hospital, requested_by=hospital_admin)
    local = local_item_add(
        actor=regulatory_officer,
        pathway=Pathway.objects.get(code="gb_gmc_off_label"),
        text="Second pharmacist countersigns (invented).",
        kind="attestation",
        attesters=["pharmacist"],
        reason="Hospital policy 1/2026 (invented)",
    )
    signature = ConsentSignature.objects.get(document__request=request)
    return {
        "request": request,
        "patient": request.patient,
        "attachment": request.attachments.first(),
        "checklist_item": request.checklist.first(),
        "application": application,
        "reminder": reminder,
        "dossier": dossier,
        "document": signature.document,
        "signature": signature,
        "adverse_event": event,
        "pv_reminder": PharmacovigilanceReminder.objects.get(adverse_event=event),
        "assessment": ResponseAssessment.objects.get(request=request),
        "followup": FollowUp.objects.get(request=request),
        "renewal": renewal,
        "export": export,
        "local_item": local,
        "audit_event": AuditEvent.objects.filter(hospital=request.hospital).last(),
    }


# Which record each parameter names, by route name where the same parameter name means
# different things (``pk`` is a request, a patient, a report...).
_BY_ROUTE: dict[str, dict[str, str]] = {
    "requests:patient-identity": {"pk": "patient"},
    "requests:patient-identity-correct": {"pk": "patient"},
    "patient-detail": {"pk": "patient"},
    "patient-identity": {"pk": "patient"},
    "reports:export-download": {"pk": "export"},
    "regulatory:reminder-done": {"reminder_id": "reminder"},
    "followup:pv-resolve": {"reminder_id": "pv_reminder"},
    "regulatory:local-item-deactivate": {"item_id": "local_item"},
    "api-local-item-deactivate": {"item_id": "local_item"},
    "fu-assessment-detail": {"pk": "assessment"},
    "fu-adverse-event-detail": {"pk": "adverse_event"},
    "fu-record-detail": {"pk": "followup"},
    "fu-pv-reminder-detail": {"pk": "pv_reminder"},
    "fu-pv-reminder-resolve": {"pk": "pv_reminder"},
    "fu-renewal-report-detail": {"pk": "renewal"},
    "audit-event-detail": {"sequence": "audit_event"},
}
_BY_PARAM = {
    "pk": "request",
    "attachment_id": "attachment",
    "item_id": "checklist_item",
    "application_id": "application",
    "dossier_id": "dossier",
    "document_id": "document",
    "signature_id": "signature",
    "event_id": "adverse_event",
    "report_id": "renewal",
}


def _object_kwargs(route: Route, world: dict[str, Any], *, missing: bool) -> dict[str, Any]:
    kwargs = {}
    for param in route.params:
        record = _BY_ROUTE.get(route.name, {}).get(param) or _BY_PARAM.get(param)
        assert record, f"{route.name} ({route.route}): which record is '{param}'?"
        obj = world[record]
        value = obj.sequence if record == "audit_event" else obj.pk
        kwargs[param] = MISSING if missing else value
    return kwargs


def _call(client: Any, method: str, url: str) -> Any:
    if method == "get":
        return client.get(url)
    if method == "delete":
        return client.delete(url)
    if method == "post" and not url.startswith("/api/"):
        return client.post(url, {})  # the pages read form data
    return getattr(client, method)(url, data="{}", content_type="application/json")


def test_the_walk_covers_every_record_route(db):
    routes = routes_with_records()
    names = {r.name for r in routes}
    # A sample from every app, so that a broken walk cannot pass by finding nothing.
    for expected in (
        "requests:detail",
        "requests:step-patient",
        "pharmacy:request",
        "consent:download",
        "followup:pv-resolve",
        "regulatory:attest",
        "reports:export-download",
        "request-detail",
        "api-safety",
        "fu-pv-reminder-resolve",
    ):
        assert expected in names
    unknown = [
        r.name
        for r in routes
        if r.name not in NOT_HOSPITAL_RECORDS
        and any(not (_BY_ROUTE.get(r.name, {}).get(p) or _BY_PARAM.get(p)) for p in r.params)
    ]
    assert not unknown, f"name the record these routes take: {unknown}"


@pytest.mark.parametrize("role", FOREIGN_ROLES, ids=str)
def test_another_hospitals_records_answer_404_on_every_page_and_endpoint(
    client, world, other_hospital, role
):
    foreign = UserFactory.create(username=f"foreign.{role}", hospital=other_hospital, role=role)
    client.force_login(foreign)
    wrong = []
    for route in routes_with_records():
        if route.name in NOT_HOSPITAL_RECORDS:
            continue
        url = reverse(route.name, kwargs=_object_kwargs(route, world, missing=False))
        for method in route.methods:
            answer = _call(client, method, url)
            if answer.status_code == 404:
                continue
            # A refusal of the call itself, before any record is read (a method the view never
            # accepts, an empty body the API refuses, a body that is not an upload) answers a
            # record that does not exist the same way: it says nothing about the record.
            nowhere = reverse(route.name, kwargs=_object_kwargs(route, world, missing=True))
            if (
                answer.status_code in (400, 405, 415)
                and _call(client, method, nowhere).status_code == answer.status_code
            ):
                continue
            wrong.append(f"{method.upper()} {url} ({route.name}): {answer.status_code}")
    assert not wrong, "\n".join(wrong)
    # Nothing of the home hospital changed hands: the request is as it was.
    request = OffLabelRequest.objects.get(pk=world["request"].pk)
    assert request.status == world["request"].status and request.version == world["request"].version


# --- The error pages ---------------------------------------------------------------------------


def _in_italian(client: Any) -> None:
    from django.conf import settings

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "it"


def _main(page: str) -> str:
    """The page's own content (the header carries a per-page CSRF token)."""
    return page[page.index("<main") :]


def test_a_record_of_another_hospital_answers_the_404_of_a_record_that_does_not_exist(
    client,
    draft,  # noqa: F811
    pharmacist,
    foreign_pharmacist,  # noqa: F811
):
    """The issue's example: ``/requests/<id>/patient/`` answered 403 and told the request
    exists. A pharmacist of the same hospital is still refused with 403 (the page is the
    physician's), and every refusal is the application's page, in the reader's language."""
    client.force_login(foreign_pharmacist)
    _in_italian(client)
    theirs = client.get(reverse("requests:step-patient", args=[draft.pk]))
    nowhere = client.get(reverse("requests:step-patient", args=[MISSING]))
    assert theirs.status_code == nowhere.status_code == 404
    assert _main(theirs.content.decode()) == _main(nowhere.content.decode())
    page = theirs.content.decode()
    assert '<html lang="it">' in page and 'class="topbar"' in page  # the layout, signed in
    assert "Esci" in page and "Non trovato" in page and "Torna alla pagina iniziale" in page
    client.force_login(pharmacist)
    _in_italian(client)
    refused = client.get(reverse("requests:step-patient", args=[draft.pk]))
    assert refused.status_code == 403
    page = refused.content.decode()
    assert '<html lang="it">' in page and "Esci" in page and "Operazione non consentita" in page
    # The API answers the same way, in JSON: a pharmacist does not edit a patient's profile.
    api = client.patch(
        f"/api/v1/patients/{draft.patient_id}/", data="{}", content_type="application/json"
    )
    assert api.status_code == 403
    client.force_login(foreign_pharmacist)
    for pk in (draft.patient_id, MISSING):
        api = client.patch(f"/api/v1/patients/{pk}/", data="{}", content_type="application/json")
        assert api.status_code == 404 and api.json() == {"detail": "Not found."}


def test_the_error_pages_are_the_applications_own_in_english_too(client, regulatory_officer):
    client.force_login(regulatory_officer)
    refused = client.get(reverse("requests:dashboard"))  # not a record: a role refusal
    assert refused.status_code == 403
    page = refused.content.decode()
    assert '<html lang="en">' in page and "Sign out" in page and "You may not do this" in page
    missing = client.get("/no-such-page/")
    assert missing.status_code == 404 and "There is no such page" in missing.content.decode()
    assert client.get("/api/v1/no-such-endpoint/").json() == {"detail": "Not found."}


def test_the_500_page_needs_no_database_no_user_and_speaks_the_readers_language(
    db, rf, django_assert_num_queries
):
    from django.urls import get_resolver
    from django.utils import translation

    handler = get_resolver().resolve_error_handler(500)
    with translation.override("it"), django_assert_num_queries(0):
        page = handler(rf.get("/requests/1/"))
    assert page.status_code == 500
    html = page.content.decode()
    assert '<html lang="it">' in html and "/static/css/app.css" in html
    assert "Errore del server" in html and 'class="brand"' in html
    with django_assert_num_queries(0):
        api = handler(rf.get("/api/v1/requests/1/"))
    assert api.status_code == 500 and api["Content-Type"] == "application/json"


def test_a_refusal_is_logged_once_as_one_line_without_a_traceback(
    client, regulatory_officer, caplog
):
    client.force_login(regulatory_officer)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client.get(reverse("requests:dashboard")).status_code == 403
    (record,) = [r for r in caplog.records if r.name == "django.request"]
    assert record.getMessage() == "Forbidden (Permission denied): /requests/"
    assert record.exc_info is None and record.exc_text is None
    # One handler prints it: the root's console. Django's own "django" console handler (on
    # with DEBUG) printed every refusal and error a second time.
    printing = []
    logger: logging.Logger | None = logging.getLogger("django.request")
    while logger is not None:
        printing += [h for h in logger.handlers if not type(h).__module__.startswith("_pytest")]
        logger = logger.parent if logger.propagate else None
    assert len(printing) == 1, printing


def test_a_server_error_keeps_its_traceback(caplog):
    from offlabel.log_filters import ForbiddenWithoutTraceback

    try:
        raise RuntimeError("invented")
    except RuntimeError:
        import sys

        record = logging.LogRecord(
            "django.request",
            logging.ERROR,
            __file__,
            1,
            "Internal Server Error: /x/",
            (),
            sys.exc_info(),
        )
    record.status_code = 500
    assert ForbiddenWithoutTraceback().filter(record) and record.exc_info is not None
