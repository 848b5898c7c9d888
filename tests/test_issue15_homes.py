"""Issue 15: each role lands on what waits for it, with counts, in a bounded number of queries;
"Due soon" lists every open reminder, the pharmacovigilance reports due included."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from audit.tasks import audit_chain_verify_task
from evidence.models import Study
from followup.models import PharmacovigilanceReminder
from followup.services import adverse_event_create
from prescriptions.models import OffLabelRequest, Patient
from prescriptions.services import (
    drug_default,
    evidence_attach,
    patient_create,
    request_create,
    request_transition,
)
from regulatory.models import PathwayVersion, Reminder
from regulatory.reminders import reminders_raise
from regulatory.services import application_create, application_step, pathway_choose
from reports.home import cycles_to_dispense, home_for, rules_to_verify
from reports.selectors import ReportFilters, report_compute
from tests.followup.conftest import ae_fields, days_ago, start_treatment
from tests.pharmacy.conftest import FIRST_DOSE, approve, dispense_cycle_one
from tests.prescriptions.conftest import (  # noqa: F401 - fixtures
    COMPLETE_PROFILE,
    IDENTITY,
    REGIMEN,
    draft,
    patient,
)

CHANGES = "Lower the target dose: posaconazole is listed (invented)."


def _request(physician: User, *, regimen: dict[str, Any] | None = None) -> OffLabelRequest:
    """Another (invented) patient's request, ready to submit, as the ``draft`` fixture makes it."""
    n = Patient.objects.count()
    identity = {**IDENTITY, "given_name": f"Altra{n}", "national_id": f"ZZZINV58C54Z{n:03d}X"}
    person = patient_create(actor=physician, profile=COMPLETE_PROFILE, identity=identity)
    request = request_create(actor=physician, patient=person, fields={**REGIMEN, **(regimen or {})})
    evidence_attach(actor=physician, request=request, study=Study.objects.get(reference=82))
    request.refresh_from_db()
    pathway_choose(actor=physician, request=request, pathway_code="gb_gmc_off_label")
    request.refresh_from_db()
    return request


def _step(actor: User, request: OffLabelRequest, transition: str, reason: str = "") -> Any:
    return request_transition(actor=actor, request=request, transition=transition, reason=reason)


def _section(page: str, section_id: str) -> str:
    match = re.search(rf'<section class="card" id="{section_id}">(.*?)</section>', page, re.S)
    assert match, f"no section {section_id}"
    return match.group(1)


def _count(section: str) -> int:
    match = re.search(r'<span class="badge">(\d+)</span>', section)
    assert match, section[:200]
    return int(match.group(1))


@pytest.fixture
def physician_world(draft, physician, pharmacist, studies, rules):  # noqa: F811
    """One of each thing that waits for the physician, and one of each that does not."""
    sent_back = _request(physician)
    _step(physician, sent_back, "submit")
    _step(pharmacist, sent_back, "start_review")
    _step(pharmacist, sent_back, "request_changes", CHANGES)
    unsigned = _request(physician)
    _step(physician, unsigned, "submit")
    treated = start_treatment(
        approve(_request(physician), physician, pharmacist),
        on=days_ago(30),
        pharmacist=pharmacist,
    )
    adverse_event_create(
        actor=physician,
        request=treated,
        **ae_fields(onset_on=days_ago(20), resolved_on=days_ago(15)),
    )
    application = application_create(
        actor=pharmacist, request=treated, body="hospital_drug_committee", prepared_at=days_ago(40)
    )
    application_step(actor=pharmacist, application=application, step="submit", on=days_ago(39))
    application_step(
        actor=pharmacist,
        application=application,
        step="grant",
        on=days_ago(10),
        valid_until=timezone.localdate() + timedelta(days=10),
    )
    reminders_raise()
    return {"draft": draft, "sent_back": sent_back, "unsigned": unsigned, "treated": treated}


def test_the_physicians_home_lists_what_waits_for_them_with_counts(
    client, physician, physician_world
):
    client.force_login(physician)
    page = client.get(reverse("home")).content.decode()
    drafts = _section(page, "home-drafts")
    assert _count(drafts) == 1 and physician_world["draft"].reference in drafts
    changes = _section(page, "home-changes")
    assert _count(changes) == 1 and physician_world["sent_back"].reference in changes
    assert "posaconazole is listed" in changes and "ph.rossi" in changes  # what, and who asked
    consents = _section(page, "home-consents")
    assert _count(consents) == 1 and physician_world["unsigned"].reference in consents
    assert "prepare the form" in consents
    assert physician_world["treated"].reference not in consents  # signed before approval
    pv = _section(page, "home-pv")
    assert _count(pv) == 1 and physician_world["treated"].reference in pv
    assert "Febrile neutropenia" in pv
    responses = _section(page, "home-responses")
    assert _count(responses) == 1 and physician_world["treated"].reference in responses
    renewals = _section(page, "home-renewals")
    assert _count(renewals) == 1 and "expires within 30 days" in renewals
    # The other roles' sections are not there.
    assert 'id="home-queue"' not in page and 'id="home-report"' not in page


def test_a_physician_sees_only_their_own_patients(client, physician_world, hospital):
    from tests.factories import UserFactory

    colleague = UserFactory.create(username="dr.colleague", hospital=hospital, role="physician")
    client.force_login(colleague)
    page = client.get(reverse("home")).content.decode()
    for section in ("home-drafts", "home-changes", "home-consents", "home-pv", "home-renewals"):
        assert _count(_section(page, section)) == 0


def test_the_pharmacists_home_has_the_queue_cycles_and_every_reminder(
    client, pharmacist, physician_world
):
    client.force_login(pharmacist)
    page = client.get(reverse("home")).content.decode()
    queue = _section(page, "home-queue")
    assert _count(queue) == 1 and physician_world["unsigned"].reference in queue
    assert "Waiting" in queue  # the time waiting column
    reminders = _section(page, "home-reminders")
    kinds = Reminder.objects.filter(resolved_at=None).count()
    pv = PharmacovigilanceReminder.objects.filter(resolved_at=None).count()
    assert pv == 1 and _count(reminders) == kinds + pv
    assert "Pharmacovigilance report" in reminders and "Outside application" in reminders
    cycles = _section(page, "home-cycles")
    assert _count(cycles) == 0  # the treated request's cycle 2 starts weeks from now
    assert 'id="home-drafts"' not in page


def test_an_approved_request_waits_for_cycle_one_and_the_next_cycle_shows_in_its_week(
    client,
    draft,  # noqa: F811
    physician,
    pharmacist,
    hospital,
):
    approved = approve(draft, physician, pharmacist)
    client.force_login(pharmacist)
    cycles = _section(client.get(reverse("home")).content.decode(), "home-cycles")
    assert _count(cycles) == 1 and approved.reference in cycles
    assert "cycle 1 of 4" in cycles and "after TLS precautions" in cycles
    dispense_cycle_one(approved, pharmacist)  # TLS precautions: first dose on FIRST_DOSE
    cycle_two = FIRST_DOSE.date() + timedelta(days=28)
    window = hospital.dispense_early_window_days
    too_early = cycle_two - timedelta(days=window + 8)
    assert cycles_to_dispense(pharmacist, today=too_early) == []
    week_before = cycle_two - timedelta(days=window + 7)
    (due,) = cycles_to_dispense(pharmacist, today=week_before)
    assert due.cycle == 2 and due.dispense_from == cycle_two - timedelta(days=window)
    assert not due.available_now
    (now,) = cycles_to_dispense(pharmacist, today=cycle_two)
    assert now.available_now


def test_the_administrators_home_reuses_the_report_and_shows_the_last_chain_check(
    client, hospital_admin, pharmacist, physician_world, hospital
):
    # An application waiting for an answer far too long: overdue.
    waiting = physician_world["unsigned"]
    application = application_create(
        actor=pharmacist, request=waiting, body="hospital_drug_committee", prepared_at=days_ago(200)
    )
    application_step(actor=pharmacist, application=application, step="submit", on=days_ago(199))
    reminders_raise()
    client.force_login(hospital_admin)
    page = client.get(reverse("home")).content.decode()
    assert "No check has run yet." in _section(page, "home-chain")
    report = report_compute(hospital=hospital, filters=ReportFilters())
    summary = _section(page, "home-report")
    assert _count(summary) == report.total == OffLabelRequest.objects.count()
    assert f'<td class="num">{report.approved}</td>' in summary
    overdue = _section(page, "home-overdue")
    assert _count(overdue) == len(report.applications_overdue) >= 1
    assert waiting.reference in overdue
    audit_chain_verify_task()
    chain = _section(client.get(reverse("home")).content.decode(), "home-chain")
    assert "intact" in chain and "events checked" in chain


def test_stewards_and_officers_see_the_rules_to_verify(
    client, rule_steward, regulatory_officer, rules
):
    expected = [
        v
        for v in PathwayVersion.objects.filter(is_current=True)
        if not v.confirmed
        or any(not i.get("confirmed") for i in [*v.criteria, *v.checklist])
        or v.verified_on < timezone.localdate() - timedelta(days=365)
    ]
    assert expected  # the data file has unconfirmed items
    client.force_login(rule_steward)
    rules_section = _section(client.get(reverse("home")).content.decode(), "home-rules")
    assert _count(rules_section) == len(expected)
    # A confirmed rule with every item confirmed, verified last month, is not listed; the same
    # rule verified two years ago is.
    version = PathwayVersion.objects.get(pathway__code="gb_gmc_off_label", is_current=True)
    version.confirmed = True
    version.criteria = [{**c, "confirmed": True} for c in version.criteria]
    version.checklist = [{**c, "confirmed": True} for c in version.checklist]
    version.verified_on = timezone.localdate() - timedelta(days=30)
    version.save()
    assert version.pk not in {r.version.pk for r in rules_to_verify(rule_steward)}
    version.verified_on = timezone.localdate() - timedelta(days=730)
    version.save()
    (listed,) = [r for r in rules_to_verify(rule_steward) if r.version.pk == version.pk]
    assert listed.stale and listed.unconfirmed_items == 0
    # A hospital's officer sees the rules of the hospital's country (Italy, the factory's).
    client.force_login(regulatory_officer)
    officer_page = client.get(reverse("home")).content.decode()
    officer_rules = rules_to_verify(regulatory_officer)
    assert _count(_section(officer_page, "home-rules")) == len(officer_rules)
    assert {r.version.pathway.jurisdiction.code for r in officer_rules} <= {
        regulatory_officer.hospital.country.upper()
    }


def _bulk_requests(n: int, physician: User, status: str) -> None:
    drug = drug_default()
    now = timezone.now()
    start = Patient.objects.count()
    patients = Patient.objects.bulk_create(
        Patient(
            hospital=physician.hospital, pseudonym=f"PT-HOME-{start + i:05d}", created_by=physician
        )
        for i in range(n)
    )
    for p in patients:
        p.treating_physicians.add(physician)
    OffLabelRequest.objects.bulk_create(
        OffLabelRequest(
            hospital=physician.hospital,
            patient=p,
            prescriber=physician,
            drug=drug,
            regimen="azacitidine",
            status=status,
            status_changed_at=now,
        )
        for p in patients
    )


def _home_queries(client: Any, user: User) -> int:
    client.force_login(User.objects.get(pk=user.pk))
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("home")).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("role", ["physician", "pharmacist", "hospital_admin"])
def test_a_home_does_not_query_more_with_more_requests(
    client,
    physician_world,
    physician,
    pharmacist,
    hospital_admin,
    role,
    django_assert_max_num_queries,
):
    user = {"physician": physician, "pharmacist": pharmacist, "hospital_admin": hospital_admin}[
        role
    ]
    few = _home_queries(client, user)
    for status in ("draft", "changes_requested", "submitted", "in_review", "approved", "active"):
        _bulk_requests(15, physician, status)
    client.force_login(User.objects.get(pk=user.pk))
    with django_assert_max_num_queries(few):
        page = client.get(reverse("home"))
    assert page.status_code == 200
    if role == "physician":
        assert _count(_section(page.content.decode(), "home-drafts")) == 16


def test_due_soon_lists_a_pharmacovigilance_report_due_in_two_days(
    client,
    draft,  # noqa: F811
    physician,
    pharmacist,
):
    """The bug: "No open reminders" while a pharmacovigilance report was due in 2 days."""
    treated = start_treatment(draft, on=days_ago(30), pharmacist=pharmacist)
    adverse_event_create(
        actor=physician,
        request=treated,
        **ae_fields(onset_on=days_ago(20), resolved_on=days_ago(15)),
    )
    reminder = PharmacovigilanceReminder.objects.get()
    reminder.due_at = timezone.now() + timedelta(days=2)
    reminder.save(update_fields=["due_at"])
    for user in (pharmacist, physician):
        client.force_login(user)
        page = client.get(reverse("regulatory:due-soon")).content.decode()
        listed = _section(page, "open-reminders")
        assert "No open reminders" not in listed
        assert _count(listed) == 1 and treated.reference in listed
        assert "Pharmacovigilance report" in listed and "Febrile neutropenia" in listed
    # A pharmacist records the report from the list, and the reminder is closed.
    client.force_login(pharmacist)
    due_soon = reverse("regulatory:due-soon")
    answer = client.post(
        reverse("followup:pv-resolve", args=[reminder.pk]),
        {
            "report_reference": "RNF-INVENTED-1",
            "reported_on": date.today().isoformat(),
            "next": due_soon,
        },
    )
    assert answer.status_code == 302 and answer["Location"] == due_soon
    reminder.refresh_from_db()
    assert reminder.resolved_at is not None
    assert "No open reminders" in client.get(due_soon).content.decode()


def test_every_role_gets_its_home(client, physician_world, physician, pharmacist, hospital_admin):
    for user, section in (
        (physician, "home-drafts"),
        (pharmacist, "home-queue"),
        (hospital_admin, "home-report"),
    ):
        home = home_for(user)
        assert (home.physician is not None) == (user is physician)
        client.force_login(user)
        assert f'id="{section}"' in client.get(reverse("home")).content.decode()
