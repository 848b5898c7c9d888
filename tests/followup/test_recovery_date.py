"""The day a grade 4 cytopenia recovered to grade <= 2: validated like the other event dates,
shown in the panel, and — with remission — an input of the treatment plan."""

from __future__ import annotations

from django.urls import reverse

from audit.models import AuditEvent
from followup.models import AdverseEvent
from followup.services import adverse_event_create, response_assessment_create
from pharmacy.models import TreatmentPlanVersion
from tests.followup.conftest import ae_fields, days_ago

API = "/api/v1/followup"


def _neutropenia(**overrides):
    return ae_fields(
        term="neutrophil_count_decreased",
        grade=4,
        onset_on=days_ago(20),
        outcome="recovering",
        resolved_on=None,
        relation="probably",
        **overrides,
    )


def _json(fields, request_id):
    return {
        "request": request_id,
        **{k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in fields.items()},
    }


def test_the_api_records_and_returns_the_recovery_date(api_client, treated, physician):
    api_client.force_authenticate(physician)
    response = api_client.post(
        f"{API}/adverse-events/",
        _json(_neutropenia(recovered_to_grade_2_on=days_ago(8)), treated.pk),
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["recovered_to_grade_2_on"] == days_ago(8).isoformat()
    event_id = response.json()["id"]
    moved = api_client.patch(
        f"{API}/adverse-events/{event_id}/",
        {"recovered_to_grade_2_on": days_ago(6).isoformat()},
        format="json",
    )
    assert moved.status_code == 200, moved.content
    assert AdverseEvent.objects.get().recovered_to_grade_2_on == days_ago(6)
    changed = AuditEvent.objects.filter(action="adverse_event.updated").get()
    assert "recovered_to_grade_2_on" in changed.summary


def test_the_api_refuses_a_recovery_before_onset_or_in_the_future(api_client, treated, physician):
    api_client.force_authenticate(physician)
    before_onset = api_client.post(
        f"{API}/adverse-events/",
        _json(_neutropenia(recovered_to_grade_2_on=days_ago(25)), treated.pk),
        format="json",
    )
    assert before_onset.status_code == 400, before_onset.content
    assert "before its onset" in before_onset.json()["recovered_to_grade_2_on"][0]
    future = api_client.post(
        f"{API}/adverse-events/",
        _json(_neutropenia(recovered_to_grade_2_on=days_ago(-3)), treated.pk),
        format="json",
    )
    assert future.status_code == 400, future.content
    assert "in the future" in future.json()["recovered_to_grade_2_on"][0]
    assert not AdverseEvent.objects.exists()


def test_the_panel_records_shows_and_updates_the_recovery_date(client, treated, physician):
    client.force_login(physician)
    form = {
        k: (v.isoformat() if hasattr(v, "isoformat") else ("" if v is None else str(v)))
        for k, v in _neutropenia(recovered_to_grade_2_on=days_ago(10)).items()
    }
    form["serious"] = ""
    client.post(reverse("followup:adverse-event-create", args=[treated.pk]), form)
    event = AdverseEvent.objects.get()
    assert event.recovered_to_grade_2_on == days_ago(10)
    page = client.get(reverse("requests:detail", args=[treated.pk])).content.decode()
    assert "Recovered to grade ≤ 2 on" in page and 'name="recovered_to_grade_2_on"' in page
    assert f'value="{days_ago(10).isoformat()}"' in page  # the update form, ISO
    assert "grade ≤ 2 from" in page  # the list

    refused = client.post(
        reverse("followup:adverse-event-update", args=[event.pk]),
        {
            "grade": "4",
            "outcome": "recovering",
            "relation": "probably",
            "recovered_to_grade_2_on": days_ago(30).isoformat(),
        },
        follow=True,
    )
    assert "Adverse event not updated" in refused.content.decode()
    assert "before its onset" in refused.content.decode()
    event.refresh_from_db()
    assert event.recovered_to_grade_2_on == days_ago(10)

    client.post(
        reverse("followup:adverse-event-update", args=[event.pk]),
        {
            "grade": "4",
            "outcome": "recovering",
            "relation": "probably",
            "recovered_to_grade_2_on": days_ago(5).isoformat(),
        },
    )
    event.refresh_from_db()
    assert event.recovered_to_grade_2_on == days_ago(5)


def test_a_grade_4_neutropenia_after_a_complete_remission_makes_a_new_plan_version(
    treated, physician
):
    versions = TreatmentPlanVersion.objects.filter(request=treated)
    response_assessment_create(
        actor=physician, request=treated, assessed_on=days_ago(30), response="cr"
    )
    after_remission = versions.count()
    assert after_remission >= 1
    adverse_event_create(actor=physician, request=treated, **_neutropenia())
    assert versions.count() == after_remission + 1
    latest = versions.order_by("-number").first()
    assert latest is not None and latest.created_by == physician
    assert AuditEvent.objects.filter(action="plan.version_created").count() == versions.count()
