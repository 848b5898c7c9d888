"""What the schemathesis run found, one test each, and bad input answered with a 400 that names
the field, across the apps."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from consent.services import consent_render, consent_request
from followup.services import followup_update
from offlabel.exceptions import ApplicationError, api_exception_handler
from regulatory.services import application_create, application_step
from tests.api_schema import CHECKS, api_schema_load, in_process_requests, token_header
from tests.followup.conftest import days_ago, treated
from tests.pharmacy.conftest import approve, tls_record
from tests.prescriptions.conftest import IDENTITY, draft, patient
from tests.regulatory.conftest import make_request

__all__ = ["draft", "make_request", "patient", "treated"]  # fixtures of other directories

API = "/api/v1"


@pytest.fixture
def api_schema(db: Any, physician: Any) -> Iterator[Any]:
    with in_process_requests():
        yield api_schema_load(token_header(physician))


def conforms(schema: Any, method: str, path: str, user: Any, **case: Any) -> Any:
    """Call one operation as ``user`` and check the answer against the schema (no 5xx, a
    documented status, content type and body); return the response."""
    operation = schema[path][method]
    return operation.Case(**case).call_and_validate(headers=token_header(user), checks=CHECKS)


# --- What schemathesis found -----------------------------------------------------------------


def test_a_request_changed_through_the_api_answers_with_its_attachment_count(
    api_schema, draft, physician
):
    """The update answered with the service's unannotated row: PATCH left n_attachments out
    (and PUT would have said 0)."""
    response = conforms(
        api_schema,
        "PATCH",
        "/api/v1/requests/{id}/",
        physician,
        path_parameters={"id": draft.pk},
        body={"cycles_planned": 5},
        media_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["n_attachments"] == 1 and response.json()["cycles_planned"] == 5


def test_a_version_that_is_not_a_number_is_a_400_naming_it_not_a_500(api_client, draft, physician):
    api_client.force_authenticate(physician)
    response = api_client.patch(
        f"{API}/requests/{draft.pk}/", {"cycles_planned": 5, "version": "abc"}, format="json"
    )
    assert response.status_code == 400 and "version" in response.json()
    stale = api_client.patch(
        f"{API}/requests/{draft.pk}/", {"cycles_planned": 5, "version": 1}, format="json"
    )
    assert stale.status_code == 409


def test_a_patient_without_weight_and_height_has_a_null_body_surface_area(api_schema, physician):
    """bsa_m2 is null until weight and height are known; the schema said a number."""
    response = conforms(
        api_schema,
        "POST",
        "/api/v1/patients/",
        physician,
        body={
            "age_years": 70,
            # Required since issue 15.
            "identity": {
                "given_name": "Ada",
                "family_name": "Invented",
                "date_of_birth": "1956-01-02",
            },
        },
        media_type="application/json",
    )
    assert response.status_code == 201 and response.json()["bsa_m2"] is None


def test_unattested_checklist_items_match_the_schema(api_schema, draft, physician):
    """attested_by is null until somebody attests; the schema said a string."""
    response = conforms(
        api_schema,
        "GET",
        "/api/v1/requests/{id}/checklist/",
        physician,
        path_parameters={"id": draft.pk},
    )
    assert response.json()[0]["attested_by"] is None


@pytest.mark.parametrize("action", ["history", "suggestions", "attachments"])
def test_the_lists_of_one_request_are_plain_arrays_as_documented(
    api_schema, draft, physician, action
):
    """They were documented as paginated objects. Suggestions also answered 500: a translated
    (lazy) regimen label was joined as if it were a string."""
    response = conforms(
        api_schema,
        "GET",
        f"/api/v1/requests/{{id}}/{action}/",
        physician,
        path_parameters={"id": draft.pk},
    )
    assert isinstance(response.json(), list)


def test_a_follow_up_record_without_end_or_death_matches_the_schema(api_schema, treated, physician):
    """An unset end reason or cause of death is "", which the enums did not admit."""
    record = followup_update(
        actor=physician, request=treated, fields={"last_contact_on": days_ago(1)}
    )
    response = conforms(
        api_schema,
        "GET",
        "/api/v1/followup/records/{id}/",
        physician,
        path_parameters={"id": record.pk},
    )
    assert response.json()["death_cause"] == "" and response.json()["treatment_end_reason"] == ""


def test_a_first_dose_in_an_implausible_year_is_refused_naming_the_field(
    api_client, draft, pharmacist
):
    """Year 0419 was stored and answered with the local zone's 1419 offset (+00:49:56), which
    is no valid date-time; year 9999 would overflow the lab schedule."""
    api_client.force_authenticate(pharmacist)
    for when in ("0419-12-02T20:15:59Z", "9999-12-31T09:00:00Z"):
        response = api_client.put(
            f"{API}/requests/{draft.pk}/tls/", {"first_dose_at": when}, format="json"
        )
        assert response.status_code == 400, response.content
        assert "first_dose_at" in response.json() and "2000" in response.json()["detail"]


def test_list_filters_neither_hide_nor_refuse_a_record_looked_up_by_id(
    api_client, draft, physician
):
    api_client.force_authenticate(physician)
    assert api_client.get(f"{API}/requests/{draft.pk}/?status=approved").status_code == 200
    assert api_client.get(f"{API}/requests/{draft.pk}/history/?status=bogus").status_code == 200
    assert api_client.get(f"{API}/patients/{draft.patient_id}/?q=nobody").status_code == 200
    assert api_client.get(f"{API}/requests/?status=bogus").status_code == 400


def test_an_audit_filter_before_year_one_in_utc_is_a_400_naming_it(api_client, hospital_admin):
    """since=0001-01-01T00:00+12:17 could not be converted to UTC for the query, and an
    offset past ±15:59 was refused by PostgreSQL: both were 500s."""
    api_client.force_authenticate(hospital_admin)
    for since in ("0001-01-01T00:00:00+12:17", "0001-01-01T00:00:00"):
        response = api_client.get(f"{API}/audit-events/", {"since": since})
        assert response.status_code == 400 and "since" in response.json(), response.content
    for since in ("2026-01-01T00:00Z", "0836-05-19T05:11:33+21:30"):  # PostgreSQL: ±15:59
        assert api_client.get(f"{API}/audit-events/", {"since": since}).status_code == 200


@pytest.mark.parametrize(
    "registry", ["assessments", "adverse-events", "records", "pv-reminders", "renewal-reports"]
)
def test_the_registry_lists_check_their_request_filter(api_client, treated, physician, registry):
    """?request=<a number past any database integer> was a 500; ?request=abc was ignored
    and listed everything."""
    api_client.force_authenticate(physician)
    url = f"{API}/followup/{registry}/"
    huge = api_client.get(url, {"request": "147749684610410315776"})
    assert huge.status_code == 200 and huge.json()["results"] == []
    _field_error(api_client.get(url, {"request": "abc"}), "request")
    assert api_client.get(url, {"request": treated.pk}).status_code == 200


@pytest.mark.parametrize("term", ["²", "OL-²", "99999999999999999999999", "a\x00b"])
def test_searches_take_any_text(api_client, physician, patient, studies, term):
    """A superscript digit passed str.isdigit() and broke int(): a 500 on the study and
    request searches. A NUL reached the patient search unchecked: a 500 on PostgreSQL."""
    api_client.force_authenticate(physician)
    for url in (f"{API}/studies/", f"{API}/requests/", f"{API}/patients/"):
        response = api_client.get(url, {"q": term})
        assert response.status_code in (200, 400), (url, term, response.status_code)
        if response.status_code == 400:
            assert "\x00" in term and "q" in response.json()


def test_a_body_of_an_unsupported_type_is_a_documented_415(api_schema, treated, physician):
    response = conforms(
        api_schema,
        "POST",
        "/api/v1/followup/assessments/",
        physician,
        body="request=1",
        media_type="text/plain",
    )
    assert response.status_code == 415


def test_an_unknown_format_is_a_documented_404(api_schema, physician):
    response = conforms(api_schema, "GET", "/api/v1/pathways/", physician, query={"format": "x"})
    assert response.status_code == 404


def test_an_api_path_no_route_matches_answers_in_json(client, physician):
    client.force_login(physician)
    response = client.get(f"{API}/requests/not-a-number/routing/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}
    page = client.get("/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")


def test_an_authorisation_cannot_end_before_it_starts(api_client, make_request, pharmacist):
    request = make_request()
    today = timezone.localdate()
    application = application_create(
        actor=pharmacist, request=request, body="hospital_drug_committee", prepared_at=today
    )
    for step in ("submit", "acknowledge"):
        application = application_step(
            actor=pharmacist, application=application, step=step, on=today
        )
    api_client.force_authenticate(pharmacist)
    response = api_client.post(
        f"{API}/applications/{application.pk}/step/",
        {"step": "grant", "on": str(today), "valid_until": str(today - timedelta(days=1))},
        format="json",
    )
    assert response.status_code == 400 and "valid_until" in response.json()


def test_every_operation_documents_its_errors(client, physician):
    """403 and 404 everywhere (not signed in or the wrong role; no such record, page or
    format), 400 where there is input, all with the shared error bodies."""
    client.force_login(physician)  # the schema is served to signed-in users only
    spec = client.get("/api/schema/?format=json").json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            documented = set(operation["responses"])
            label = f"{method.upper()} {path}"
            assert {"403", "404"} <= documented, label
            if "requestBody" in operation and method != "delete":
                assert "400" in documented, label
    errors = spec["components"]["schemas"]
    assert {"detail", "extra", "non_field_errors"} <= set(errors["ValidationError"]["properties"])
    assert errors["Error"]["required"] == ["detail"]


# --- Bad input: a 400 whose body names the field ---------------------------------------------


def test_a_service_error_about_one_field_names_it_like_a_validation_error():
    response = api_exception_handler(
        ApplicationError("Too early.", extra={"field": "on", "planned": 3}), {}
    )
    assert response is not None and response.status_code == 400
    assert response.data == {
        "on": ["Too early."],
        "detail": "Too early.",
        "extra": {"field": "on", "planned": 3},
    }


def _field_error(response: Any, field: str) -> None:
    assert response.status_code == 400, (response.status_code, response.content)
    assert field in response.json(), response.json()
    assert response.json()[field], response.json()


def test_patients_name_the_bad_field(api_client, physician, patient):
    api_client.force_authenticate(physician)
    # Another person than the fixture's patient (identity is required since issue 15).
    other = {"given_name": "Ada", "family_name": "Invented", "date_of_birth": "1956-01-02"}
    _field_error(
        api_client.post(f"{API}/patients/", {"age_years": "old"}, format="json"), "age_years"
    )
    _field_error(
        api_client.post(
            f"{API}/patients/",
            {"mutations": {"NOPE1": "present"}, "identity": other},
            format="json",
        ),
        "mutations",
    )
    _field_error(
        api_client.put(
            f"{API}/patients/{patient.pk}/identity/",
            {**IDENTITY, "date_of_birth": "14/03/1958"},
            format="json",
        ),
        "date_of_birth",
    )


def test_requests_name_the_bad_field(api_client, physician, patient, draft):
    api_client.force_login(physician)  # a sign-in now: signed acts need one (issue 16)
    _field_error(
        api_client.post(
            f"{API}/requests/", {"patient": patient.pk, "regimen": "bogus"}, format="json"
        ),
        "regimen",
    )
    # Withdrawing needs the reason (a service rule, not a serializer one).
    _field_error(
        api_client.post(
            f"{API}/requests/{draft.pk}/transition/", {"transition": "withdraw"}, format="json"
        ),
        "reason",
    )
    _field_error(
        api_client.post(f"{API}/requests/{draft.pk}/pathway/", {"pathway": "nope"}, format="json"),
        "pathway",
    )


def test_consent_names_the_bad_field(api_client, physician, draft):
    api_client.force_login(physician)  # a sign-in now: signed acts need one (issue 16)
    _field_error(
        api_client.post(f"{API}/requests/{draft.pk}/consents/", {"language": "xx"}, format="json"),
        "language",
    )
    document = consent_render(consent_request(actor=physician, request=draft, language="en").pk)
    _field_error(
        api_client.post(
            f"{API}/consents/{document.pk}/sign/", {"method": "wet_ink_scan"}, format="json"
        ),
        "scan",
    )


def test_dispensations_name_the_bad_field(api_client, draft, physician, pharmacist):
    approved = approve(draft, physician, pharmacist)
    tls_record(approved, pharmacist)
    api_client.force_login(pharmacist)  # a sign-in now: signed acts need one (issue 16)
    url = f"{API}/requests/{approved.pk}/dispensations/"
    line = {"strength_mg": "100", "quantity": 107, "lot": "LOT-9", "expiry": "2031-01-31"}
    _field_error(api_client.post(url, {"cycle": 0, "lines": [line]}, format="json"), "cycle")
    _field_error(api_client.post(url, {"cycle": 1, "lines": []}, format="json"), "lines")
    _field_error(api_client.post(url, {"cycle": 2, "lines": [line]}, format="json"), "cycle")
    _field_error(
        api_client.post(url, {"cycle": 1, "lines": [{**line, "strength_mg": "33"}]}, format="json"),
        "lines[0].strength_mg",
    )
    _field_error(
        api_client.post(
            url, {"cycle": 1, "lines": [{**line, "expiry": "2020-01-31"}]}, format="json"
        ),
        "lines[0].expiry",
    )


def test_adverse_events_name_the_bad_field(api_client, treated, physician):
    api_client.force_authenticate(physician)
    event = {
        "request": treated.pk,
        "term": "febrile_neutropenia",
        "grade": 3,
        "onset_on": str(days_ago(10)),
        "outcome": "recovering",
        "relation": "possibly",
    }
    url = f"{API}/followup/adverse-events/"
    _field_error(api_client.post(url, {**event, "grade": 9}, format="json"), "grade")
    _field_error(api_client.post(url, {**event, "term": "hiccups"}, format="json"), "term")
    tomorrow = str(timezone.localdate() + timedelta(days=1))
    _field_error(api_client.post(url, {**event, "onset_on": tomorrow}, format="json"), "onset_on")
    _field_error(
        api_client.post(url, {**event, "onset_on": str(days_ago(400))}, format="json"), "onset_on"
    )
    _field_error(
        api_client.post(
            f"{API}/followup/assessments/",
            {"request": treated.pk, "assessed_on": tomorrow, "response": "cr"},
            format="json",
        ),
        "assessed_on",
    )


def test_drug_prices_name_the_bad_field(api_client, pharmacist):
    api_client.force_authenticate(pharmacist)
    price = {
        "strength_mg": "100",
        "price_per_unit": "56",
        "source": "tender",
        "valid_from": "2026-01-01",
    }
    url = f"{API}/drug-prices/"
    _field_error(api_client.post(url, {**price, "strength_mg": "33"}, format="json"), "strength_mg")
    _field_error(
        api_client.post(url, {**price, "price_per_unit": "0"}, format="json"), "price_per_unit"
    )
    _field_error(api_client.post(url, {**price, "valid_from": "soon"}, format="json"), "valid_from")


def test_profile_fields_are_checked_on_update_too(api_client, physician, patient):
    api_client.force_authenticate(physician)
    _field_error(
        api_client.patch(f"{API}/patients/{patient.pk}/", {"ecog": 9}, format="json"), "ecog"
    )
