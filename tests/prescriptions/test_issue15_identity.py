"""Issue 15, data that stays true: dates that cannot be in the future, a patient under 18 with a
warning, a required identity at step 1 and on the API, duplicates offered instead of created,
the patient picker, identity correction on a page, and discarding a never-submitted draft."""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import formats, timezone

from accounts.roles import Role
from audit.models import AuditEvent
from consent.models import ConsentDocument
from consent.services import consent_render, consent_request
from offlabel.dates import age_on
from prescriptions.models import Gene, OffLabelRequest, Patient, PatientIdentity
from prescriptions.services import patient_create, request_create, request_transition
from tests.factories import TEST_PASSWORD, UserFactory
from tests.prescriptions.conftest import COMPLETE_PROFILE, IDENTITY, REGIMEN

TOMORROW = timezone.localdate() + timedelta(days=1)
BORN = date(1958, 3, 14)  # IDENTITY's
GIVEN, FAMILY, NUMBER = "Zebulina", "Inventatissima", "ZZZINV58C54Z999X"


def _step_one(**overrides: str) -> dict[str, str]:
    """Step 1 as the browser posts it: the profile, the mutations and the identity."""
    data = {k: ("" if v is None else str(v)) for k, v in COMPLETE_PROFILE.items()}
    data["age_years"] = str(age_on(BORN))
    data.update({f"mut_{gene.value}": "not_tested" for gene in Gene})
    data["identity-given_name"] = GIVEN
    data["identity-family_name"] = FAMILY
    data["identity-date_of_birth"] = BORN.isoformat()
    data["identity-national_id"] = NUMBER
    data.update(overrides)
    return data


def _api_patient(**identity: str) -> dict[str, object]:
    profile = {k: str(v) if v is not None else None for k, v in COMPLETE_PROFILE.items()}
    return {
        **profile,
        "identity": {
            "given_name": "Zebulina",
            "family_name": "Inventatissima",
            "date_of_birth": "1958-03-14",
            **identity,
        },
    }


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- Dates that cannot be in the future, and the under-18 warning --------------------------------


def test_a_date_of_birth_in_the_future_is_refused_on_the_page(client, physician):
    client.force_login(physician)
    response = client.post(
        reverse("requests:new"), _step_one(**{"identity-date_of_birth": TOMORROW.isoformat()})
    )
    assert response.status_code == 200
    assert "This date is in the future." in response.content.decode()
    assert not Patient.objects.exists() and not OffLabelRequest.objects.exists()


def test_a_date_of_birth_in_the_future_is_refused_by_the_api(api_client, physician, patient):
    api_client.force_authenticate(physician)
    put = api_client.put(
        f"/api/v1/patients/{patient.pk}/identity/",
        {"given_name": "Zebulina", "family_name": "Inventatissima", "date_of_birth": "2031-05-05"},
        format="json",
    )
    assert put.status_code == 400 and put.json()["date_of_birth"] == ["This date is in the future."]
    assert patient.identity.date_of_birth == BORN
    created = api_client.post(
        "/api/v1/patients/", _api_patient(date_of_birth=TOMORROW.isoformat()), format="json"
    )
    assert created.status_code == 400
    assert created.json()["identity"]["date_of_birth"] == ["This date is in the future."]


def test_a_transplant_date_in_the_future_is_refused_on_the_page_and_the_api(
    client, api_client, physician
):
    client.force_login(physician)
    page = client.post(
        reverse("requests:new"),
        _step_one(prior_allo_transplant="yes", allo_transplant_date=TOMORROW.isoformat()),
    )
    assert page.status_code == 200 and "This date is in the future." in page.content.decode()
    api_client.force_authenticate(physician)
    api = api_client.post(
        "/api/v1/patients/",
        {
            **_api_patient(),
            "prior_allo_transplant": "yes",
            "allo_transplant_date": TOMORROW.isoformat(),
        },
        format="json",
    )
    assert api.status_code == 400 and "allo_transplant_date" in api.json()
    assert not Patient.objects.exists()
    # Today is not the future.
    today = api_client.post(
        "/api/v1/patients/",
        {
            **_api_patient(),
            "prior_allo_transplant": "yes",
            "allo_transplant_date": timezone.localdate().isoformat(),
        },
        format="json",
    )
    assert today.status_code == 201, today.content


def test_a_patient_under_18_is_recorded_with_a_warning_not_refused(client, api_client, physician):
    born = timezone.localdate().replace(year=timezone.localdate().year - 17) - timedelta(days=1)
    client.force_login(physician)
    response = client.post(
        reverse("requests:new"),
        _step_one(age_years="", **{"identity-date_of_birth": born.isoformat()}),
        follow=True,
    )
    patient = Patient.objects.get()
    assert patient.age_years == 17  # taken from the date of birth
    assert any("under 18" in m and "adults" in m for m in _messages(response))
    identity_page = client.get(reverse("requests:patient-identity", args=[patient.pk]))
    assert "venetoclax is authorised for adults" in identity_page.content.decode()
    api_client.force_authenticate(physician)
    created = api_client.post(
        "/api/v1/patients/",
        {
            **_api_patient(family_name="Giovane", date_of_birth=born.isoformat()),
            "age_years": 17,
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    assert "under 18" in created.json()["warnings"][0]
    adult = api_client.get(f"/api/v1/patients/{patient.pk}/identity/").json()
    assert "under 18" in adult["warnings"][0]


def test_an_age_that_differs_from_the_date_of_birth_is_kept_with_a_warning(client, physician):
    client.force_login(physician)
    response = client.post(reverse("requests:new"), _step_one(age_years="40"), follow=True)
    assert Patient.objects.get().age_years == 40
    assert any("differs from the age the date of birth gives" in m for m in _messages(response))


# --- Step 1: the identity is required ------------------------------------------------------------


def test_step_one_requires_the_identity(client, physician):
    client.force_login(physician)
    empty = {f"identity-{f}": "" for f in ("given_name", "family_name", "date_of_birth")}
    response = client.post(reverse("requests:new"), _step_one(**empty))
    assert response.status_code == 200
    form = response.context["identity_form"]
    assert set(form.errors) == {"given_name", "family_name", "date_of_birth"}
    assert not Patient.objects.exists()
    # Marked required on the page.
    page = client.get(reverse("requests:new")).content.decode()
    assert "(optional now" not in page and "Fields marked * are required." in page


def test_the_api_requires_the_identity_to_create_a_patient(api_client, physician):
    api_client.force_authenticate(physician)
    profile = {k: str(v) if v is not None else None for k, v in COMPLETE_PROFILE.items()}
    refused = api_client.post("/api/v1/patients/", profile, format="json")
    assert refused.status_code == 400 and "identity" in refused.json()
    partial = api_client.post(
        "/api/v1/patients/", {**profile, "identity": {"given_name": "Ada"}}, format="json"
    )
    assert partial.status_code == 400
    assert set(partial.json()["identity"]) == {"family_name", "date_of_birth"}
    assert not Patient.objects.exists()
    created = api_client.post("/api/v1/patients/", _api_patient(), format="json")
    assert created.status_code == 201 and "identity" not in created.json()
    assert PatientIdentity.objects.get().family_name == "Inventatissima"


# --- Duplicates are offered, not created ---------------------------------------------------------


def test_the_back_button_offers_the_same_patient_and_draft_instead_of_a_second(client, physician):
    client.force_login(physician)
    first = client.post(reverse("requests:new"), _step_one())
    draft = OffLabelRequest.objects.get()
    assert first.status_code == 302
    # Back, and "Save and continue" again with the same form.
    again = client.post(reverse("requests:new"), _step_one())
    assert again.status_code == 200
    page = again.content.decode()
    assert "This patient may already be recorded" in page
    assert f"Continue draft {draft.reference}" in page
    assert reverse("requests:step-patient", args=[draft.pk]) in page
    assert Patient.objects.count() == 1 and OffLabelRequest.objects.count() == 1


def test_the_same_number_written_differently_is_the_same_patient(api_client, physician, patient):
    api_client.force_authenticate(physician)
    response = api_client.post(
        "/api/v1/patients/",
        _api_patient(given_name="Zeb", family_name="Other", national_id="zzz inv 58c54-z999x"),
        format="json",
    )
    assert response.status_code == 409
    [duplicate] = response.json()["extra"]["duplicates"]
    assert duplicate == {
        "patient": patient.pk,
        "pseudonym": patient.pseudonym,
        "matched_on": "national_id",
        "treated_by_you": True,
        "draft": None,
    }
    confirmed = api_client.post(
        "/api/v1/patients/",
        {
            **_api_patient(given_name="Zeb", family_name="Other", national_id="OTHER123"),
            "confirm_different_person": True,
        },
        format="json",
    )
    assert confirmed.status_code == 201
    assert Patient.objects.count() == 2


def test_a_colleagues_patient_is_offered_and_using_it_adds_me_as_treating_physician(
    client, physician, other_physician
):
    theirs = patient_create(
        actor=other_physician, profile=COMPLETE_PROFILE, identity={**IDENTITY, "national_id": ""}
    )
    client.force_login(physician)
    offered = client.post(reverse("requests:new"), _step_one(**{"identity-national_id": ""}))
    assert offered.status_code == 200
    [match] = offered.context["matches"]
    assert match.patient == theirs and match.matched_on == "name_and_birth"
    assert not match.treated_by_you
    assert "you will be added as a treating physician" in offered.content.decode()
    used = client.post(
        reverse("requests:new"),
        _step_one(**{"identity-national_id": ""}, use_patient=str(theirs.pk)),
    )
    draft = OffLabelRequest.objects.get()
    assert used.status_code == 302 and draft.patient == theirs and draft.prescriber == physician
    assert theirs.treating_physicians.filter(pk=physician.pk).exists()
    assert Patient.objects.count() == 1
    event = AuditEvent.objects.get(action="patient.treating_physician_added")
    assert event.actor == physician and theirs.pseudonym in event.summary
    assert FAMILY not in event.summary


def test_using_a_patient_needs_an_identity_that_matches_it(client, physician, other_physician):
    theirs = patient_create(
        actor=other_physician,
        profile=COMPLETE_PROFILE,
        identity={**IDENTITY, "family_name": "Altra", "national_id": "ALTRA1"},
    )
    client.force_login(physician)
    response = client.post(reverse("requests:new"), _step_one(use_patient=str(theirs.pk)))
    assert response.status_code == 200
    assert "does not match the identity entered" in response.content.decode()
    assert not theirs.treating_physicians.filter(pk=physician.pk).exists()
    assert not OffLabelRequest.objects.exists()


def test_confirming_a_different_person_records_a_second_patient(client, physician, patient):
    client.force_login(physician)
    data = _step_one(**{"identity-national_id": "ANOTHER-NUMBER"})
    assert client.post(reverse("requests:new"), data).status_code == 200  # offered first
    response = client.post(reverse("requests:new"), {**data, "confirm_new": "1"})
    assert response.status_code == 302 and Patient.objects.count() == 2
    created = AuditEvent.objects.filter(action="patient.created").order_by("-sequence").first()
    assert f"confirmed a different person from {patient.pseudonym}" in created.summary


def test_picking_a_patient_with_an_unsent_draft_offers_that_draft(client, physician, patient):
    draft = request_create(actor=physician, patient=patient)
    client.force_login(physician)
    offered = client.post(reverse("requests:new"), {"existing_patient": str(patient.pk)})
    assert offered.status_code == 200
    assert f"Continue draft {draft.reference}" in offered.content.decode()
    assert OffLabelRequest.objects.count() == 1
    another = client.post(
        reverse("requests:new"), {"existing_patient": str(patient.pk), "confirm_another": "1"}
    )
    assert another.status_code == 302 and OffLabelRequest.objects.count() == 2
    assert client.post(reverse("requests:new"), {"existing_patient": "x"}).status_code == 404


def test_the_picker_tells_patients_apart_only_to_those_who_may_read_identity(
    client, physician, hospital, patient
):
    client.force_login(physician)
    page = client.get(reverse("requests:new")).content.decode()
    born = formats.date_format(date(1958, 3, 14), "SHORT_DATE_FORMAT")
    assert f"Inventatissima Zebulina · born {born} · card …999X · {patient.pseudonym}" in page
    listed = AuditEvent.objects.get(action="patient.identity_listed")
    assert listed.after == {"patients": [patient.pseudonym]}
    assert "Inventatissima" not in listed.summary + str(listed.after)
    # A physician who is also the hospital's administrator sees every patient of the hospital,
    # but the names of the patients they treat only.
    both = UserFactory.create(username="dr.admin", hospital=hospital, role=Role.PHYSICIAN)
    both.groups.add(*hospital_admin_group())
    client.force_login(both)
    page = client.get(reverse("requests:new")).content.decode()
    assert patient.pseudonym in page and "Inventatissima" not in page


def hospital_admin_group():
    from django.contrib.auth.models import Group

    return [Group.objects.get(name=Role.HOSPITAL_ADMIN)]


# --- Correcting the identity on a page -----------------------------------------------------------


def test_a_treating_physician_corrects_the_identity_and_the_consent_is_superseded(
    client, physician, draft
):
    patient = draft.patient
    document = consent_render(consent_request(actor=physician, request=draft, language="en").pk)
    assert document.status == ConsentDocument.Status.READY
    client.force_login(physician)
    detail = client.get(reverse("requests:detail", args=[draft.pk])).content.decode()
    url = reverse("requests:patient-identity-correct", args=[patient.pk])
    assert url in detail and "Correct the identifying data" in detail
    page = client.get(url)
    assert page.status_code == 200 and "1 consent form prints the current identity" in (
        page.content.decode()
    )
    assert AuditEvent.objects.filter(
        action="patient.identity_read", summary__contains="(correction)"
    ).exists()
    response = client.post(
        f"{url}?back={reverse('requests:detail', args=[draft.pk])}",
        {
            "given_name": "Zebulina",
            "family_name": "Inventatisima-Rossi",
            "date_of_birth": "1958-03-14",
            "national_id": NUMBER,
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("requests:detail", args=[draft.pk])
    assert any("carried the old identity" in m for m in _messages(response))
    patient.identity.refresh_from_db()
    assert patient.identity.family_name == "Inventatisima-Rossi"
    corrected = AuditEvent.objects.get(action="patient.identity_corrected")
    assert corrected.after == {"fields": ["family_name"]} and corrected.actor == physician
    assert "Rossi" not in corrected.summary + str(corrected.before) + str(corrected.after)
    document.refresh_from_db()
    assert document.status == ConsentDocument.Status.SUPERSEDED
    assert AuditEvent.objects.filter(action="consent.superseded").exists()
    # The correction is on the request's timeline.
    timeline = client.get(reverse("requests:detail", args=[draft.pk])).content.decode()
    assert "patient.identity_corrected" in timeline
    # Saving the same values again changes nothing and records nothing more.
    client.post(
        url,
        {
            "given_name": "Zebulina",
            "family_name": "Inventatisima-Rossi",
            "date_of_birth": "1958-03-14",
            "national_id": NUMBER,
        },
    )
    assert AuditEvent.objects.filter(action="patient.identity_corrected").count() == 1


def test_a_correction_cannot_give_the_patient_another_patients_number(
    client, physician, patient, other_physician
):
    patient_create(
        actor=other_physician,
        profile=COMPLETE_PROFILE,
        identity={**IDENTITY, "given_name": "Altra", "national_id": "TAKEN-NUMBER-1"},
    )
    client.force_login(physician)
    url = reverse("requests:patient-identity-correct", args=[patient.pk])
    response = client.post(
        url,
        {
            "given_name": "Zebulina",
            "family_name": "Inventatissima",
            "date_of_birth": "1958-03-14",
            "national_id": "taken number 1",
        },
    )
    assert response.status_code == 200
    assert "has this tax / health-card number" in response.content.decode()
    patient.identity.refresh_from_db()
    assert patient.identity.national_id == NUMBER
    future = client.post(
        url,
        {"given_name": "Z", "family_name": "I", "date_of_birth": TOMORROW.isoformat()},
    )
    assert "This date is in the future." in future.content.decode()


def test_only_treating_physicians_reach_the_correction_page_and_refusals_are_audited(
    client, patient, pharmacist, other_physician, foreign_physician
):
    url = reverse("requests:patient-identity-correct", args=[patient.pk])
    for user in (pharmacist, other_physician, foreign_physician):
        client.force_login(user)
        assert client.get(url).status_code == 404
        assert client.post(url, {"given_name": "X"}).status_code == 404
    assert patient.identity.given_name == GIVEN
    refused = AuditEvent.objects.filter(action="patient.identity_read_refused")
    assert refused.filter(actor__in=[other_physician, foreign_physician]).count() == 4
    # The pharmacist may read (audited), not correct; the identity page offers no correction.
    client.force_login(pharmacist)
    page = client.get(reverse("requests:patient-identity", args=[patient.pk])).content.decode()
    assert "Inventatissima" in page and url not in page


def test_an_api_correction_is_audited_by_field_name(api_client, physician, patient):
    api_client.force_authenticate(physician)
    response = api_client.put(
        f"/api/v1/patients/{patient.pk}/identity/",
        {"given_name": "Zebulina", "family_name": "Inventatissima", "date_of_birth": "1958-03-15"},
        format="json",
    )
    assert response.status_code == 200
    event = AuditEvent.objects.get(action="patient.identity_corrected")
    assert event.after == {"fields": ["date_of_birth"]}


# --- Discarding a draft --------------------------------------------------------------------------


def test_the_owner_discards_a_never_submitted_draft(client, api_client, physician, patient):
    draft = request_create(actor=physician, patient=patient, fields=REGIMEN)
    client.force_login(physician)
    detail = client.get(reverse("requests:detail", args=[draft.pk])).content.decode()
    assert "Discard the draft" in detail
    response = client.post(
        reverse("requests:discard", args=[draft.pk]), {"version": draft.version}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("requests:dashboard")
    draft.refresh_from_db()
    assert draft.discarded_at is not None and draft.discarded_by == physician
    assert draft.status == OffLabelRequest.Status.DRAFT
    event = AuditEvent.objects.get(action="request.discarded")
    assert event.actor == physician and draft.reference in event.summary
    # Shown nowhere: not the lists, not the page, not the API.
    assert draft.reference not in client.get(reverse("requests:list")).content.decode()
    assert client.get(reverse("requests:detail", args=[draft.pk])).status_code == 404
    api_client.force_authenticate(physician)
    assert api_client.get("/api/v1/requests/").json()["count"] == 0
    assert api_client.get(f"/api/v1/requests/{draft.pk}/").status_code == 404


def test_a_submitted_request_is_withdrawn_with_a_reason_not_discarded(
    api_client, physician, other_physician, draft
):
    api_client.force_authenticate(other_physician)
    assert api_client.post(f"/api/v1/requests/{draft.pk}/discard/").status_code == 404
    api_client.force_authenticate(physician)
    stale = api_client.post(f"/api/v1/requests/{draft.pk}/discard/", {"version": 1})
    assert stale.status_code == 409
    request_transition(actor=physician, request=draft, transition="submit")
    refused = api_client.post(f"/api/v1/requests/{draft.pk}/discard/", {}, format="json")
    assert refused.status_code == 400
    assert "only withdrawn with a reason" in refused.json()["detail"]
    draft.refresh_from_db()
    assert draft.discarded_at is None
    withdrawn = api_client.post(
        f"/api/v1/requests/{draft.pk}/transition/",
        {"transition": "withdraw", "reason": "Patient declined.", "reauth_password": TEST_PASSWORD},
        format="json",
    )
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"


def test_the_api_discards_a_draft(api_client, physician, patient):
    draft = request_create(actor=physician, patient=patient)
    api_client.force_authenticate(physician)
    response = api_client.post(
        f"/api/v1/requests/{draft.pk}/discard/", {"version": draft.version}, format="json"
    )
    assert response.status_code == 204
    assert api_client.post(f"/api/v1/requests/{draft.pk}/discard/").status_code == 404
    assert AuditEvent.objects.filter(action="request.discarded").count() == 1


def test_a_discarded_draft_is_left_out_of_the_hospitals_report(draft, physician):
    from prescriptions.services import request_discard
    from reports.selectors import ReportFilters, report_compute

    before = report_compute(hospital=draft.hospital, filters=ReportFilters())
    request_discard(actor=physician, request=draft)
    after = report_compute(hospital=draft.hospital, filters=ReportFilters())
    assert before.total >= 1 and after.total == before.total - 1
