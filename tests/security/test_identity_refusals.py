"""Issue 14: every refused attempt to read a patient's identifying data leaves an audit event
that survives the request (ATOMIC_REQUESTS rolled back the page's refusal before), for every
role and case, through the page and the API. An allowed read is audited as before, and the
identifying data never enters the trail."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from accounts.roles import Role
from audit.models import AuditEvent
from tests.factories import UserFactory
from tests.prescriptions.conftest import IDENTITY, patient  # noqa: F401 - fixture

REFUSED = "patient.identity_read_refused"
FAMILY_NAME = str(IDENTITY["family_name"])
NATIONAL_ID = str(IDENTITY["national_id"])


@pytest.fixture
def people(
    hospital: Any, other_hospital: Any, physician: Any, pharmacist: Any, hospital_admin: Any
) -> dict[str, Any]:
    return {
        "treating physician": physician,
        "pharmacist": pharmacist,
        "other physician": UserFactory.create(
            username="dr.other", hospital=hospital, role=Role.PHYSICIAN
        ),
        "hospital administrator": hospital_admin,
        "regulatory officer": UserFactory.create(
            username="reg.verdi", hospital=hospital, role=Role.REGULATORY_OFFICER
        ),
        "committee secretary": UserFactory.create(
            username="sec.neri", hospital=hospital, role=Role.COMMITTEE_SECRETARY
        ),
        "other hospital's physician": UserFactory.create(
            username="dr.foreign", hospital=other_hospital, role=Role.PHYSICIAN
        ),
        "other hospital's pharmacist": UserFactory.create(
            username="ph.foreign", hospital=other_hospital, role=Role.PHARMACIST
        ),
    }


REFUSED_ROLES = [
    "other physician",
    "hospital administrator",
    "regulatory officer",
    "committee secretary",
    "other hospital's physician",
    "other hospital's pharmacist",
]


def _get(client: Any, api_client: Any, user: Any, surface: str, patient_id: int) -> Any:
    if surface == "page":
        client.force_login(user)
        return client.get(reverse("requests:patient-identity", args=[patient_id]))
    api_client.force_authenticate(user)
    return api_client.get(f"/api/v1/patients/{patient_id}/identity/")


@pytest.mark.parametrize("surface", ["page", "API"])
@pytest.mark.parametrize("who", REFUSED_ROLES)
def test_a_refused_identity_read_is_answered_404_and_leaves_an_audit_event(
    client,
    api_client,
    people,
    patient,  # noqa: F811
    who,
    surface,
):
    user = people[who]
    before = AuditEvent.objects.filter(action=REFUSED).count()
    response = _get(client, api_client, user, surface, patient.pk)
    assert response.status_code == 404
    body = response.content.decode()
    assert FAMILY_NAME not in body and NATIONAL_ID not in body
    # The response has been sent: the event is committed with the request, not rolled back.
    events = AuditEvent.objects.filter(action=REFUSED)
    assert events.count() == before + 1
    event = events.latest("sequence")
    assert event.actor == user
    assert event.object_type == "prescriptions.patient" and event.object_id == str(patient.pk)
    # The patient's hospital keeps the trail of every attempt on its patients.
    assert event.hospital_id == patient.hospital_id
    assert FAMILY_NAME not in event.summary + str(event.before) + str(event.after)


@pytest.mark.parametrize("surface", ["page", "API"])
def test_an_attempt_on_a_patient_that_does_not_exist_is_refused_the_same_and_audited(
    client, api_client, people, surface
):
    user = people["other physician"]
    response = _get(client, api_client, user, surface, 987654)
    assert response.status_code == 404
    event = AuditEvent.objects.get(action=REFUSED)
    assert event.actor == user and event.object_id == "987654"
    assert event.hospital_id == user.hospital_id


@pytest.mark.parametrize("surface", ["page", "API"])
@pytest.mark.parametrize("who", ["treating physician", "pharmacist"])
def test_an_allowed_identity_read_shows_the_data_and_is_audited_once(
    client,
    api_client,
    people,
    patient,  # noqa: F811
    who,
    surface,
):
    response = _get(client, api_client, people[who], surface, patient.pk)
    assert response.status_code == 200
    assert FAMILY_NAME in response.content.decode()
    event = AuditEvent.objects.get(action="patient.identity_read")
    assert event.actor == people[who] and event.object_id == str(patient.pk)
    assert not AuditEvent.objects.filter(action=REFUSED).exists()
    assert FAMILY_NAME not in event.summary


def test_an_anonymous_caller_is_sent_to_sign_in_and_nothing_is_read(
    client,
    api_client,
    patient,  # noqa: F811
):
    page = client.get(reverse("requests:patient-identity", args=[patient.pk]))
    assert page.status_code == 302 and reverse("login") in page["Location"]
    assert api_client.get(f"/api/v1/patients/{patient.pk}/identity/").status_code in (401, 403)
    assert not AuditEvent.objects.filter(action__startswith="patient.identity_read").exists()


def test_other_patient_reads_write_nothing(client, people, patient):  # noqa: F811
    """The refusal's event is the identity page's only write: the other patient reads (the
    API list and detail) stay read-only when refused."""
    client.force_login(people["regulatory officer"])
    before = AuditEvent.objects.count()
    assert client.get(f"/api/v1/patients/{patient.pk}/").status_code in (403, 404)
    assert AuditEvent.objects.count() == before
