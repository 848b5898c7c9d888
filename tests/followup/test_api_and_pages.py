"""The follow-up API (scoped lists, creates through the services) and the request panel forms."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from followup.models import AdverseEvent, FollowUp, PharmacovigilanceReminder, ResponseAssessment
from followup.services import adverse_event_create, followup_update, response_assessment_create
from tests.followup.conftest import ae_fields, days_ago

API = "/api/v1/followup"


def _results(response):
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_lists_hold_only_the_users_hospital(
    api_client, treated, foreign_treated, physician, foreign_physician, pharmacist
):
    response_assessment_create(
        actor=physician, request=treated, assessed_on=days_ago(5), response="cr"
    )
    response_assessment_create(
        actor=foreign_physician, request=foreign_treated, assessed_on=days_ago(5), response="pr"
    )
    adverse_event_create(actor=physician, request=treated, **ae_fields())
    adverse_event_create(actor=foreign_physician, request=foreign_treated, **ae_fields())
    api_client.force_authenticate(pharmacist)
    assessments = _results(api_client.get(f"{API}/assessments/"))
    assert [(a["reference"], a["response"]) for a in assessments] == [(treated.reference, "cr")]
    events = _results(api_client.get(f"{API}/adverse-events/"))
    assert [e["request"] for e in events] == [treated.pk]
    foreign_event = AdverseEvent.objects.get(request=foreign_treated)
    assert api_client.get(f"{API}/adverse-events/{foreign_event.pk}/").status_code == 404
    assert _results(api_client.get(f"{API}/assessments/", {"request": foreign_treated.pk})) == []


def test_create_through_the_api_uses_the_services(api_client, treated, physician):
    api_client.force_authenticate(physician)
    response = api_client.post(
        f"{API}/assessments/",
        {"request": treated.pk, "assessed_on": days_ago(2), "response": "crh", "mrd": "positive"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["response"] == "crh"
    assert AuditEvent.objects.filter(action="assessment.recorded").count() == 1
    response = api_client.post(
        f"{API}/adverse-events/",
        {
            "request": treated.pk,
            "term": "tumor_lysis_syndrome",
            "grade": 3,
            "serious": True,
            "onset_on": days_ago(58),
            "outcome": "recovered",
            "resolved_on": days_ago(55),
            "relation": "related",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["suspected_reaction"] is True and body["pv_reminder"] is not None
    reminder_id = body["pv_reminder"]
    response = api_client.post(
        f"{API}/pv-reminders/{reminder_id}/resolve/",
        {"report_reference": "RNF-1"},
        format="json",
    )
    assert response.status_code == 200 and response.json()["report_reference"] == "RNF-1"
    response = api_client.post(
        f"{API}/records/",
        {"request": treated.pk, "last_contact_on": days_ago(0)},
        format="json",
    )
    assert response.status_code == 200 and response.json()["last_contact_on"] == str(days_ago(0))
    response = api_client.patch(f"{API}/adverse-events/{body['id']}/", {"grade": 4}, format="json")
    assert response.status_code == 200 and response.json()["grade"] == 4


def test_api_refusals_are_400_and_404(api_client, treated, foreign_treated, physician):
    api_client.force_authenticate(physician)
    refused = api_client.post(
        f"{API}/adverse-events/",
        {**ae_fields(grade=5, outcome="recovered", serious=True), "request": treated.pk},
        format="json",
    )
    assert refused.status_code == 400 and "outcome" in refused.json()
    future = api_client.post(
        f"{API}/assessments/",
        {
            "request": treated.pk,
            "assessed_on": timezone.localdate() + timedelta(days=3),
            "response": "cr",
        },
        format="json",
    )
    assert future.status_code == 400 and "future" in future.json()["detail"]
    other = api_client.post(
        f"{API}/assessments/",
        {"request": foreign_treated.pk, "assessed_on": days_ago(1), "response": "cr"},
        format="json",
    )
    assert other.status_code == 404
    assert not ResponseAssessment.objects.exists() and not AdverseEvent.objects.exists()


def test_renewal_report_api_answers_202(api_client, treated, physician):
    api_client.force_authenticate(physician)
    response = api_client.post(
        f"{API}/renewal-reports/",
        {"request": treated.pk, "conclusion": "Stable disease, manageable toxicity; renew."},
        format="json",
    )
    assert response.status_code == 202 and response.json()["status"] == "queued"


def test_the_prescriber_uses_the_panel_forms(client, treated, physician):
    client.force_login(physician)
    page = client.get(reverse("requests:detail", args=[treated.pk])).content.decode()
    assert 'id="followup"' in page and "Record a response assessment" in page
    assert "Prepare the renewal report" in page
    response = client.post(
        reverse("followup:assessment-create", args=[treated.pk]),
        {"assessed_on": days_ago(1).isoformat(), "response": "cr", "mrd": "negative"},
    )
    assert response.status_code == 302 and response["Location"].endswith("#followup")
    assert ResponseAssessment.objects.get().response == "cr"
    client.post(
        reverse("followup:adverse-event-create", args=[treated.pk]),
        {
            "term": "anemia",
            "grade": "2",
            "onset_on": days_ago(9).isoformat(),
            "outcome": "recovering",
            "relation": "possibly",
        },
    )
    event = AdverseEvent.objects.get()
    client.post(
        reverse("followup:adverse-event-update", args=[event.pk]),
        {
            "grade": "2",
            "outcome": "recovered",
            "resolved_on": days_ago(2).isoformat(),
            "relation": "possibly",
        },
    )
    event.refresh_from_db()
    assert event.outcome == "recovered" and event.resolved_on == days_ago(2)
    client.post(
        reverse("followup:followup-update", args=[treated.pk]),
        {"last_contact_on": days_ago(0).isoformat()},
    )
    assert FollowUp.objects.get().last_contact_on == days_ago(0)
    # A refused write says why on the page.
    response = client.post(
        reverse("followup:assessment-create", args=[treated.pk]),
        {"assessed_on": days_ago(400).isoformat(), "response": "cr", "mrd": "negative"},
        follow=True,
    )
    assert "before the start of treatment" in response.content.decode()
    page = client.get(reverse("requests:detail", args=[treated.pk])).content.decode()
    assert "Anemia" in page and "Complete remission (CR)" in page


def test_the_panel_waits_for_treatment_and_hides_forms_from_readers(
    client, draft, hospital_admin, physician
):
    client.force_login(physician)
    page = client.get(reverse("requests:detail", args=[draft.pk])).content.decode()
    assert "opens once treatment has started" in page
    assert "Record a response assessment" not in page


@pytest.mark.parametrize("who", ["hospital_admin", "pharmacist"])
def test_readers_see_the_panel_without_the_conclusion_form(who, client, treated, request):
    client.force_login(request.getfixturevalue(who))
    page = client.get(reverse("requests:detail", args=[treated.pk])).content.decode()
    assert "Response assessments" in page
    assert "Prepare the renewal report" not in page  # the prescriber's conclusion
    assert ("Record a response assessment" in page) == (who == "pharmacist")


def test_the_serious_event_form_warns_about_the_report(client, treated, physician):
    client.force_login(physician)
    response = client.post(
        reverse("followup:adverse-event-create", args=[treated.pk]),
        {
            "term": "sepsis",
            "grade": "4",
            "serious": "on",
            "onset_on": days_ago(3).isoformat(),
            "outcome": "recovering",
            "relation": "possibly",
        },
        follow=True,
    )
    assert "pharmacovigilance reporting reminder was raised" in response.content.decode()
    assert PharmacovigilanceReminder.objects.count() == 1


def test_the_panel_asks_for_the_date_of_death_after_a_fatal_event(client, treated, physician):
    adverse_event_create(
        actor=physician,
        request=treated,
        **ae_fields(term="sepsis", grade=5, outcome="fatal", serious=True, resolved_on=days_ago(3)),
    )
    client.force_login(physician)
    url = reverse("requests:detail", args=[treated.pk])
    assert "no date of death" in client.get(url).content.decode()
    followup_update(actor=physician, request=treated, fields={"death_on": days_ago(3)})
    assert "no date of death" not in client.get(url).content.decode()
