"""The interface in English and Italian: the switcher, the catalogue, localised numbers and
dates, records that stay English whatever language the person acting reads, and a sweep of the
main pages as each role in Italian."""

from __future__ import annotations

import base64
import csv
import gettext
import html
import io
import re
import shutil
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import polib
import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models
from django.template import Context, Template
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook
from pypdf import PdfReader

from audit.models import AuditEvent
from audit.tasks import audit_chain_verify_task
from offlabel.i18n import LOCALE_DIR, catalogues_compile
from pharmacy.models import SafetyOverride
from pharmacy.safety import safety_check
from prescriptions.models import OffLabelRequest
from prescriptions.selectors import request_suggestions
from prescriptions.services import request_transition
from reports.selectors import ReportFilters
from reports.services import report_export_render, report_export_request
from tests.pharmacy.conftest import approve, dispense_cycle_one
from tests.prescriptions import conftest as prescriptions_conftest

# The request fixtures of the prescriptions tests, shared with these tests.
draft = prescriptions_conftest.draft
patient = prescriptions_conftest.patient

CATALOGUE = LOCALE_DIR / "it" / "LC_MESSAGES" / "django.po"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def italian(client: Client, next_url: str = "/") -> Any:
    """Choose Italian the way a person does: the header's switcher posts to set_language."""
    return client.post(reverse("set_language"), {"language": "it", "next": next_url})


def visible_text(page: str) -> str:
    """What a reader sees: no scripts, styles or tags, entities decoded, spaces collapsed."""
    page = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", page)
    page = re.sub(r"(?s)<[^>]+>", " ", page)
    return re.sub(r"\s+", " ", html.unescape(page))


# --- Switching -------------------------------------------------------------------------------


def test_the_switcher_turns_the_pages_italian_and_the_choice_persists(client, physician, draft):
    client.force_login(physician)
    english = client.get(reverse("requests:dashboard")).content.decode()
    assert '<html lang="en">' in english and "Off-label requests" in english
    assert 'action="/i18n/setlang/"' in english  # the switcher is in the header

    response = italian(client, reverse("requests:dashboard"))
    assert response.status_code == 302 and response["Location"] == reverse("requests:dashboard")
    assert response.cookies["django_language"].value == "it"

    for url in (reverse("requests:dashboard"), reverse("requests:detail", args=[draft.pk])):
        page = client.get(url).content.decode()  # the cookie carries the choice
        assert '<html lang="it">' in page
        assert "Esci" in page and "Sign out" not in page
        assert "Richieste" in page and ">Requests<" not in page
    dashboard = client.get(reverse("requests:dashboard")).content.decode()
    assert "Richieste off-label" in dashboard and "Off-label requests" not in dashboard
    assert "Bozza" in dashboard and ">Draft<" not in dashboard  # a TextChoices label
    detail = client.get(reverse("requests:detail", args=[draft.pk])).content.decode()
    assert "Schema terapeutico" in detail and "Cronologia" in detail
    assert (
        "Invia alla farmacia" in detail
        and "Submit to the pharmacy" not in detail.split("Cronologia")[0]
    )  # the timeline below quotes the audit trail, which is English

    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert "Off-label requests" in client.get(reverse("requests:dashboard")).content.decode()


def test_the_login_page_has_the_switcher_and_speaks_italian(client, db):
    page = client.get(reverse("login")).content.decode()
    assert 'name="language" value="it"' in page and "Sign in" in page
    italian(client, reverse("login"))
    page = client.get(reverse("login")).content.decode()
    assert '<html lang="it">' in page
    assert "Accedi" in page and "Nome utente" in page  # ours, and Django's own catalogue
    assert "Sign in" not in page and "Username" not in page


def test_the_queue_and_the_request_list_in_italian(client, physician, pharmacist, draft):
    request_transition(actor=physician, request=draft, transition="submit")
    client.force_login(pharmacist)
    italian(client)
    queue = client.get(reverse("requests:queue")).content.decode()
    assert "Coda della farmacia" in queue and "prima le più vecchie in attesa" in queue
    assert "Inviata" in queue and "1 richiesta." in queue
    assert "Pharmacy queue" not in queue and ">Submitted<" not in queue
    listing = client.get(reverse("requests:list")).content.decode()
    assert "Pseudonimo o riferimento" in listing and "Filtra" in listing  # the filter form
    assert "Pseudonym or reference" not in listing


def test_messages_and_refusals_follow_the_language_but_the_audit_trail_stays_english(
    client, physician, draft
):
    client.force_login(physician)
    italian(client)
    response = client.post(
        reverse("requests:transition", args=[draft.pk]),
        {"transition": "submit", "version": draft.version},
        follow=True,
    )
    page = response.content.decode()
    assert f"{draft.reference} è ora «Inviata»." in html.unescape(page)
    event = AuditEvent.objects.filter(action="request.submit").get()
    assert event.summary == f"{draft.reference}: Submit to the pharmacy"

    refused = client.post(
        reverse("requests:transition", args=[draft.pk]),
        {"transition": "submit", "version": draft.version + 1},
        follow=True,
    ).content.decode()
    assert "Impossibile eseguire «invia alla farmacia»" in html.unescape(refused)


def test_an_override_given_in_italian_holds_in_english(client, pharmacist, draft):
    draft.patient.medications.create(drug_name="posaconazole", interaction="strong_cyp3a_inhibitor")
    client.force_login(pharmacist)
    italian(client)
    url = reverse("pharmacy:request", args=[draft.pk])
    page = html.unescape(client.get(url).content.decode())
    assert "Dose superiore al massimo da RCP (posaconazole)" in page
    assert "Controlli di sicurezza" in page
    with translation.override("it"):
        finding = safety_check(draft).open_blocking[0]
    assert "la richiesta prevede 100/200/400 mg; con posaconazole l'RCP consente" in str(
        finding.message
    )
    client.post(
        reverse("pharmacy:override", args=[draft.pk]),
        {"fingerprint": finding.fingerprint, "reason": "L'inibitore si sospende domani."},
    )
    override = SafetyOverride.objects.get()
    assert "the request asks 100/200/400 mg; with posaconazole the label allows" in override.message
    with translation.override("en"):
        assert not safety_check(draft).open_blocking  # the same finding, decided
    assert "Deroga di ph.rossi" in client.get(url).content.decode()


# --- The catalogue ---------------------------------------------------------------------------


def test_the_italian_catalogue_is_complete_and_consistent():
    catalogue = polib.pofile(str(CATALOGUE))
    assert len(catalogue) > 800
    assert not catalogue.fuzzy_entries()
    assert not catalogue.obsolete_entries()
    for entry in catalogue:
        forms = (
            [(entry.msgid, entry.msgstr_plural[0]), (entry.msgid_plural, entry.msgstr_plural[1])]
            if entry.msgid_plural
            else [(entry.msgid, entry.msgstr)]
        )
        for source, translated in forms:
            assert translated.strip(), f"not translated: {source!r}"
            assert sorted(PLACEHOLDER.findall(source)) == sorted(PLACEHOLDER.findall(translated)), (
                f"placeholders differ: {source!r} -> {translated!r}"
            )
            if "python-format" in entry.flags:
                rest = PLACEHOLDER.sub("", translated).replace("%%", "")
                assert "%" not in rest, f"a lone % in {translated!r}"
                assert source.count("%%") == translated.count("%%"), translated


def test_the_catalogue_compiles_in_pure_python(tmp_path):
    target = tmp_path / "locale"
    shutil.copytree(LOCALE_DIR, target, ignore=shutil.ignore_patterns("*.mo"))
    written = catalogues_compile(target)
    mo = target / "it" / "LC_MESSAGES" / "django.mo"
    french = target / "fr" / "LC_MESSAGES" / "django.mo"  # the consent form's French
    assert written == [french, mo]
    assert catalogues_compile(target) == []  # up to date: nothing to do
    with mo.open("rb") as stream:
        compiled = gettext.GNUTranslations(stream)
    assert compiled.gettext("Sign out") == "Esci"
    assert compiled.ngettext("%(counter)s request.", "%(counter)s requests.", 2) == (
        "%(counter)s richieste."
    )
    with french.open("rb") as stream:
        assert gettext.GNUTranslations(stream).pgettext(
            "consent", "Patient information and consent form"
        ) == ("Note d'information et formulaire de consentement du patient")
    with mo.open("rb") as stream:
        assert gettext.GNUTranslations(stream).pgettext("consent", "Date") == "Data"
    assert (LOCALE_DIR / "it" / "LC_MESSAGES" / "django.mo").exists()  # the session compiled it


# --- Numbers and dates -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "47.9 | 3.5 | 2024-05-01 | 2024-05-01 14:30 | May 1, 2024"),
        ("it", "47,9 | 3,5 | 01/05/2024 | 01/05/2024 14:30 | 1 maggio 2024"),
    ],
)
def test_numbers_and_dates_follow_the_language(language, expected):
    template = Template(
        '{{ orr|floatformat:"-1" }} | {{ ratio }} | {{ day|date:"SHORT_DATE_FORMAT" }} | '
        '{{ moment|date:"SHORT_DATETIME_FORMAT" }} | {{ day }}'
    )
    context = Context(
        {
            "orr": Decimal("47.9"),
            "ratio": 3.5,
            "day": date(2024, 5, 1),
            "moment": datetime(2024, 5, 1, 14, 30, tzinfo=ZoneInfo("Europe/Rome")),
        }
    )
    with translation.override(language), timezone.override("Europe/Rome"):
        assert template.render(context) == expected


def test_pages_show_italian_numbers_and_dates_and_forms_keep_iso_dates(
    client, physician, pharmacist, draft
):
    client.force_login(physician)
    detail = client.get(reverse("requests:detail", args=[draft.pk])).content.decode()
    assert "64.0 kg" in detail and "1.70 m²" in detail
    italian(client)
    detail = client.get(reverse("requests:detail", args=[draft.pk])).content.decode()
    assert "64,0 kg" in detail and "1,70 m²" in detail and "64.0 kg" not in detail
    rows = client.get(reverse("requests:list")).content.decode()
    assert re.search(r"<td>\d{2}/\d{2}/\d{4} \d{2}:\d{2}</td>", rows)  # updated, dd/mm/yyyy

    client.force_login(pharmacist)
    italian(client)
    prices = client.get(reverse("pharmacy:prices")).content.decode()
    today = timezone.localdate().isoformat()
    assert f'type="date" name="valid_from" value="{today}"' in prices  # browsers need ISO
    response = client.post(
        reverse("pharmacy:prices"),
        {
            "strength_mg": "100",
            "price_per_unit": "50.1234",
            "currency": "EUR",
            "source": "Gara inventata 2026",
            "valid_from": today,
        },
        follow=True,
    )
    page = response.content.decode()
    assert "Prezzo registrato." in page
    assert "€ 50,1234" in page  # the price as Italian writes money (issue 15)
    assert "50.1234" not in visible_text(page) and "50,1234 EUR" not in page


# --- The sweep -------------------------------------------------------------------------------

# The most common English words and phrases of the interface, all translated. A page in Italian
# shows none of them, except inside data quoted verbatim (stripped first, see below).
ENGLISH = [
    "Request",
    "Requests",
    "Submit",
    "Approve",
    "Reject",
    "Pharmacy",
    "Studies",
    "Study",
    "Sign out",
    "Dispensing",
    "Dispensed",
    "Registry",
    "Patient",
    "Regimen",
    "Status",
    "Jurisdiction",
    "Evidence",
    "Timeline",
    "Queue",
    "Due soon",
    "Prices",
    "Save",
    "Filter",
    "Clear",
    "Actions",
    "Reason",
    "Waiting",
    "Prescriber",
    "Updated",
    "Rules",
    "Safety checks",
    "Severity",
    "Override",
    "Treated",
    "Reminders",
    "Nothing",
    "None yet",
    "Draft",
    "Submitted",
    "Approved",
    "Active",
    "Withdrawn",
    "Previous",
    "Next",
    "Record",
    "Cycle",
    "Cycles",
    "Payer",
    "Consent",
    "Download",
    "Adverse events",
    "Pathway",
    "Outside authorisation",
    "Upload",
    "Source:",
    "Welcome",
    "not stated",
    "days",
    "blocking",
    "warnings",
    # The administrator's report and audit trail viewer.
    "Report",
    "Audit",
    "Summary",
    "Department",
    "Physician",
    "State",
    "median",
    "Approval rate",
    "Best response",
    "Grade",
    "Events",
    "Apply",
    "Who",
    "Chain check",
    "intact",
    # The evidence ranking's reasons (much of their wording is also stored data, stripped).
    "Reports a",
    "like this patient",
]
FORBIDDEN = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, ENGLISH)) + r")(?![\w-])")
PROJECT_APPS = (
    "accounts",
    "audit",
    "evidence",
    "prescriptions",
    "regulatory",
    "consent",
    "pharmacy",
    "followup",
)
# Stored sentences the page does not show as stored (it rebuilds them in its language).
NOT_DATA = {("followup", "pharmacovigilancereminder", "message")}


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [line.strip() for line in value.splitlines() if len(line.strip()) >= 2]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


def data_strings() -> list[str]:
    """Every text stored in the database: study wording, rules data, label rules, audit
    summaries, names. It is quoted as it is; the sweep looks at what remains."""
    found: set[str] = set()
    for app in PROJECT_APPS:
        for model in apps.get_app_config(app).get_models():
            fields = [
                f.name
                for f in model._meta.concrete_fields
                if isinstance(f, models.CharField | models.TextField | models.JSONField)
                and not f.choices
                and (app, model._meta.model_name, f.name) not in NOT_DATA
            ]
            for row in model._default_manager.values_list(*fields) if fields else []:
                found.update(s for value in row for s in _strings(value))
    # Whole strings of a few letters at least, and never one of the words looked for: quoting
    # "Patient" as data must not hide the interface's own "Patient".
    return sorted((s for s in found if len(s) >= 4 and s not in ENGLISH), key=len, reverse=True)


@pytest.fixture
def treated(draft, physician, pharmacist) -> OffLabelRequest:
    """The draft approved and its first cycle dispensed: every panel of the pages is open."""
    return dispense_cycle_one(approve(draft, physician, pharmacist), pharmacist)


def test_the_main_pages_show_no_english_to_any_role_in_italian(
    client, treated, physician, pharmacist, hospital_admin, regulatory_officer
):
    study = treated.attachments.get().study
    # Every panel of the administrator's pages has a row: a queued PDF report, a chain check.
    report_export_request(actor=hospital_admin, filters=ReportFilters())
    audit_chain_verify_task()
    today = timezone.localdate().isoformat()
    pages = {
        "physician": [
            reverse("home"),
            reverse("requests:dashboard"),
            reverse("requests:list"),
            reverse("requests:detail", args=[treated.pk]),
            reverse("pharmacy:request", args=[treated.pk]),
            reverse("followup:registry"),
            reverse("evidence:study-list"),
            reverse("evidence:study-detail", args=[study.pk]),
            reverse("regulatory:due-soon"),
            reverse("pharmacy:costs"),
        ],
        "pharmacist": [
            reverse("requests:dashboard"),
            reverse("requests:list"),
            reverse("requests:queue"),
            reverse("requests:detail", args=[treated.pk]),
            reverse("pharmacy:request", args=[treated.pk]),
            reverse("followup:registry"),
            reverse("evidence:study-list"),
            reverse("regulatory:due-soon"),
            reverse("pharmacy:prices"),
            reverse("pharmacy:costs"),
        ],
        "hospital_admin": [
            reverse("requests:dashboard"),
            reverse("requests:list"),
            reverse("requests:detail", args=[treated.pk]),
            reverse("pharmacy:request", args=[treated.pk]),
            reverse("followup:registry"),
            reverse("evidence:study-list"),
            reverse("regulatory:due-soon"),
            reverse("reports:report"),
            reverse("reports:report") + f"?date_from=2020-01-01&date_to={today}&state=active",
            reverse("reports:report") + "?date_from=2026-05-01&date_to=2026-04-01",  # refused
            reverse("reports:audit"),
            reverse("reports:audit") + f"?reference={treated.reference}&action=request",
            reverse("reports:audit") + "?reference=banana",  # refused
        ],
        "regulatory_officer": [
            reverse("home"),
            reverse("evidence:study-list"),
            reverse("regulatory:rules"),
        ],
    }
    users = {
        "physician": physician,
        "pharmacist": pharmacist,
        "hospital_admin": hospital_admin,
        "regulatory_officer": regulatory_officer,
    }
    quoted = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, data_strings())) + r")(?!\w)")
    problems = []
    for role, urls in pages.items():
        client.force_login(users[role])
        italian(client)
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, (role, url, response.status_code)
            page = response.content.decode()
            assert '<html lang="it">' in page, (role, url)
            text = quoted.sub(" ", visible_text(page))
            problems += [
                f"{role} {url}: {m.group(0)!r} in …{text[max(0, m.start() - 60) : m.end() + 60]}…"
                for m in FORBIDDEN.finditer(text)
            ]
    assert not problems, "\n".join(problems)


def test_a_pharmacovigilance_reminder_is_stored_in_english_and_shown_in_italian(
    client, treated, physician, pharmacist
):
    from followup.models import PharmacovigilanceReminder

    client.force_login(physician)
    italian(client)
    response = client.post(
        reverse("followup:adverse-event-create", args=[treated.pk]),
        {
            "term": "febrile_neutropenia",
            "grade": "3",
            "serious": "on",
            "onset_on": timezone.localdate().isoformat(),
            "outcome": "recovering",
            "relation": "possibly",
        },
        follow=True,
    )
    page = html.unescape(response.content.decode())
    assert "Evento avverso registrato: Neutropenia febbrile." in page
    reminder = PharmacovigilanceReminder.objects.get()
    assert "suspected adverse reaction 'Febrile neutropenia' grade 3 (serious)" in reminder.message
    event = AuditEvent.objects.get(action="adverse_event.recorded")
    assert "Febrile neutropenia" in event.summary and "possibly related to VEN" in event.summary
    # The panel:
    assert "sospetta reazione avversa «Neutropenia febbrile» di grado 3 (grave)" in page

    client.force_login(pharmacist)
    italian(client)
    registry = html.unescape(client.get(reverse("followup:registry")).content.decode())
    assert "Segnalazioni di farmacovigilanza da inviare" in registry
    assert "sospetta reazione avversa «Neutropenia febbrile» di grado 3 (grave)" in registry
    assert reminder.message not in registry


def test_the_request_form_and_the_editing_pages_in_italian(
    client, draft, physician, pharmacist, rule_steward
):
    checked = {
        physician: [
            (reverse("requests:new"), "Nuova richiesta off-label"),
            (reverse("requests:step-patient", args=[draft.pk]), "Profilo clinico"),
            (reverse("requests:step-regimen", args=[draft.pk]), "Schema terapeutico proposto"),
            (reverse("requests:step-evidence", args=[draft.pk]), "Evidenze per questo paziente"),
            (reverse("regulatory:step-pathway", args=[draft.pk]), "Via regolatoria"),
            (reverse("requests:step-review", args=[draft.pk]), "Verifica e invio"),
            (reverse("requests:patient-identity", args=[draft.patient.pk]), "Dati identificativi"),
            (reverse("password_change"), "Cambia la password"),
        ],
        pharmacist: [(reverse("evidence:study-add"), "Aggiungi una pubblicazione")],
        rule_steward: [  # issue 14: the national rules are a steward's, not an officer's
            (
                reverse("regulatory:rule-edit", args=["gb_gmc_off_label"]),
                "Salva come nuova versione",
            )
        ],
    }
    quoted = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, data_strings())) + r")(?!\w)")
    problems = []
    for user, pages in checked.items():
        client.force_login(user)
        italian(client)
        for url, heading in pages:
            response = client.get(url)
            assert response.status_code == 200, url
            page = response.content.decode()
            assert heading in html.unescape(page), url
            text = quoted.sub(" ", visible_text(page))
            problems += [f"{url}: {m.group(0)!r}" for m in FORBIDDEN.finditer(text)]
    assert not problems, "\n".join(problems)


# --- The evidence ranking and the administrator's report ------------------------------------


def test_the_ranking_reads_in_italian_and_an_attachment_keeps_its_reasons_in_english(
    client, api_client, physician, draft
):
    client.force_login(physician)
    italian(client)
    url = reverse("requests:step-evidence", args=[draft.pk])
    page = html.unescape(client.get(url).content.decode())
    assert "Stesso schema: VEN + azacitidina." in page and "Same regimen:" not in page
    assert "Studio di fase II su" in page and "Phase II trial of" not in page

    with translation.override("it"):
        shown = {s.study.pk: s.reasons for s in request_suggestions(draft)}
    with translation.override("en"):
        english = {s.study.pk: s.reasons for s in request_suggestions(draft)}
    # The source's words are quoted as written, in Italian quotation marks.
    quoting = [(r, m) for rs in shown.values() for r in rs if (m := re.search(r": «(.+)»", r))]
    assert quoting
    for reason, quoted in quoting:
        assert f": '{quoted.group(1)}'" in reason.english

    attached = set(draft.attachments.values_list("study_id", flat=True))
    by_page, by_api = [pk for pk in shown if pk not in attached][:2]
    client.post(reverse("requests:attach", args=[draft.pk]), {"study": by_page, "note": ""})
    api_client.force_authenticate(physician)
    api_client.cookies["django_language"] = "it"
    response = api_client.get(f"/api/v1/requests/{draft.pk}/suggestions/")
    assert "Stesso schema: VEN + azacitidina." in response.json()[0]["reasons"]
    created = api_client.post(
        f"/api/v1/requests/{draft.pk}/attachments/", {"study": by_api}, format="json"
    )
    assert created.status_code == 201, created.content
    for pk in (by_page, by_api):
        stored = draft.attachments.get(study_id=pk).reasons_when_attached
        assert stored == list(english[pk]) and stored != list(shown[pk])
        assert all(type(reason) is str for reason in stored)


def test_the_report_reads_in_italian_and_its_downloads_stay_english(
    client, treated, hospital_admin
):
    client.force_login(hospital_admin)
    italian(client)
    page = html.unescape(client.get(reverse("reports:report")).content.decode())
    assert "Rendiconto · " in page and "Tasso di approvazione" in page
    assert "Richieste per stato" in page and "Attiva (in dispensazione)" in page
    charts = [
        base64.b64decode(encoded).decode()
        for encoded in re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', page)
    ]
    assert any("Richieste per stato" in chart for chart in charts)
    assert not any("Requests by state" in chart for chart in charts)
    queued = client.post(reverse("reports:pdf"), {"query": ""}, follow=True)
    assert "Il rendiconto PDF è in preparazione" in html.unescape(queued.content.decode())

    csv = client.get(reverse("reports:csv")).content.decode()
    assert "Requests by state" in csv and "Approval rate" in csv and "Active (dispensing)" in csv
    assert "Richieste" not in csv and "Attiva" not in csv
    workbook = load_workbook(io.BytesIO(client.get(reverse("reports:xlsx")).content))
    cells = {
        str(value)
        for sheet in workbook.worksheets
        for row in sheet.iter_rows(values_only=True)
        for value in row
        if value is not None
    }
    assert {"Requests by state", "Approval rate", "Active (dispensing)"} <= cells
    assert not any("Richieste" in cell or "Attiva" in cell for cell in cells)

    export = report_export_request(actor=hospital_admin, filters=ReportFilters())
    with translation.override("it"):  # whatever language the worker happens to be in
        report_export_render(export.pk)
    export.refresh_from_db()
    with export.file.open("rb") as handle:
        reader = PdfReader(io.BytesIO(handle.read()))
    text = " ".join(" ".join(p.extract_text() for p in reader.pages).split())
    assert "Requests by state" in text and "Dispensed value by payer" in text  # a chart
    assert "Richieste" not in text and "Rendiconto" not in text


# --- Issue 15: every value readable ----------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "€4,961.55 | £12.00 | €50.1234"), ("it", "€ 4.961,55 | £ 12,00 | € 50,1234")],
)
def test_money_is_written_as_the_readers_locale_writes_it(language, expected):
    template = Template(
        "{% load offlabel_i18n %}{{ total|money:'EUR' }} | {{ fee|money:'GBP' }} | "
        "{{ unit|money_unit:'EUR' }}"
    )
    context = Context(
        {
            "total": Decimal("4961.55000000000"),  # as a Sum() of DecimalFields comes back
            "fee": Decimal("12"),
            "unit": Decimal("50.1234"),
        }
    )
    with translation.override(language):
        shown = template.render(context)
    assert shown == expected
    assert "4961.55000000000" not in shown and "EUR" not in shown


def test_italian_dates_write_the_month_in_lower_case():
    template = Template('{{ day }} · {{ day|date:"DATE_FORMAT" }}')
    with translation.override("it"):
        assert template.render(Context({"day": date(2026, 11, 24)})) == (
            "24 novembre 2026 · 24 novembre 2026"
        )
    with translation.override("en"):
        assert template.render(Context({"day": date(2026, 11, 24)})).startswith("Nov. 24, 2026")


def _prices(pharmacist: Any) -> None:
    from pharmacy.services import drug_price_add
    from prescriptions.services import drug_default

    for strength, price in ((100, "49.6155"), (50, "24.81"), (10, "4.962")):
        drug_price_add(
            actor=pharmacist,
            drug=drug_default(),
            strength_mg=Decimal(strength),
            price_per_unit=Decimal(price),
            currency="EUR",
            source="Gara inventata 2026",
            valid_from=date(2020, 1, 1),
        )


@pytest.fixture
def priced(draft, physician, pharmacist) -> OffLabelRequest:
    """The draft approved and its first cycle dispensed, at the hospital's recorded prices."""
    _prices(pharmacist)
    return dispense_cycle_one(approve(draft, physician, pharmacist), pharmacist)


def test_money_on_the_pharmacy_pages_is_in_the_readers_locale(client, priced, pharmacist):
    dispensation = priced.dispensations.get()
    assert dispensation.cost and dispensation.currency == "EUR"
    client.force_login(pharmacist)
    english = visible_text(
        client.get(reverse("pharmacy:request", args=[priced.pk])).content.decode()
    )
    euros = f"{dispensation.cost:,.2f}"  # e.g. 5,309.86
    assert f"€{euros}" in english
    italian(client)
    for url in (reverse("pharmacy:request", args=[priced.pk]), reverse("pharmacy:costs")):
        page = visible_text(client.get(url).content.decode())
        assert f"€ {euros.replace(',', 'X').replace('.', ',').replace('X', '.')}" in page, url
        assert " EUR" not in page and str(dispensation.cost) not in page, url
    prices = visible_text(client.get(reverse("pharmacy:prices")).content.decode())
    assert "€ 49,6155" in prices and "49.6155" not in prices


def test_the_report_shows_money_and_pathways_readably_and_its_files_keep_numbers(
    client, priced, hospital_admin
):
    dispensation = priced.dispensations.get()
    amount = f"{dispensation.cost.quantize(Decimal('0.01'))}"
    client.force_login(hospital_admin)
    italian(client)
    page = html.unescape(client.get(reverse("reports:report")).content.decode())
    text = visible_text(page)
    assert "Prescrizione off-label (linee guida GMC)" in text  # the pathway by its name
    assert "gb_gmc_off_label" not in text  # never its code, in the table or in the filter
    assert ">Prescrizione off-label (linee guida GMC)</option>" in page
    italian_amount = (
        f"{dispensation.cost:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")
    )
    assert f"€ {italian_amount}" in text and amount not in text

    rows = list(csv.reader(io.StringIO(client.get(reverse("reports:csv")).content.decode())))
    generated = next(r[0] for r in rows if r and r[0].startswith("Generated "))
    moment = datetime.fromisoformat(generated.removeprefix("Generated "))
    assert moment.utcoffset() == moment.astimezone(ZoneInfo("Europe/Rome")).utcoffset()
    assert ["Filters", "no filter"] in rows  # never "Filters: ."
    header = rows.index(["Payer", "Cycles", "mg", "Value", "Currency", "Cycles without a price"])
    payer_row = rows[header + 1]
    assert payer_row[3] == amount and payer_row[4] == "EUR"  # a plain decimal, two places
    assert ["Pathway", "Code", "Requests"] in rows  # files keep the code, for machines

    workbook = load_workbook(io.BytesIO(client.get(reverse("reports:xlsx")).content))
    value = workbook["dispensing"]["D3"]
    assert isinstance(value.value, int | float) and round(value.value, 2) == float(amount)
    assert "€" in value.number_format and "0.00" in value.number_format


def test_csv_times_carry_the_hospitals_time_zone(client, priced, hospital, hospital_admin):
    hospital.time_zone = "America/New_York"
    hospital.save()
    client.force_login(hospital_admin)
    rows = list(csv.reader(io.StringIO(client.get(reverse("reports:csv")).content.decode())))
    generated = next(r[0] for r in rows if r and r[0].startswith("Generated "))
    moment = datetime.fromisoformat(generated.removeprefix("Generated "))
    assert moment.utcoffset() == moment.astimezone(ZoneInfo("America/New_York")).utcoffset()
    assert moment.utcoffset() != moment.astimezone(ZoneInfo("Europe/Rome")).utcoffset()


def test_a_hospital_gets_its_countrys_time_zone(db):
    import importlib

    from accounts.models import Hospital

    migration = importlib.import_module("accounts.migrations.0006_hospital_time_zone")
    for code, country in (("tz-fr", "FR"), ("tz-es", "ES"), ("tz-it", "IT")):
        Hospital.objects.create(name=code, code=code, country=country, time_zone="UTC")
    migration.zones_from_countries(apps, None)
    assert dict(Hospital.objects.values_list("country", "time_zone")) == {
        "FR": "Europe/Paris",
        "ES": "Europe/Madrid",
        "IT": "Europe/Rome",
    }
    with pytest.raises(ValidationError):
        Hospital(name="x", code="x", country="IT", time_zone="Mars/Olympus").full_clean()


def test_the_report_pdf_says_no_filter_and_writes_money_in_english(priced, hospital_admin):
    export = report_export_request(actor=hospital_admin, filters=ReportFilters())
    with translation.override("it"):
        report_export_render(export.pk)
    export.refresh_from_db()
    with export.file.open("rb") as handle:
        reader = PdfReader(io.BytesIO(handle.read()))
    text = " ".join(" ".join(p.extract_text() for p in reader.pages).split())
    assert "Filters: no filter." in text and "Filters: ." not in text
    cost = priced.dispensations.get().cost
    assert f"€{cost:,.2f}" in text
    assert "gb_gmc_off_label" not in text and "Off-label prescribing (GMC guidance)" in text


def test_charts_of_counts_have_whole_number_ticks():
    from reports.charts import bar_chart_svg

    def ticks(svg: str) -> list[str]:
        return re.findall(r"<text[^>]*>([\d.,]+)</text>", svg)

    with translation.override("en"):
        fractional = bar_chart_svg("Requests", ["a", "b"], [1, 2])
        counts = bar_chart_svg("Requests", ["a", "b"], [1, 2], counts=True)
    assert {"0.5", "1.5"} <= set(ticks(fractional))  # matplotlib's own choice: half requests
    assert ticks(counts)[:3] == ["0", "1", "2"], ticks(counts)
    with translation.override("it"):
        assert "0,5" in ticks(bar_chart_svg("Valore", ["a", "b"], [1, 2]))


def _studies_attach(physician: Any, request: OffLabelRequest) -> None:
    from evidence.models import Study
    from prescriptions.services import evidence_attach

    for reference in (63, 82):
        evidence_attach(
            actor=physician, request=request, study=Study.objects.get(reference=reference)
        )
    request.refresh_from_db()


def _dossier_text(dossier: Any) -> str:
    with dossier.file.open("rb") as handle:
        reader = PdfReader(io.BytesIO(handle.read()))
    return " ".join(" ".join(p.extract_text() for p in reader.pages).split())


def test_a_dossier_for_an_italian_body_is_in_italian_with_labels_not_codes(
    physician, pharmacist, patient, studies, rules
):
    from prescriptions.services import request_create
    from regulatory.dossier import dossier_render, dossier_request
    from regulatory.services import pathway_choose
    from tests.prescriptions.conftest import REGIMEN

    patient.medications.create(drug_name="posaconazolo", interaction="strong_cyp3a_inhibitor")
    patient.mutations.update_or_create(gene="FLT3_ITD", defaults={"status": "present"})
    request = request_create(
        actor=physician, patient=patient, fields={**REGIMEN, "jurisdiction": "IT"}
    )
    _studies_attach(physician, request)
    pathway_choose(
        actor=physician,
        request=request,
        pathway_code="it_law_94_98",
        reason="Uso individuale scelto dal medico (caso inventato).",
    )
    with translation.override("en"):  # whatever language the person asking reads
        dossier = dossier_render(dossier_request(actor=pharmacist, request=request).pk)
    text = _dossier_text(dossier)
    for expected in (
        "Dossier di presentazione",
        "Legge 94/1998, art. 3, c. 2 (uso off-label individuale)",
        "Leucemia mieloide acuta recidivata/refrattaria",
        "posaconazolo (Inibitore forte del CYP3A)",
        "FLT3-ITD presente",
        "Il medico si assume la diretta responsabilità",  # a checklist item
    ):
        assert expected in text, expected
    assert "(uso off-label individuale) · pagina 1 di " in text  # the running footer
    for code in ("strongcyp3ainhibitor", "strong_cyp3a_inhibitor", "FLT3_ITD", "it_law_94_98"):
        assert code not in text, code
    assert "Submission dossier" not in text and "This dossier is written in English" not in text


def test_a_dossier_for_a_french_body_falls_back_to_english_and_says_so(
    physician, pharmacist, patient, studies, rules
):
    from prescriptions.services import request_create
    from regulatory.dossier import dossier_render, dossier_request
    from regulatory.services import pathway_choose
    from tests.prescriptions.conftest import REGIMEN

    request = request_create(
        actor=physician, patient=patient, fields={**REGIMEN, "jurisdiction": "FR"}
    )
    _studies_attach(physician, request)
    from regulatory.routing import route

    recommended = route(request).recommended
    assert recommended is not None
    pathway_choose(actor=physician, request=request, pathway_code=recommended.pathway_code)
    with translation.override("it"):
        dossier = dossier_render(dossier_request(actor=pharmacist, request=request).pk)
    text = _dossier_text(dossier)
    assert "Submission dossier" in text and "Dossier di presentazione" not in text
    assert "This dossier is written in English" in text and "(fr)" in text
    assert "Strong CYP3A inhibitor" not in text  # nothing to show: no medication recorded
