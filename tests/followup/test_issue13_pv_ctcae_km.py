"""Issue 13, section 4: pharmacovigilance and the registry.

- Every suspected adverse reaction (possibly, probably or related), serious or not, raises the
  reporting reminder: 2 days, 36 hours for a biological medicine (DM 30-4-2015 art. 22, as the
  domain brief states it); "unlikely" and "unrelated" raise none.
- CTCAE v5.0 grades per term are data; an impossible grade is refused, naming the range.
- Kaplan–Meier: a living patient is censored at the last day known alive, not today; time on
  treatment is a Kaplan–Meier estimate; response rates are over the assessed patients.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import translation

from audit.models import AuditEvent
from followup.ctcae import ctcae_grades
from followup.models import AdverseEvent, CtcaeTerm, PharmacovigilanceReminder
from followup.services import adverse_event_create, followup_update, response_assessment_create
from prescriptions.models import Drug, OffLabelRequest
from tests.followup.conftest import ae_fields, days_ago

API = "/api/v1/followup"


def _event_payload(request: OffLabelRequest, **overrides: object) -> dict[str, object]:
    fields = {**ae_fields(), "request": request.pk}
    fields.update(overrides)
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in fields.items()}


# --- Pharmacovigilance: every suspected reaction, serious or not -------------------------------


def test_a_non_serious_possibly_related_event_raises_a_reminder_due_in_two_days(
    api_client, treated, physician
):
    """Febrile neutropenia grade 3, not serious, possibly related, aware yesterday: due 48 hours
    from the start of yesterday (DM 30-4-2015 art. 22: "every suspected adverse drug reaction,
    serious or not, within 2 days")."""
    api_client.force_authenticate(physician)
    response = api_client.post(
        f"{API}/adverse-events/",
        _event_payload(treated, serious=False, relation="possibly", aware_on=days_ago(1)),
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["serious"] is False and body["suspected_reaction"] is True
    reminder = PharmacovigilanceReminder.objects.get(pk=body["pv_reminder"])
    assert reminder.due_at is not None
    assert reminder.due_at - reminder.aware_at == timedelta(hours=48)
    assert reminder.deadline_hours == 48 and reminder.deadline is not None
    assert not reminder.deadline.biological and reminder.deadline.version == 2
    assert "serious or not" in reminder.deadline_source and not reminder.deadline_confirmed
    assert "non-serious" in reminder.message and "Febrile neutropenia" in reminder.message
    raised = AuditEvent.objects.get(action="pv_reminder.raised")
    assert raised.after["reminder"] == reminder.pk and raised.after["biological"] is False


def test_a_biological_medicine_gets_36_hours(api_client, treated, physician):
    """The medicine's kind is ``Drug.biological`` (venetoclax: a small molecule, False); an
    antibody such as gemtuzumab ozogamicin is biological: 36 hours."""
    antibody = Drug.objects.create(name="gemtuzumab ozogamicin", biological=True)
    OffLabelRequest.objects.filter(pk=treated.pk).update(drug=antibody)
    api_client.force_authenticate(physician)
    response = api_client.post(
        f"{API}/adverse-events/",
        _event_payload(treated, relation="probably", aware_on=days_ago(1)),
        format="json",
    )
    assert response.status_code == 201, response.content
    reminder = PharmacovigilanceReminder.objects.get(pk=response.json()["pv_reminder"])
    assert reminder.due_at is not None
    assert reminder.due_at - reminder.aware_at == timedelta(hours=36)
    assert reminder.deadline is not None and reminder.deadline.biological
    assert reminder.message_params["biological"] is True


@pytest.mark.parametrize("relation", ["unlikely", "unrelated"])
def test_an_unlikely_or_unrelated_event_raises_no_reminder(
    api_client, treated, physician, relation
):
    api_client.force_authenticate(physician)
    response = api_client.post(
        f"{API}/adverse-events/",
        _event_payload(
            treated,
            relation=relation,
            serious=True,
            grade=4,
            outcome="recovering",
            resolved_on=None,
        ),
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["pv_reminder"] is None
    assert not PharmacovigilanceReminder.objects.exists()
    assert not AuditEvent.objects.filter(action="pv_reminder.raised").exists()


def test_the_page_says_a_reminder_was_raised_for_a_non_serious_suspected_reaction(
    client, treated, physician
):
    client.force_login(physician)
    response = client.post(
        reverse("followup:adverse-event-create", args=[treated.pk]),
        {
            "term": "nausea",
            "grade": "2",
            "onset_on": days_ago(9).isoformat(),
            "outcome": "recovering",
            "relation": "related",
        },
        follow=True,
    )
    assert "Suspected adverse reaction: a pharmacovigilance reporting reminder" in (
        response.content.decode()
    )
    assert PharmacovigilanceReminder.objects.get().adverse_event.serious is False


def test_the_reminder_is_shown_in_the_readers_language_from_its_stored_parameters(
    api_client, treated, physician
):
    """English in the record; the API's ``display_message`` follows Accept-Language, built from
    the parameters stored at raising (the event's grade changing later does not rewrite it)."""
    event = adverse_event_create(actor=physician, request=treated, **ae_fields(grade=3))
    reminder = PharmacovigilanceReminder.objects.get(adverse_event=event)
    AdverseEvent.objects.filter(pk=event.pk).update(grade=4)
    api_client.force_authenticate(physician)
    english = api_client.get(f"{API}/pv-reminders/{reminder.pk}/").json()
    assert english["display_message"] == english["message"] == reminder.message
    assert "grade 3" in english["message"]
    italian = api_client.get(f"{API}/pv-reminders/{reminder.pk}/", HTTP_ACCEPT_LANGUAGE="it").json()
    assert italian["message"] == reminder.message  # the record stays English
    assert "Neutropenia febbrile" in italian["display_message"]  # the term, translated
    assert "Febrile neutropenia" not in italian["display_message"]
    with translation.override("it"):
        assert reminder.display_message == italian["display_message"]


# --- CTCAE v5.0 grades per term -----------------------------------------------------------------


def test_the_ctcae_grades_are_sourced_data_covering_every_term():
    data = ctcae_grades()
    assert data.source == "CTCAE v5.0 (NCI, 27 Nov 2017)"
    assert set(data.terms) == set(CtcaeTerm.values)
    assert data.for_term("febrile_neutropenia").grades == (3, 4, 5)
    assert data.for_term("tumor_lysis_syndrome").grades == (3, 4, 5)
    assert data.for_term("nausea").grades == (1, 2, 3)
    assert data.for_term("sepsis").grades == (4, 5)
    assert data.for_term("bacteremia").grades == (2,)
    assert data.for_term("creatinine_increased").grades == (1, 2, 3, 4)
    # Entered from memory of the table, flagged for a person to check.
    assert not data.for_term("hyperuricemia").confirmed
    assert data.for_term("hyperuricemia").grades_text == "1, 3–5"


def test_an_impossible_grade_is_refused_by_the_api_naming_the_range(api_client, treated, physician):
    api_client.force_authenticate(physician)
    response = api_client.post(
        f"{API}/adverse-events/", _event_payload(treated, grade=1), format="json"
    )
    assert response.status_code == 400, response.content
    body = response.json()
    assert "grades 3–5" in body["grade"][0] and "Febrile neutropenia" in body["detail"]
    assert "CTCAE v5.0" in body["detail"]
    assert not AdverseEvent.objects.exists()
    # And on an update: bacteremia exists at grade 2 only.
    event = adverse_event_create(
        actor=physician, request=treated, **ae_fields(term="bacteremia", grade=2)
    )
    response = api_client.patch(f"{API}/adverse-events/{event.pk}/", {"grade": 3}, format="json")
    assert response.status_code == 400 and "grade 2 only" in response.json()["grade"][0]
    event.refresh_from_db()
    assert event.grade == 2


def test_an_impossible_grade_is_refused_by_the_page_naming_the_range(client, treated, physician):
    client.force_login(physician)
    response = client.post(
        reverse("followup:adverse-event-create", args=[treated.pk]),
        {
            "term": "febrile_neutropenia",
            "grade": "1",
            "onset_on": days_ago(9).isoformat(),
            "outcome": "recovering",
            "relation": "possibly",
        },
        follow=True,
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Adverse event not recorded" in page and "grades 3–5" in page
    assert not AdverseEvent.objects.exists()


def test_the_term_list_shows_each_terms_grades_in_the_readers_language(client, treated, physician):
    client.force_login(physician)
    page = client.get(reverse("requests:detail", args=[treated.pk])).content.decode()
    assert ">Febrile neutropenia (grades 3–5)</option>" in page
    assert ">Bacteremia (grade 2)</option>" in page
    assert ">Hyperuricemia (grades 1, 3–5, verify)</option>" in page  # not yet checked
    assert ">Other (specify) (grades 1–5)</option>" in page
    client.post(reverse("set_language"), {"language": "it", "next": "/"})
    page = client.get(reverse("requests:detail", args=[treated.pk])).content.decode()
    assert "(gradi 3–5)</option>" in page and "(gradi 1, 3–5, da verificare)</option>" in page


def test_an_event_stored_before_the_rule_with_an_impossible_grade_still_reads(
    client, api_client, treated, physician
):
    """Rows already stored are not rewritten: the list, the API and the page read them."""
    stored = AdverseEvent.objects.create(
        request=treated,
        term="febrile_neutropenia",
        grade=2,
        onset_on=days_ago(9),
        outcome="recovering",
        relation="possibly",
        recorded_by=physician,
    )
    api_client.force_authenticate(physician)
    assert api_client.get(f"{API}/adverse-events/{stored.pk}/").json()["grade"] == 2
    client.force_login(physician)
    assert client.get(reverse("requests:detail", args=[treated.pk])).status_code == 200


# --- Registry: censoring, time on treatment, response denominators -------------------------------


def _followup(physician, request, start, **days_after_start):
    followup_update(
        actor=physician,
        request=request,
        fields={name: start + timedelta(days=d) for name, d in days_after_start.items()},
    )


def test_survival_censors_a_living_patient_at_the_last_day_known_alive_not_today(
    client, pharmacist, physician, make_treated
):
    """Six patients, all started 300 days ago (day 0 = first dispensation).

    A dies on day 100, C on day 150. Alive: B last contact day 50, D last contact day 60,
    E last contact day 200, F no contact recorded but an assessment on day 80.

    Censored at the last day known alive (right): B 50, D 60, F 80 leave the risk set first.
    Day 100: at risk A, C, E = 3, one death: S = 2/3. Day 150: at risk C, E = 2, one death:
    S = 2/3 x 1/2 = 1/3 <= 0.5, so the median is 150 days.

    Censored at today (wrong, day 300 for B, D, E, F): day 100, at risk 6: S = 5/6; day 150,
    at risk 5: S = 5/6 x 4/5 = 2/3 > 0.5: the median would be "not reached".
    """
    start = days_ago(300)
    people = {name: make_treated(300) for name in "ABCDEF"}
    _followup(physician, people["A"], start, death_on=100)
    _followup(physician, people["C"], start, death_on=150)
    _followup(physician, people["B"], start, last_contact_on=50)
    _followup(physician, people["D"], start, last_contact_on=60)
    _followup(physician, people["E"], start, last_contact_on=200)
    response_assessment_create(
        actor=physician,
        request=people["F"],
        assessed_on=start + timedelta(days=80),
        response="no_response",
    )
    client.force_login(pharmacist)
    response = client.get(reverse("followup:registry"))
    curve = response.context["registry"].survival
    assert curve.censored_times == (50.0, 60.0, 80.0, 200.0)
    assert curve.survival_at(100) == pytest.approx(2 / 3)
    assert curve.survival_at(150) == pytest.approx(1 / 3)
    assert curve.median_days == 150
    assert "150 days (4.9 months)" in response.content.decode()


def test_time_on_treatment_is_a_kaplan_meier_estimate_censored_on_treatment(
    client, pharmacist, physician, make_treated
):
    """Three patients started 300 days ago. P1 stops (toxicity) on day 60, seen alive on day
    250. P2 is on treatment, last contact day 100. P3 has no end recorded and dies on day 120
    (the end of treatment is the death).

    Events 60 (P1) and 120 (P3); P2 censored at 100. Day 60: at risk 3: S = 2/3. Day 120: at
    risk 1 (P3): S = 0. Median: 120. (Censored at today, P2 would still be at risk on day 120:
    S = 2/3 x 1/2 = 1/3.)"""
    start = days_ago(300)
    p1, p2, p3 = make_treated(300), make_treated(300), make_treated(300)
    followup_update(
        actor=physician,
        request=p1,
        fields={
            "treatment_end_on": start + timedelta(days=60),
            "treatment_end_reason": "toxicity",
            "last_contact_on": start + timedelta(days=250),
        },
    )
    _followup(physician, p2, start, last_contact_on=100)
    _followup(physician, p3, start, death_on=120)
    client.force_login(pharmacist)
    response = client.get(reverse("followup:registry"))
    tot = response.context["registry"].time_on_treatment
    assert (tot.n, tot.deaths, tot.censored_times) == (3, 2, (100.0,))
    assert tot.survival_at(60) == pytest.approx(2 / 3)
    assert tot.survival_at(120) == pytest.approx(0.0)
    assert tot.median_days == 120
    page = response.content.decode()
    assert "2 ended among 3" in page and "Kaplan–Meier curve of time on treatment" in page


def test_response_rates_are_over_the_assessed_patients_with_the_others_shown_apart(
    client, pharmacist, physician, make_treated
):
    """Three treated: one CR, one no response, one not yet assessed. ORR = 1 / 2 (not 1 / 3)."""
    responder, non_responder, _waiting = make_treated(90), make_treated(80), make_treated(20)
    for request, response in ((responder, "cr"), (non_responder, "no_response")):
        response_assessment_create(
            actor=physician, request=request, assessed_on=days_ago(10), response=response
        )
    client.force_login(pharmacist)
    page_response = client.get(reverse("followup:registry"))
    registry = page_response.context["registry"]
    assert (registry.n_treated, registry.n_assessed, registry.not_assessed) == (3, 2, 1)
    assert (registry.orr.k, registry.orr.n) == (1, 2)
    assert (registry.complete.k, registry.complete.n) == (1, 2)
    page = page_response.content.decode()
    assert "1 / 2 (50.0%)" in page and "n = 2 assessed of 3 treated" in page
    assert "Not yet assessed: 1" in page
