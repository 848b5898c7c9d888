"""The regulatory pages: recommendation with reasons, checklist panel, authorisation timeline,
due-soon list, and the rules pages for regulatory officers."""

from datetime import date, timedelta

import time_machine
from django.urls import reverse

from regulatory.models import Pathway, Reminder
from regulatory.reminders import reminders_raise
from regulatory.services import application_create, application_step, pathway_choose
from tests.regulatory.conftest import LISTING_648
from tests.regulatory.editor_form import form_of


def test_pathway_page_shows_each_criterion_with_the_data_that_decided_it(
    client, physician, make_request
):
    request = make_request(
        {**LISTING_648, "transplant_eligible": "unknown", "prior_azacitidine": "yes"}
    )
    client.force_login(physician)
    page = client.get(reverse("regulatory:step-pathway", args=[request.pk])).content.decode()
    assert "Law 94/98" in page or "94/1998" in page
    assert "recommended" in page and "cannot apply" in page
    assert "prior azacitidine or decitabine: yes" in page
    assert "Verify against the current official text" in page  # 648's scope is unconfirmed


def test_following_another_pathway_on_the_page_needs_the_reason(client, physician, make_request):
    request = make_request(LISTING_648)
    client.force_login(physician)
    url = reverse("regulatory:step-pathway", args=[request.pk])
    refused = client.post(url, {"pathway": "it_law_94_98"}, follow=True)
    assert b"please write why" in refused.content
    ok = client.post(
        url, {"pathway": "it_law_94_98", "reason": "Registry delay is unacceptable here."}
    )
    assert ok.status_code == 302
    detail = client.get(reverse("requests:detail", args=[request.pk])).content.decode()
    assert "Checklist" in detail and "Registry delay is unacceptable here." in detail


def test_request_page_shows_the_checklist_and_the_authorisation_timeline(
    client, physician, pharmacist, make_request
):
    request = make_request(LISTING_648)
    pathway_choose(actor=physician, request=request, pathway_code="it_law_648")
    day = date(2026, 5, 4)
    with time_machine.travel(day, tick=False):
        application = application_create(
            actor=pharmacist, request=request, body="aifa_registry", prepared_at=day
        )
        application_step(
            actor=pharmacist,
            application=application,
            step="submit",
            on=day,
            protocol_number="REG-INV-42",
        )
    client.force_login(pharmacist)
    page = client.get(reverse("requests:detail", args=[request.pk])).content.decode()
    for text in (
        "Checklist",
        "Attest",
        "Upload PDF",
        "Outside authorisation",
        "REG-INV-42",
        "2026-05-04",
        "submitted",
        "Prepare the submission dossier",
    ):
        assert text in page, text
    attest_item = next(
        i for i in request.checklist.filter(kind="attestation") if "pharmacist" in i.attesters
    )
    client.post(reverse("regulatory:attest", args=[request.pk, attest_item.pk]), {"note": "seen"})
    attest_item.refresh_from_db()
    assert attest_item.attested_by == pharmacist


def test_due_soon_page_lists_reminders_and_marks_them_done(
    client, pharmacist, physician, make_request
):
    request = make_request()
    start = date(2026, 3, 2)
    with time_machine.travel(start, tick=False):
        application = application_create(
            actor=pharmacist, request=request, body="aifa", prepared_at=start
        )
        application_step(actor=pharmacist, application=application, step="submit", on=start)
    with time_machine.travel(start + timedelta(days=60), tick=False):
        reminders_raise()
        client.force_login(pharmacist)
        page = client.get(reverse("regulatory:due-soon")).content.decode()
    reminder = Reminder.objects.first()
    assert request.reference in page and reminder.rule.text[:40] in page
    client.force_login(pharmacist)  # the frozen-clock session has expired by now
    client.post(reverse("regulatory:reminder-done", args=[reminder.pk]))
    reminder.refresh_from_db()
    assert reminder.resolved_at is not None
    client.force_login(physician)
    assert client.post(reverse("regulatory:reminder-done", args=[reminder.pk])).status_code == 403


def test_rules_page_shows_sources_and_unconfirmed_rules(client, officer, rules):
    client.force_login(officer)
    page = client.get(reverse("regulatory:rules")).content.decode()
    assert "Italy" in page and "France" in page and "verified" in page.lower()
    assert "verify against the current official text" in page


def test_a_national_rules_steward_edits_a_rule_on_the_page(
    client, officer, physician, rule_steward, rules
):
    # Issue 14: a hospital's regulatory officer is refused like a physician; a steward edits.
    pathway = Pathway.objects.get(code="gb_gmc_off_label")
    current = pathway.current_version()
    for refused in (physician, officer):
        client.force_login(refused)
        assert client.get(reverse("regulatory:rule-edit", args=[pathway.code])).status_code == 403
    client.force_login(rule_steward)
    form = client.get(reverse("regulatory:rule-edit", args=[pathway.code]))
    assert form.status_code == 200
    # Issue 15: criteria and checklist items are rows of the form, as the page shows them.
    data = form_of(form.content.decode()) | {
        "name": current.name,
        "summary": current.summary,
        "legal_source": current.legal_source,
        "verified_on": "2026-11-20",
        "confirmed": "on",
        "unconfirmed_note": "",
        "reimbursement": current.reimbursement,
        "authorising_body": current.authorising_body,
        "needs_outside_authorisation": "",
        "change_note": "Checked against gmc-uk.org guidance on 2026-11-20 (test).",
    }
    bad = client.post(
        reverse("regulatory:rule-edit", args=[pathway.code]),
        {**data, "criteria-0-rule-0-kind": "fact", "criteria-0-rule-0-fact": "shoe_size"},
    )
    assert bad.status_code == 200 and b"Select a valid choice. shoe_size" in bad.content
    saved = client.post(reverse("regulatory:rule-edit", args=[pathway.code]), data)
    assert saved.status_code == 302
    new = pathway.current_version()
    assert new.version == current.version + 1 and new.verified_on == date(2026, 11, 20)
