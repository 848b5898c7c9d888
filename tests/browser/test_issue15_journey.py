"""Issue 15's journeys in a real browser, each step clicked, filled or taken with the Back button,
each checked on the page and in the database:

* the physician records a new patient, presses Back and saves again: the patient is offered
  instead of a duplicate, and "Continue draft" leads to the first draft (one patient, one draft);
* the physician corrects a patient's identity on a page: the consent form that printed the old
  name is superseded, and the correction is on the request's timeline;
* an attestation ("dosing follows the listed schedule") records what it attested; a dose change
  withdraws it with a timeline entry, and a regimen off the listing makes the chosen pathway stop
  applying: a warning, and submitting is refused;
* a rule steward edits Law 648's criteria in the form, previews how recent requests would route
  (nothing saved), adds and removes a row, and saves a new version;
* every role (physician, pharmacist, hospital administrator, rule steward) reads the main pages
  of a hospital with data in them in Italian (requests in each state, their pharmacy pages and
  checklists, due soon with reminders, the rules and their editor's preview, the homes, and the
  messages after an attestation and an upload), and no English text from the data (pathway
  names, checklist items, raw codes) nor of the interface shows outside quotes marked English.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from consent.models import ConsentDocument
from consent.services import consent_render, consent_request
from evidence.models import Study
from pharmacy.rules import label_rules_load
from prescriptions.models import OffLabelRequest, Patient, PatientIdentity
from prescriptions.services import evidence_attach, patient_create, request_create
from regulatory.models import ChecklistItem, Pathway, PathwayChoice, PathwayVersion
from tests.browser.test_journeys import _fill, _sign_in
from tests.prescriptions.conftest import COMPLETE_PROFILE, IDENTITY, MINIMAL_PDF, REGIMEN
from tests.regulatory.conftest import LISTING_648
from tests.test_i18n import FORBIDDEN, data_strings, visible_text
from tests.test_i18n_data_sweep import Detector, italian_text
from tests.test_i18n_data_sweep import world as world  # the data sweep's hospital (a fixture)

pytestmark = [pytest.mark.browser]

# htmx panels (hx-trigger="load") and swaps have finished.
SETTLED = (
    "() => document.readyState === 'complete' && "
    "!document.querySelector('.htmx-request, .htmx-settling, .htmx-swapping, .htmx-added')"
)
LAW_648 = "it_law_648"
SCHEDULE_ITEM = "Dosing follows the listed schedule"


def _settle(page: Any) -> None:
    page.wait_for_load_state()
    page.wait_for_function(SETTLED)


def _born_aged(years: int) -> date:
    """A date of birth that gives ``years`` today (the profile's age agrees with it)."""
    today = timezone.localdate()
    return date(today.year - years, today.month, 1) - timedelta(days=100)


def _listing_request(physician: Any, n: int) -> OffLabelRequest:
    """An Italian draft meeting the Law 648 listing (VEN 400 mg + azacitidine, 3-day ramp-up,
    4 cycles), for invented person ``n``."""
    patient = patient_create(
        actor=physician,
        profile=LISTING_648,
        mutations={"IDH2": "present", "TP53": "absent"},
        medications=[{"drug_name": "aciclovir", "interaction": "none_known"}],
        identity={**IDENTITY, "given_name": f"Zebulina{n}", "national_id": f"ZZZINV58C54Z9{n}X"},
    )
    request = request_create(
        actor=physician, patient=patient, fields={**REGIMEN, "jurisdiction": "IT"}
    )
    for reference in (63, 82):
        evidence_attach(
            actor=physician, request=request, study=Study.objects.get(reference=reference)
        )
    request.refresh_from_db()
    return request


def _messages(page: Any) -> str:
    return page.locator(".messages").inner_text() if page.locator(".messages").count() else ""


# --- The physician's and the steward's journeys -----------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_duplicate_identity_attestation_and_rule_editor_in_the_browser(
    live_server, page_for, studies, rules, physician, rule_steward
):
    label_rules_load()
    base = live_server.url
    listed = _listing_request(physician, 11)  # corrected, attested, changed
    other = _listing_request(physician, 12)  # stays on the listing: the preview's changed row
    # A consent form printed with the patient's identity (rendered here, in this process).
    consent = consent_render(consent_request(actor=physician, request=listed, language="en").pk)
    assert consent.status == ConsentDocument.Status.READY

    doctor = page_for()
    _sign_in(doctor, base, physician.username)
    _duplicate_after_back(doctor, base)
    _identity_corrected(doctor, base, listed, consent)
    _attestation_withdrawn(doctor, base, listed)

    steward = page_for()
    _sign_in(steward, base, rule_steward.username)
    _rule_edited_with_preview(steward, base, listed, other)

    assert page_for.problems == [], sorted(set(page_for.problems))  # no CSP violation/error


def _duplicate_after_back(doctor: Any, base: str) -> None:
    person = {
        "given_name": "Ottavia",
        "family_name": "Inventatissima-Doppia",
        "date_of_birth": _born_aged(int(COMPLETE_PROFILE["age_years"])).isoformat(),
        "national_id": "ZZZINV61L42Z998Y",
    }

    def recorded() -> tuple[int, list[OffLabelRequest]]:
        patients = Patient.objects.filter(identity__national_id=person["national_id"])
        drafts = list(OffLabelRequest.objects.filter(patient__in=patients).order_by("pk"))
        return patients.count(), drafts

    doctor.goto(f"{base}/requests/new/")
    for name, value in COMPLETE_PROFILE.items():
        _fill(doctor, name, value)
    _fill(doctor, "mut_IDH2", "present")
    for name, value in person.items():
        _fill(doctor, f"identity-{name}", value)
    doctor.click("button.primary:has-text('Save and continue')")
    doctor.wait_for_url("**/regimen/")
    patients, drafts = recorded()
    assert patients == 1 and len(drafts) == 1
    first = drafts[0]
    assert first.status == OffLabelRequest.Status.DRAFT

    # The Back button: the browser shows step 1 again, filled in as it was sent.
    doctor.go_back()
    doctor.wait_for_url("**/requests/new/")
    assert doctor.input_value("[name='identity-national_id']") == person["national_id"], (
        "the browser did not restore the form on Back"
    )
    doctor.click("button.primary:has-text('Save and continue')")
    doctor.wait_for_selector("#duplicates")
    warning = doctor.locator("a[href='#duplicates']")
    assert warning.inner_text() == (
        "This patient may already be recorded: choose below before saving."
    )
    offered = doctor.locator("#duplicates").inner_text()
    assert first.patient.pseudonym in offered and f"Use {first.patient.pseudonym}" in offered
    assert doctor.locator("#duplicates button[name=confirm_new]").count() == 1
    assert recorded() == (1, [first])  # nothing saved by the second press

    doctor.click(f"#duplicates a:has-text('Continue draft {first.reference}')")
    doctor.wait_for_url(f"**/requests/{first.pk}/patient/")
    assert doctor.locator("h1").inner_text() == "Patient profile"
    assert recorded() == (1, [first])


def _identity_corrected(
    doctor: Any, base: str, listed: OffLabelRequest, consent: ConsentDocument
) -> None:
    doctor.goto(f"{base}/requests/{listed.pk}/")
    doctor.click("main a:has-text('Correct the identifying data')")
    doctor.wait_for_url(f"**/requests/patients/{listed.patient_id}/identity/correct/**")
    assert "1 consent form prints the current identity" in doctor.locator("main").inner_text()
    assert doctor.input_value("[name=family_name]") == IDENTITY["family_name"]
    doctor.fill("[name=family_name]", "Inventatissima-Corretta")
    doctor.click("button.primary:has-text('Save the identifying data')")
    doctor.wait_for_url(f"**/requests/{listed.pk}/")
    shown = _messages(doctor)
    assert "Identifying data saved (recorded in the audit trail)." in shown
    assert "1 consent form carried the old identity: it is superseded." in shown
    assert "patient.identity_corrected" in doctor.locator("ol.timeline").inner_text()

    identity = PatientIdentity.objects.get(patient=listed.patient)
    assert identity.family_name == "Inventatissima-Corretta"
    assert identity.given_name == "Zebulina11"  # the rest as it was
    consent.refresh_from_db()
    assert consent.status == ConsentDocument.Status.SUPERSEDED
    event = AuditEvent.objects.get(action="patient.identity_corrected")
    assert event.actor_id == listed.prescriber_id and event.after == {"fields": ["family_name"]}
    assert "Inventatissima" not in event.summary  # field names, never values


def _schedule_row(doctor: Any) -> Any:
    return doctor.locator("#checklist tbody tr", has_text=SCHEDULE_ITEM)


def _regimen_save(doctor: Any, base: str, pk: int, fields: dict[str, str]) -> None:
    doctor.goto(f"{base}/requests/{pk}/regimen/")
    for name, value in fields.items():
        _fill(doctor, name, value)
    doctor.click("button.primary:has-text('Save and continue')")
    doctor.wait_for_url(f"**/requests/{pk}/evidence/")


def _attestation_withdrawn(doctor: Any, base: str, listed: OffLabelRequest) -> None:
    law_648 = Pathway.objects.get(code=LAW_648).current_version()
    assert law_648 is not None
    doctor.goto(f"{base}/regulatory/requests/{listed.pk}/pathway/")
    doctor.click(f"button.primary:has-text('Follow {law_648.name}')")
    doctor.wait_for_url(f"**/requests/{listed.pk}/review/")
    choice = PathwayChoice.objects.get(request=listed)
    assert choice.pathway_version == law_648 and choice.applies_now

    doctor.goto(f"{base}/requests/{listed.pk}/")
    _schedule_row(doctor).locator("button:has-text('Attest')").click()
    doctor.wait_for_selector("text=Attested:")
    state = _schedule_row(doctor).inner_text()
    assert "✓ attested by" in state
    assert "VEN + azacitidine · 400 mg/day · ramp-up 100/200/400 mg · 4 × 28 days" in state
    item = ChecklistItem.objects.get(request=listed, code="listed_schedule")
    assert item.attested_by_id == listed.prescriber_id and item.attested_inputs_sha256
    assert item.attested_inputs["ven_target_dose_mg"] == "400"

    # The dose changes: what was attested no longer holds.
    _regimen_save(
        doctor,
        base,
        listed.pk,
        {
            "ven_target_dose_mg": "70",
            "ramp_up": "custom",
            "ramp_up_custom": "10/20/50/70 mg, days 1-4",
        },
    )
    doctor.goto(f"{base}/requests/{listed.pk}/")
    state = _schedule_row(doctor).inner_text()
    assert "✗ withdrawn on" in state and "attest it again" in state, state
    assert "VEN target daily dose" in state and "ramp-up" in state, state
    assert _schedule_row(doctor).locator("button:has-text('Attest')").count() == 1
    assert "checklist.attestation_withdrawn" in doctor.locator("ol.timeline").inner_text()
    assert doctor.locator("#pathway-warning").count() == 0  # the listing is about the partner
    item.refresh_from_db()
    assert item.attested_by_id is None and item.attested_at is None
    assert item.withdrawn_at is not None
    assert {"ven_target_dose_mg", "ramp_up"} <= set(item.withdrawn_changes)
    withdrawn = AuditEvent.objects.get(action="checklist.attestation_withdrawn")
    assert withdrawn.before["item"] == "listed_schedule"
    assert withdrawn.before["inputs"]["ven_target_dose_mg"] == "400"
    assert withdrawn.after["inputs"]["ven_target_dose_mg"] == "70"

    # A regimen off the listing (10-day decitabine): the chosen pathway no longer applies.
    _regimen_save(doctor, base, listed.pk, {"regimen": "decitabine_10"})
    doctor.goto(f"{base}/requests/{listed.pk}/")
    warning = doctor.locator("#pathway-warning").inner_text()
    assert "The chosen pathway no longer applies to this request as it is now" in warning
    choice.refresh_from_db()
    assert choice.applies_now is False
    assert AuditEvent.objects.filter(action="request.pathway_no_longer_applies").count() == 1

    doctor.click("#actions button:has-text('Submit to the pharmacy')")
    doctor.wait_for_url(f"**/requests/{listed.pk}/review/")
    assert "no longer applies" in _messages(doctor)
    assert "no longer applies" in doctor.locator("main .msg-error").last.inner_text()
    assert doctor.locator("main form button:has-text('Submit to the pharmacy')").count() == 0
    listed.refresh_from_db()
    assert listed.status == OffLabelRequest.Status.DRAFT


def _rule_edited_with_preview(
    steward: Any, base: str, listed: OffLabelRequest, other: OffLabelRequest
) -> None:
    current = Pathway.objects.get(code=LAW_648).current_version()
    assert current is not None and current.version == 1
    steward.goto(f"{base}/regulatory/rules/{LAW_648}/edit/")
    assert steward.locator("h1").inner_text().startswith(f"Edit {current.name}")
    criterion = steward.locator(
        "fieldset.rule-item[id^='criteria-']",
        has=steward.locator("legend code", has_text=re.compile(r"^listed_schedule$")),
    )
    prefix = criterion.get_attribute("id")
    assert prefix is not None and prefix.startswith("criteria-")
    azacitidine = steward.locator(f"input[name='{prefix}-rule-0-value'][value='azacitidine']")
    assert azacitidine.is_checked()
    azacitidine.uncheck()

    counts = (PathwayVersion.objects.count(), AuditEvent.objects.count())
    steward.click("#preview-button")
    steward.wait_for_selector("table.rule-preview")
    _settle(steward)
    caption = steward.locator("table.rule-preview caption").inner_text()
    assert "recent requests" in caption and "1 routed differently" in caption, caption
    changed = steward.locator("table.rule-preview tbody tr", has_text=other.reference)
    assert changed.get_attribute("class") == "changed"
    cells = changed.locator("td").all_inner_texts()
    law_94 = Pathway.objects.get(code="it_law_94_98").current_version()
    assert law_94 is not None
    assert (cells[2], cells[3]) == (current.name, law_94.name)  # recommended now / after
    assert cells[4] == "applies → cannot apply" and cells[5] == "changed"
    unchanged = steward.locator("table.rule-preview tbody tr", has_text=listed.reference)
    assert unchanged.get_attribute("class") != "changed"  # 10-day decitabine: off either way
    # The edit is kept on the page, and nothing was saved.
    assert not steward.locator(
        f"input[name='{prefix}-rule-0-value'][value='azacitidine']"
    ).is_checked()
    assert (PathwayVersion.objects.count(), AuditEvent.objects.count()) == counts
    assert Pathway.objects.get(code=LAW_648).current_version() == current

    # A row added (focused, to type into at once), then removed again.
    rows = int(steward.input_value(f"[name='{prefix}-rule-TOTAL_FORMS']"))
    steward.click(f"#add-{prefix}-rule")
    new_row = f"{prefix}-rule-{rows}"
    steward.wait_for_selector(f"[name='{new_row}-fact']")
    _settle(steward)
    for field in ("level", "kind", "fact", "op"):
        assert steward.locator(f"[name='{new_row}-{field}']").count() == 1, field
    focused = steward.evaluate("() => document.activeElement && document.activeElement.name")
    assert str(focused).startswith(f"{new_row}-"), focused
    steward.check(f"[name='{new_row}-DELETE']")
    assert (PathwayVersion.objects.count(), AuditEvent.objects.count()) == counts

    note = "Listed with 5-day decitabine only (invented browser test)."
    steward.fill("[name=change_note]", note)
    steward.click("button.primary:has-text('Save as a new version')")
    steward.wait_for_url("**/regulatory/rules/")
    assert "Saved as version 2; requests already checked keep theirs." in _messages(steward)
    saved = Pathway.objects.get(code=LAW_648).current_version()
    assert saved is not None and saved.version == 2 and saved.change_note == note
    schedule = next(c for c in saved.criteria if c["code"] == "listed_schedule")
    assert schedule["rule"]["value"] == ["decitabine_5"]
    assert len(saved.criteria) == len(current.criteria)  # the removed row is not saved
    assert PathwayVersion.objects.count() == counts[0] + 1
    assert AuditEvent.objects.filter(action="pathway.version_created").count() == 1


# --- The Italian sweep with data ---------------------------------------------------------------


@pytest.fixture
def reporting_deadlines(transactional_db: Any) -> None:
    """Italy's pharmacovigilance reporting deadlines, with their Italian texts, are there although
    an earlier transactional test's flush emptied the table: the followup app writes them again
    on the post_migrate signal the flush sends (followup/apps.py)."""
    from followup.models import ReportingDeadline

    assert ReportingDeadline.objects.filter(country="IT", is_current=True).count() == 2
    assert all(d.translations.get("it") for d in ReportingDeadline.objects.filter(country="IT"))


def _italian(page: Any, base: str) -> None:
    """Choose Italian as a person does: the header's switcher."""
    page.goto(f"{base}/")
    page.click("form.language-switcher button[value=it]")
    page.wait_for_selector("html[lang=it]")


@pytest.mark.django_db(transaction=True)
def test_every_role_reads_the_pages_with_data_in_italian(
    live_server,
    page_for,
    reporting_deadlines,  # before the data: its adverse event's reminder reads them
    world,
    physician,
    pharmacist,
    hospital_admin,
    rule_steward,
):
    base = live_server.url
    draft, awaiting, treated = world["draft"], world["awaiting"], world["dispensed"]
    requests = list(world.values())

    def detail(r: OffLabelRequest) -> str:
        return reverse("requests:detail", args=[r.pk])

    def pharmacy(r: OffLabelRequest) -> str:
        return reverse("pharmacy:request", args=[r.pk])

    common = [reverse("home"), reverse("requests:dashboard"), reverse("regulatory:due-soon")]
    pages = {
        physician: [
            *common,
            *(detail(r) for r in requests),
            pharmacy(draft),
            pharmacy(treated),
            reverse("regulatory:step-pathway", args=[draft.pk]),
            reverse("followup:registry"),
        ],
        pharmacist: [
            *common,
            reverse("requests:queue"),
            *(url for r in (draft, awaiting, treated) for url in (detail(r), pharmacy(r))),
        ],
        hospital_admin: [*common, detail(awaiting), reverse("reports:report")],
        rule_steward: [
            reverse("home"),
            reverse("regulatory:rules"),
            reverse("regulatory:rule-edit", args=[LAW_648]),
        ],
    }
    # What the pages must hold, in Italian: the sweep looked at data.
    expected = {
        (physician, detail(draft)): [
            "Checklist — Elenco della Legge 648/1996 (rimborsato dal SSN) (v1)",
            "Registrazione del paziente nel registro di monitoraggio AIFA (PDF)",
        ],
        (physician, detail(treated)): ["la rete nazionale di farmacovigilanza"],
        (pharmacist, reverse("regulatory:due-soon")): [awaiting.reference, treated.reference],
        (pharmacist, pharmacy(treated)): ["€ "],
        (rule_steward, reverse("regulatory:rules")): ["Elenco della Legge 648/1996"],
    }
    detector = Detector()
    # The interface's own English, looked for once every stored text is taken out (as quoted).
    stored_text = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, data_strings())) + r")(?!\w)")
    problems: list[str] = []
    seen = 0

    def look(where: str, content: str) -> None:
        problems.extend(f"{where}: {leak}" for leak in detector.leaks(content))
        interface = stored_text.sub(" ", italian_text(content))  # quotes marked lang="en" aside
        problems.extend(
            f"{where}: interface English {m.group(0)!r} in "
            f"…{interface[max(0, m.start() - 60) : m.end() + 60]}…"
            for m in FORBIDDEN.finditer(interface)
        )

    for user, urls in pages.items():
        page = page_for()
        _sign_in(page, base, user.username)
        if user == physician:  # the detector sees the data's English in the browser's page
            page.goto(f"{base}{detail(draft)}")
            _settle(page)
            english = "\n".join(detector.leaks(page.content()))
            assert "'Law 648/1996 list (reimbursed by the SSN)" in english, english
        _italian(page, base)
        role = user.username
        for url in urls:
            response = page.goto(f"{base}{url}")
            assert response is not None and response.status == 200, (role, url)
            _settle(page)
            assert page.locator("html").get_attribute("lang") == "it", (role, url)
            content = page.content()
            seen += 1
            look(f"{role} {url}", content)
            shown = visible_text(content)
            for text in expected.get((user, url), []):
                assert text in shown, (role, url, text)
        if user == physician:  # an attestation, and the message that confirms it, in Italian
            page.goto(f"{base}{detail(draft)}")
            page.locator("#checklist form[action$='/attest/'] button").first.click()
            page.wait_for_selector(".messages .msg-success")
            _settle(page)
            look(f"{role} {detail(draft)} attested", page.content())
            assert "Attestato" in page.locator(".messages").inner_text()
        if user == pharmacist:  # a document uploaded, and the message that confirms it
            page.goto(f"{base}{detail(draft)}")
            upload = page.locator("#checklist form[action$='/upload/']").first
            upload.locator("input[type=file]").set_input_files(
                files=[
                    {"name": "registro.pdf", "mimeType": "application/pdf", "buffer": MINIMAL_PDF}
                ]
            )
            upload.locator("button[type=submit]").click()
            page.wait_for_selector(".messages .msg-success")
            _settle(page)
            look(f"{role} {detail(draft)} uploaded", page.content())
            assert "Caricato" in page.locator(".messages").inner_text()
        if user == rule_steward:  # the editor's preview, in Italian
            page.click("#preview-button")
            page.wait_for_selector("table.rule-preview")
            _settle(page)
            look(f"{role} rule editor's preview", page.content())
            assert "richieste recenti" in page.locator("table.rule-preview caption").inner_text()
    assert seen == sum(len(urls) for urls in pages.values())
    console = sorted(set(page_for.problems))  # CSP violations and script errors
    assert not problems and not console, (
        f"{len(problems)} leaks:\n" + "\n".join(sorted(set(problems))) + f"\nconsole: {console}"
    )
