"""Issue 15: every page, as every role, in Italian, WITH DATA IN IT, shows no English that
comes from the data or from a code.

The first sweep (tests/test_i18n.py) strips every stored text before looking for the interface's
own English words, so data-driven English went unseen: a pathway name, a checklist item, the
pharmacovigilance network, a raw code. This sweep does the opposite. It collects every English
text the rules data files carry a translation for, every choice label of the models (where the
Italian label differs) and the raw codes behind them, and looks for each, verbatim, in what an
Italian reader sees on pages that hold a request in each state, findings, checklists,
applications, reminders and an adverse event. Verbatim quotes of the law or the label are
allowed when the page marks them as English (an element with ``lang="en"``), as are
identifiers shown as code (``<code>``).
"""

from __future__ import annotations

import html
import itertools
import json
import os
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.apps import apps
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from accounts.roles import Role
from followup.services import adverse_event_create
from pharmacy.services import drug_price_add
from prescriptions.models import OffLabelRequest
from prescriptions.services import (
    drug_default,
    patient_create,
    request_create,
    request_transition,
)
from regulatory.reminders import reminders_raise
from regulatory.services import application_create, application_step, pathway_choose
from reports.selectors import ReportFilters
from reports.services import report_export_request
from tests.factories import UserFactory
from tests.pharmacy.conftest import approve, dispense_cycle_one
from tests.prescriptions.conftest import COMPLETE_PROFILE, IDENTITY, REGIMEN
from tests.regulatory.conftest import LISTING_648

BASE = Path(settings.BASE_DIR)
DATA_FILES = (
    BASE / "regulatory" / "data" / "rules.json",
    BASE / "pharmacy" / "data" / "label_rules.json",
    BASE / "prescriptions" / "data" / "medication_classes.json",
)
PROJECT_APPS = (
    "accounts",
    "audit",
    "evidence",
    "prescriptions",
    "regulatory",
    "consent",
    "pharmacy",
    "followup",
    "reports",
)


# --- The detector ------------------------------------------------------------------------------


def _translated_texts(node: Any, where: str = "") -> list[tuple[str, str]]:
    """Every (English text, where) of a data file that carries an Italian translation which
    says it differently: what an Italian page must show translated."""
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        italian = (node.get("i18n") or {}).get("it") or {}
        for key, text in italian.items():
            english = node.get(key)
            if isinstance(english, str) and isinstance(text, str) and english != text:
                found.append((english, f"{where}.{key}"))
            elif isinstance(english, dict) and isinstance(text, dict):  # a keyed table
                found += [
                    (english[k], f"{where}.{key}.{k}")
                    for k, t in text.items()
                    if isinstance(english.get(k), str) and english[k] != t
                ]
        for key, value in node.items():
            if key != "i18n":
                found += _translated_texts(value, f"{where}.{node.get('code', key)}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _translated_texts(value, f"{where}[{i}]")
    return found


def _choice_labels() -> dict[str, str]:
    """English choice labels of the project's models whose Italian label differs, and the raw
    codes behind every choice (``strong_cyp3a_inhibitor``, ``FLT3_ITD``; also the same with the
    underscores dropped, as a template's ``cut`` once showed them: ``noneknown``)."""
    found: dict[str, str] = {}
    for app in PROJECT_APPS:
        for model in apps.get_app_config(app).get_models():
            for f in model._meta.get_fields():
                for code, label in getattr(f, "flatchoices", None) or []:
                    where = f"{model._meta.label}.{f.name}"
                    with translation.override("en"):
                        english = str(label)
                    with translation.override("it"):
                        italian = str(label)
                    if english != italian and len(english) >= 4:
                        found[english] = f"label of {where}={code}"
                    if isinstance(code, str) and "_" in code and len(code) >= 5:
                        found[code] = f"raw code of {where}"
                        found[code.replace("_", "")] = f"raw code of {where}, underscores cut"
    return found


def english_fragments() -> dict[str, str]:
    """Every English text that must not reach an Italian page as it is, with where it comes
    from."""
    fragments = _choice_labels()
    for path in DATA_FILES:
        data = json.loads(path.read_text(encoding="utf-8"))
        for text, where in _translated_texts(data):
            if len(text) >= 4:
                fragments[text] = f"{path.name}{where}"
        if path.name == "rules.json":
            for pathway in data["pathways"]:
                fragments[pathway["code"]] = f"raw pathway code in {path.name}"
    # The indication a request gets by default, stored in English.
    fragments["Relapsed/refractory acute myeloid leukaemia"] = "default indication"
    # Rows that carry their translations in the database (the reporting deadlines' network).
    for app in PROJECT_APPS:
        for model in apps.get_app_config(app).get_models():
            if not any(f.name == "translations" for f in model._meta.concrete_fields):
                continue
            for row in model._default_manager.all():
                for key, text in (getattr(row, "translations", {}).get("it") or {}).items():
                    english = getattr(row, key, None)
                    if isinstance(english, str) and english != text and len(english) >= 4:
                        fragments[english] = f"{model._meta.label}.{key}"
    return fragments


class _ItalianText(HTMLParser):
    """The text an Italian reader is given: no scripts or styles, nothing inside an element
    that declares another language (a verbatim quote), nothing inside ``<code>``."""

    VOID = frozenset(
        [
            "area",
            "base",
            "br",
            "col",
            "embed",
            "hr",
            "img",
            "input",
            "link",
            "meta",
            "param",
            "source",
            "track",
            "wbr",
        ]
    )
    # A <textarea> holds what a person is editing (a steward edits the English source texts).
    SKIPPED = frozenset({"script", "style", "code", "template", "textarea"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[bool] = []  # per open element: is its content skipped?
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID:
            return
        lang = dict(attrs).get("lang")
        other_language = tag != "html" and lang is not None and not lang.startswith("it")
        skipped = bool(self.stack and self.stack[-1]) or tag in self.SKIPPED or other_language
        self.stack.append(skipped)

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if not (self.stack and self.stack[-1]):
            self.parts.append(data)


def italian_text(page: str) -> str:
    parser = _ItalianText()
    parser.feed(page)
    return re.sub(r"\s+", " ", " ".join(parser.parts))


@dataclass
class Detector:
    fragments: dict[str, str] = field(default_factory=english_fragments)

    def __post_init__(self) -> None:
        ordered = sorted(self.fragments, key=len, reverse=True)
        self.pattern = re.compile(
            r"(?<![\w-])(?:" + "|".join(map(re.escape, ordered)) + r")(?![\w-])"
        )

    def leaks(self, page: str) -> list[str]:
        text = italian_text(page)
        return [
            f"{m.group(0)!r} ({self.fragments[m.group(0)]}) in "
            f"…{text[max(0, m.start() - 50) : m.end() + 50]}…"
            for m in self.pattern.finditer(text)
        ]


def test_the_detector_sees_data_english_and_lets_marked_quotes_through(db):
    detector = Detector()
    assert "Law 648/1996 list (reimbursed by the SSN)" in detector.fragments  # a pathway name
    assert "Strong CYP3A inhibitor" in detector.fragments  # a choice label
    assert "strongcyp3ainhibitor" in detector.fragments and "FLT3_ITD" in detector.fragments
    assert "it_law_648" in detector.fragments
    page = (
        '<html lang="it"><body><p>Via: Law 648/1996 list (reimbursed by the SSN)</p>'
        '<p>Fonte: <q lang="en">Law 648/1996 list (reimbursed by the SSN)</q></p>'
        "<p><code>it_law_648</code> it_law_648<br>noneknown</p>"
        "<script>var x = 'Strong CYP3A inhibitor';</script></body></html>"
    )
    leaks = detector.leaks(page)
    assert len(leaks) == 3, leaks
    assert "Law 648/1996 list" in leaks[0] and "it_law_648" in leaks[1]
    assert "noneknown" in leaks[2]
    assert not detector.leaks('<p lang="en">Strong CYP3A inhibitor</p><p>Inibitore</p>')


# --- A hospital with data in every state ---------------------------------------------------------


def italian(client: Client) -> None:
    client.post(reverse("set_language"), {"language": "it", "next": "/"})


_PATIENTS = itertools.count(100)
# What a physician of an Italian hospital writes (free text is never translated).
RATIONALE = (
    "Prima recidiva dopo induzione intensiva; non candidabile a reinduzione (ECOG 1, "
    "infezioni); nessuna mutazione di FLT3, quindi gilteritinib non è indicato."
)


def _it_request(physician: Any, *, profile: dict[str, Any] | None = None, **regimen: Any):
    from evidence.models import Study
    from prescriptions.services import evidence_attach

    patient = patient_create(
        actor=physician,
        profile=profile or LISTING_648,
        mutations={"IDH2": "present", "FLT3_ITD": "absent"},
        medications=regimen.pop("medications", None)
        or [{"drug_name": "aciclovir", "interaction": "none_known"}],
        # Each patient a different (invented) person: the same one would be offered instead.
        identity={
            **IDENTITY,
            "given_name": f"Zebulina{next(_PATIENTS)}",
            "national_id": f"ZZZINV58C54Z{next(_PATIENTS):03d}X",
        },
    )
    fields = {**REGIMEN, "jurisdiction": "IT", "clinical_rationale": RATIONALE, **regimen}
    request = request_create(actor=physician, patient=patient, fields=fields)
    for reference in (63, 82):
        evidence_attach(
            actor=physician, request=request, study=Study.objects.get(reference=reference)
        )
    request.refresh_from_db()
    return request


def _gb_request(physician: Any) -> OffLabelRequest:
    """A UK request on the GMC pathway (every checklist item an attestation)."""
    request = _it_request(physician, profile=COMPLETE_PROFILE, jurisdiction="GB")
    pathway_choose(actor=physician, request=request, pathway_code="gb_gmc_off_label")
    request.refresh_from_db()
    return request


def _treated_with_adverse_event(physician: Any, pharmacist: Any) -> OffLabelRequest:
    """A UK request approved and dispensed (cycle 1), with a serious grade 3 adverse event that
    raises a pharmacovigilance reminder."""
    treated = dispense_cycle_one(approve(_gb_request(physician), physician, pharmacist), pharmacist)
    adverse_event_create(
        actor=physician,
        request=treated,
        term="febrile_neutropenia",
        grade=3,
        serious=True,
        onset_on=timezone.localdate(),
        outcome="recovering",
        relation="possibly",
    )
    return treated


@pytest.fixture
def world(studies, rules, physician, pharmacist, hospital_admin) -> dict[str, Any]:
    """Requests of an Italian hospital in every state, on Italian pathways, with findings,
    checklists, outside applications, reminders and an adverse event."""
    from decimal import Decimal

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
    requests: dict[str, OffLabelRequest] = {}
    # A draft on Law 648, with an interacting drug: safety findings on the pharmacy page.
    requests["draft"] = _it_request(
        physician,
        medications=[{"drug_name": "posaconazole", "interaction": "strong_cyp3a_inhibitor"}],
    )
    pathway_choose(actor=physician, request=requests["draft"], pathway_code="it_law_648")
    # Submitted, then changes requested, on the 5% Fund (a recommended pathway not followed).
    for state in ("submitted", "changes_requested"):
        r = _it_request(physician, profile=COMPLETE_PROFILE)
        pathway_choose(
            actor=physician,
            request=r,
            pathway_code="it_aifa_5_fund",
            reason="Fondo 5% scelto per prova (inventato).",
        )
        request_transition(actor=physician, request=r, transition="submit")
        if state == "changes_requested":
            request_transition(actor=pharmacist, request=r, transition="start_review")
            request_transition(
                actor=pharmacist, request=r, transition="request_changes", reason="Manca il PDF."
            )
        requests[state] = r
    # Awaiting the AIFA registry, with its application submitted long ago: reminders raised.
    r = _it_request(physician)
    pathway_choose(actor=physician, request=r, pathway_code="it_law_648")
    for actor, transition in (
        (physician, "submit"),
        (pharmacist, "start_review"),
        (pharmacist, "send_for_authorisation"),
    ):
        request_transition(actor=actor, request=r, transition=transition)
    long_ago = timezone.localdate() - timedelta(days=40)
    with time_machine.travel(long_ago, tick=False):
        application = application_create(
            actor=pharmacist, request=r, body="aifa_registry", prepared_at=long_ago
        )
        application_step(actor=pharmacist, application=application, step="submit", on=long_ago)
    assert reminders_raise(), "an answer awaited too long raises a reminder"
    requests["awaiting"] = r
    # A UK request (every checklist item an attestation) approved and dispensed (cycle 1), with
    # an adverse event that raises a pharmacovigilance reminder; and one approved, not dispensed.
    treated = _treated_with_adverse_event(physician, pharmacist)
    requests["dispensed"] = treated
    requests["approved"] = approve(_gb_request(physician), physician, pharmacist)
    report_export_request(actor=hospital_admin, filters=ReportFilters())
    return requests


def _pages(world: dict[str, OffLabelRequest], users: dict[str, Any]) -> dict[str, list[str]]:
    every_request = [
        url
        for r in world.values()
        for url in (
            reverse("requests:detail", args=[r.pk]),
            reverse("pharmacy:request", args=[r.pk]),
        )
    ]
    d = world["draft"]
    today = timezone.localdate().isoformat()
    common = [
        reverse("home"),
        reverse("requests:dashboard"),
        reverse("requests:list"),
        reverse("followup:registry"),
        reverse("evidence:study-list"),
        reverse("evidence:study-detail", args=[d.attachments.order_by("pk").first().study_id]),
        reverse("regulatory:due-soon"),
        reverse("regulatory:rules"),
    ]
    return {
        "physician": common
        + every_request
        + [
            reverse("requests:step-patient", args=[d.pk]),
            reverse("requests:step-regimen", args=[d.pk]),
            reverse("requests:step-evidence", args=[d.pk]),
            reverse("regulatory:step-pathway", args=[d.pk]),
            reverse("requests:step-review", args=[d.pk]),
            reverse("regulatory:step-pathway", args=[world["submitted"].pk]),
            reverse("pharmacy:costs"),
        ],
        "pharmacist": common
        + every_request
        + [reverse("requests:queue"), reverse("pharmacy:prices"), reverse("pharmacy:costs")],
        "hospital_admin": common
        + every_request
        + [
            reverse("reports:report"),
            reverse("reports:report") + f"?date_from=2020-01-01&date_to={today}",
            reverse("reports:audit"),
        ],
        "regulatory_officer": [*common, reverse("requests:detail", args=[d.pk])],
        "committee_secretary": [
            reverse("home"),
            reverse("requests:detail", args=[world["awaiting"].pk]),
            reverse("regulatory:due-soon"),
        ],
        "rule_steward": [
            reverse("home"),
            reverse("regulatory:rules"),
            reverse("regulatory:rule-edit", args=["it_law_648"]),
        ],
    }


def test_every_page_with_data_reads_in_italian_to_every_role(
    client, world, physician, pharmacist, hospital_admin, regulatory_officer, rule_steward, hospital
):
    users = {
        "physician": physician,
        "pharmacist": pharmacist,
        "hospital_admin": hospital_admin,
        "regulatory_officer": regulatory_officer,
        "committee_secretary": UserFactory.create(
            username="sec.gialli", hospital=hospital, role=Role.COMMITTEE_SECRETARY
        ),
        "rule_steward": rule_steward,
    }
    detector = Detector()
    problems: list[str] = []
    seen = 0
    shown: dict[str, str] = {}  # url -> what the physician or the pharmacist read there
    for role, urls in _pages(world, users).items():
        client.force_login(users[role])
        italian(client)
        for url in urls:
            response = client.get(url)
            if response.status_code in (403, 404):  # not this role's page
                continue
            assert response.status_code == 200, (role, url, response.status_code)
            page = response.content.decode()
            assert '<html lang="it">' in page, (role, url)
            seen += 1
            problems += [f"{role} {url}: {leak}" for leak in detector.leaks(page)]
            if role in ("physician", "pharmacist"):
                shown[url] = shown.get(url, "") + html.unescape(italian_text(page))
    assert seen > 60
    # The pages did hold the data, in Italian: the sweep looked at something.
    draft, awaiting, treated = world["draft"], world["awaiting"], world["dispensed"]
    expected = {
        reverse("requests:detail", args=[draft.pk]): [
            "Checklist — Elenco della Legge 648/1996 (rimborsato dal SSN) (v1)",
            "Registrazione del paziente nel registro di monitoraggio AIFA (PDF)",
            "Leucemia mieloide acuta recidivata/refrattaria",
            "Retrospettivo",  # a study's design, by its label
        ],
        reverse("pharmacy:request", args=[draft.pk]): [
            "VENCLEXTA (venetoclax), informazioni di prescrizione statunitensi (USPI)",
            "Azacitidina",  # the partner drug, from the label rules' translations
        ],
        reverse("requests:detail", args=[awaiting.pk]): [
            "La registrazione nel registro di monitoraggio AIFA non ha avuto risposta 7 giorni",
        ],
        reverse("requests:detail", args=[treated.pk]): [
            "la rete nazionale di farmacovigilanza",  # the reporting reminder
        ],
        reverse("pharmacy:request", args=[treated.pk]): ["€ "],
        reverse("regulatory:step-pathway", args=[draft.pk]): [
            "Inclusione, come pubblicata: età > 75 anni",
            "Interpretazione:",
        ],
        reverse("regulatory:rules"): ["Italia", "Regno Unito", "Fondo AIFA 5% (Legge 326/2003"],
    }
    for url, texts in expected.items():
        for text in texts:
            assert text in shown.get(url, ""), (url, text)
    if report := os.environ.get("OFFLABEL_SWEEP_REPORT"):  # the whole list, for whoever fixes it
        Path(report).write_text("\n".join(sorted(set(problems))), encoding="utf-8")
    assert not problems, f"{len(problems)} leaks:\n" + "\n".join(sorted(set(problems)))


# --- The data carries its translations ---------------------------------------------------------


def _rules_data() -> dict[str, Any]:
    return json.loads(DATA_FILES[0].read_text(encoding="utf-8"))


def _write(tmp_path: Path, data: dict[str, Any], name: str = "rules.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def _untranslated(value: Any) -> Any:
    """``value`` as the data was before it carried translations."""
    if isinstance(value, dict):
        return {k: _untranslated(v) for k, v in value.items() if k != "i18n"}
    if isinstance(value, list):
        return [_untranslated(v) for v in value]
    return value


def test_the_loader_gives_versions_items_and_deadlines_their_translations(
    rules, studies, physician
):
    from offlabel.i18n import localized
    from regulatory.models import DeadlineRule, Jurisdiction, PathwayVersion

    version = PathwayVersion.objects.get(pathway__code="it_law_648", is_current=True)
    italian_name = "Elenco della Legge 648/1996 (rimborsato dal SSN)"
    assert version.translations["it"]["name"] == italian_name
    assert localized(version, "name", language="it") == italian_name
    assert (
        localized(version, "name", language="en")
        == version.name
        == ("Law 648/1996 list (reimbursed by the SSN)")
    )
    assert str(version) == "Law 648/1996 list (reimbursed by the SSN) (v1)"  # the record
    with translation.override("it"):
        assert version.label == f"{italian_name} (v1)"
    assert "NON CONFERMAT" in version.translations["it"]["legal_source"]
    criterion = next(c for c in version.criteria if c["code"] == "inclusion")
    assert criterion["i18n"]["it"]["text"].startswith("Inclusione, come pubblicata")
    assert criterion["rule"]["i18n"]["it"]["because"].startswith("verificare sulla lista")
    assert "wording" in criterion and "wording" not in criterion["i18n"]["it"]  # a quote
    assert Jurisdiction.objects.get(code="GB").translations == {"it": {"name": "Regno Unito"}}
    deadline = DeadlineRule.objects.get(code="ec_informs_aifa")
    assert localized(deadline, "text", language="it").startswith("Il comitato etico informa")

    request = _it_request(physician)
    pathway_choose(actor=physician, request=request, pathway_code="it_law_648")
    item = request.checklist.get(code="registry_enrolment")
    assert item.text == "Enrolment of the patient in the AIFA monitoring registry (PDF)"
    assert localized(item, "text", language="it") == (
        "Registrazione del paziente nel registro di monitoraggio AIFA (PDF)"
    )
    # The routing a request keeps is the English record, whatever language chose it.
    assert request.pathway_choice.routing_snapshot["assessments"][0]["name"] == version.name


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda it: it.pop("name"), "no translation"),
        (lambda it: it.update(name="Elenco della Legge 649/1996"), "numbers differ"),
        (
            lambda it: it.update(legal_source=it["legal_source"].replace("NON CONFERMAT", "")),
            "UNCONFIRMED",
        ),
        (lambda it: it.update(wording="tradotto"), "no English text"),
    ],
)
def test_a_rules_file_with_a_missing_or_unfaithful_translation_is_refused(
    tmp_path, db, spoil, message
):
    from offlabel.i18n import TranslationsInvalid
    from regulatory.loader import rules_load
    from regulatory.models import PathwayVersion

    data = _rules_data()
    spoil(data["pathways"][0]["i18n"]["it"])
    with pytest.raises(TranslationsInvalid, match=message):
        rules_load(path=_write(tmp_path, data))
    assert not PathwayVersion.objects.exists()  # refused whole, before anything is written


def test_a_criterion_without_its_translation_is_refused(tmp_path, db):
    from offlabel.i18n import TranslationsInvalid
    from regulatory.loader import rules_load

    data = _rules_data()
    del data["pathways"][1]["checklist"][2]["i18n"]
    with pytest.raises(TranslationsInvalid, match=r"it_law_94_98\.checklist\."):
        rules_load(path=_write(tmp_path, data))


def test_translations_arriving_later_update_the_loaded_version_in_place(studies, physician):
    """A database loaded before the file carried translations gets them without a new version
    or a rule-change notice, and the checklists already built gain their Italian."""
    from audit.models import AuditEvent
    from offlabel.i18n import localized
    from regulatory.loader import rules_load
    from regulatory.models import ChecklistItem, PathwayVersion

    rules_load()
    request = _it_request(physician)
    pathway_choose(actor=physician, request=request, pathway_code="it_law_648")
    # The database as the rules file before issue 15 left it: no translations anywhere.
    for version in PathwayVersion.objects.all():
        PathwayVersion.objects.filter(pk=version.pk).update(
            translations={},
            criteria=_untranslated(version.criteria),
            checklist=_untranslated(version.checklist),
        )
    ChecklistItem.objects.update(translations={})
    item = request.checklist.get(code="registry_enrolment")
    assert localized(item, "text", language="it") == item.text  # English, for now
    versions = PathwayVersion.objects.count()

    report = rules_load()
    assert PathwayVersion.objects.count() == versions and not report.new_versions
    assert "it_law_648" in report.translated
    version = PathwayVersion.objects.get(pathway__code="it_law_648", is_current=True)
    assert version.version == 1 and version.translations["it"]["name"].startswith("Elenco")
    item.refresh_from_db()
    assert localized(item, "text", language="it").startswith("Registrazione del paziente")
    assert AuditEvent.objects.filter(action="pathway.translations_loaded").exists()
    assert not AuditEvent.objects.filter(action="pathway.national_rules_changed").exists()
    assert rules_load().translated == []  # a second run has nothing to do


def test_a_stewards_edit_keeps_the_translations_of_what_it_did_not_change(rules, rule_steward):
    from offlabel.i18n import localized
    from regulatory.models import Pathway
    from regulatory.services import pathway_version_edit

    pathway = Pathway.objects.get(code="gb_gmc_off_label")
    current = pathway.current_version()
    assert current is not None
    # What an editor may send back: the items without their "i18n", one text reworded.
    checklist = [{k: v for k, v in item.items() if k != "i18n"} for item in current.checklist]
    checklist[0]["text"] = "The individual assessment, recorded, shows the use serves this patient"
    new = pathway_version_edit(
        actor=rule_steward,
        pathway=pathway,
        changes={"checklist": checklist, "summary": current.summary + " (Reworded.)"},
        change_note="Reworded one item (test).",
    )
    assert new.version == current.version + 1
    first, second = new.checklist[0], new.checklist[1]
    # Its English changed: the old Italian would say something else, so it goes (its source,
    # unchanged, keeps its translation).
    assert "text" not in first["i18n"]["it"] and "source" in first["i18n"]["it"]
    assert localized(first, "text", language="it") == first["text"]
    assert localized(second, "text", language="it") == current.checklist[1]["i18n"]["it"]["text"]
    assert localized(new, "name", language="it") == "Prescrizione off-label (linee guida GMC)"
    assert localized(new, "summary", language="it") == new.summary  # reworded: English
    assert current.translations["it"]["summary"] != new.summary


def test_label_rules_carry_their_translations_and_a_new_one_makes_no_new_version(tmp_path, db):
    from pharmacy.models import LabelRuleSet
    from pharmacy.rules import (
        LABEL_RULES_FILE,
        RulesInvalid,
        label_rules_current,
        label_rules_load,
        label_rules_typed,
    )

    first = label_rules_load()
    rules = label_rules_typed(label_rules_current())
    partner = rules.partners["azacitidine"]
    with translation.override("it"):
        assert str(partner.drug_title) == "Azacitidina" and partner.drug_title.english == (
            "Azacitidine"
        )
        assert rules.source_title("uspi").startswith("VENCLEXTA (venetoclax), informazioni")
    with translation.override("en"):
        assert rules.source_title("uspi").startswith("VENCLEXTA (venetoclax) US prescribing")

    data = json.loads(LABEL_RULES_FILE.read_text(encoding="utf-8"))
    data["i18n"]["it"]["sources"]["uspi"] = "USPI di VENCLEXTA (venetoclax), da pagine pubbliche"
    again = label_rules_load(path=_write(tmp_path, data, "label_rules.json"))
    assert again.version == first.version and not again.created
    assert LabelRuleSet.objects.count() == 1
    with translation.override("it"):
        current = label_rules_typed(label_rules_current())
        assert current.source_title("uspi") == "USPI di VENCLEXTA (venetoclax), da pagine pubbliche"

    del data["partners"]["ldac"]["i18n"]
    with pytest.raises(RulesInvalid, match=r"partners\.ldac"):
        label_rules_load(path=_write(tmp_path, data, "label_rules.json"))


def test_the_pharmacovigilance_network_is_shown_in_the_readers_language(
    client, db, physician, studies, rules, pharmacist
):
    from followup.models import PharmacovigilanceReminder

    _treated_with_adverse_event(physician, pharmacist)
    reminder = PharmacovigilanceReminder.objects.get()
    assert "the national pharmacovigilance network" in reminder.message  # the English record
    client.force_login(pharmacist)
    italian(client)
    registry = html.unescape(
        italian_text(client.get(reverse("followup:registry")).content.decode())
    )
    assert "la rete nazionale di farmacovigilanza (RNF dell'AIFA" in registry
    assert "gli operatori sanitari segnalano ogni sospetta reazione avversa" in registry  # source
    assert "national pharmacovigilance network" not in registry
