"""Issue 13, section 3: the rules as published (Gazzetta Ufficiale text of determina 21A07652),
the 2022 amendment as "verify", the conditions of the Provvedimento 20-7-2000, the deadlines of
§13 Abs. 3a SGB V and of the 5% Fund, and the routes that were missing."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.urls import reverse

from consent.services import consent_render, consent_request, consent_sign
from prescriptions.services import patient_identity_set
from regulatory.loader import RULES_FILE
from regulatory.models import PathwayVersion
from regulatory.reminders import reminders_raise
from regulatory.routing import APPLIES, NOT_APPLICABLE, POSSIBLE, VERIFY, route
from regulatory.services import (
    application_create,
    application_step,
    checklist_unmet,
    pathway_choose,
)
from tests.prescriptions.conftest import COMPLETE_PROFILE, IDENTITY
from tests.regulatory.conftest import LISTING_648

DATA = json.loads(RULES_FILE.read_text(encoding="utf-8"))
BRIEF = RULES_FILE.parent / "regulatory-pathways-brief.md"
SHARED_BRIEF = Path(__file__).resolve().parents[3] / "shared" / "domain" / "regulatory-pathways.md"

# Already treated and responding on VEN + azacitidine (through the 5% Fund or off-label).
ON_VEN_HMA: dict[str, Any] = {
    **LISTING_648,
    "prior_azacitidine": "yes",
    "azacitidine_cycles": 4,
    "prior_venetoclax": "yes",
    "prior_hma_with_venetoclax": "yes",
}


def _folded(text: str) -> str:
    return " ".join(text.split())


def _with_wording(node: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found = []
    if isinstance(node, dict):
        if "wording" in node:
            found.append((path, node))
        for key, value in node.items():
            found += _with_wording(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _with_wording(value, f"{path}[{i}]")
    return found


def _current(code: str) -> PathwayVersion:
    return PathwayVersion.objects.get(pathway__code=code, is_current=True)


def _sign_consent(request, physician) -> None:
    patient_identity_set(actor=physician, patient=request.patient, identity=IDENTITY)
    form = consent_render(consent_request(actor=physician, request=request, language="it").pk)
    consent_sign(actor=physician, document=form, method="on_screen")


# --- The quotes ----------------------------------------------------------------------------------


def test_the_stored_brief_is_the_domain_brief_with_the_gazzetta_text():
    if SHARED_BRIEF.exists():  # beside the project on a developer's machine
        assert BRIEF.read_text(encoding="utf-8") == SHARED_BRIEF.read_text(encoding="utf-8")
    assert "10-day decitabine is NOT the listed schedule" in BRIEF.read_text(encoding="utf-8")


def test_every_wording_is_quoted_from_the_brief_and_unconfirmed_text_is_marked_unconfirmed():
    brief = _folded(BRIEF.read_text(encoding="utf-8"))
    checked = 0
    for path, rule in _with_wording(DATA):
        if rule["wording"].startswith("Not in the domain brief"):
            # Only a recommendation or an unconfirmed rule may rest on another source.
            assert rule.get("required") is False or rule.get("confirmed") is False, path
            continue
        for fragment in rule["wording"].split(" … "):
            assert _folded(fragment.rstrip(".")) in brief, f"{path}: {fragment!r}"
            checked += 1
        if "UNCONFIRMED" in rule["wording"] and "confirmed" in rule:
            assert rule["confirmed"] is False, f"{path}: quotes UNCONFIRMED text"
    assert checked >= 40


def test_every_criterion_and_checklist_item_of_every_pathway_quotes_its_source():
    for pathway in DATA["pathways"]:
        for rule in pathway["criteria"] + pathway["checklist"]:
            assert rule.get("wording"), f"{pathway['code']}.{rule['code']} has no wording"


def test_every_law_648_rule_and_every_new_rule_quotes_its_source():
    pathways = {p["code"]: p for p in DATA["pathways"]}
    for code in ("it_law_648", "fr_aap", "de_gba_annex_vi", "gb_nhs_dtc_ifr"):
        for rule in pathways[code]["criteria"] + pathways[code]["checklist"]:
            assert rule.get("wording"), f"{code}.{rule['code']} has no quoted wording"
    for code, rule_code in (
        ("it_dm_7_9_2017", "consent_signed"),
        ("fr_off_label_no_cpc", "nr_mention"),
        ("fr_off_label_no_cpc", "patient_informed"),
        ("gb_gmc_off_label", "yellow_card"),
        ("de_gkv_cost_coverage", "gba_annex_vi_checked"),
        ("es_rd_1015_2009", "no_authorised_alternative"),
    ):
        items = pathways[code]["checklist"] + pathways[code]["criteria"]
        assert all(i.get("wording") for i in items if i["code"] == rule_code), (code, rule_code)
    deadlines = {d["code"]: d for d in DATA["deadlines"]}
    for code in ("aifa_fund_monthly_cutoff_initial", "insurer_answer_awaited_initial"):
        assert deadlines[code]["wording"]


# --- Law 648: routing ----------------------------------------------------------------------------


def test_ten_day_decitabine_is_outside_the_648_listing_and_the_reason_is_given(make_request):
    routing = route(make_request(LISTING_648, regimen="decitabine_10"))
    law_648 = routing.by_code("it_law_648")
    assert law_648.status == NOT_APPLICABLE
    assert "10-day decitabine is not the listed schedule" in law_648.why
    assert "VEN + decitabine 10-day" in law_648.why  # the regimen by its label (issue 15)
    assert "decitabine_10" not in law_648.why
    assert routing.recommended.pathway_code != "it_law_648"
    five_days = route(make_request(LISTING_648, regimen="decitabine_5"))
    assert five_days.recommended.pathway_code == "it_law_648"
    assert five_days.recommended.status == APPLIES


def test_prior_azacitidine_without_venetoclax_excludes_the_patient_from_648(make_request):
    profile = {**LISTING_648, "prior_azacitidine": "yes", "azacitidine_cycles": 6}
    law_648 = route(make_request(profile)).by_code("it_law_648")
    assert law_648.status == NOT_APPLICABLE
    assert "prior treatment with azacitidine or decitabine" in law_648.why
    assert "prior azacitidine or decitabine: yes" in law_648.why


def test_a_patient_fit_for_intensive_induction_is_excluded_from_648(make_request):
    profile = {**LISTING_648, "fit_for_intensive_chemo": "yes"}
    law_648 = route(make_request(profile)).by_code("it_law_648")
    assert law_648.status == NOT_APPLICABLE
    assert "fit for intensive induction chemotherapy" in law_648.why


def test_prior_hma_given_with_venetoclax_is_unknown_verify_never_cannot_apply(make_request):
    routing = route(make_request(ON_VEN_HMA))
    law_648 = routing.by_code("it_law_648")
    assert law_648.status == VERIFY
    assert law_648.recommended  # first in the legal order, to verify before following it
    assert "verify against the current listing" in law_648.why.lower()
    excluded_as_published = next(c for c in law_648.criteria if c.code == "no_prior_hma")
    assert excluded_as_published.result == "unknown" and excluded_as_published.verify
    assert "26608/2022" in excluded_as_published.because
    # Also when a published exclusion of the amended criteria would refuse the patient.
    fit = route(make_request({**ON_VEN_HMA, "fit_for_intensive_chemo": "yes"}))
    assert fit.by_code("it_law_648").status == VERIFY


def test_a_missing_answer_on_hma_with_venetoclax_asks_for_it_rather_than_refusing(make_request):
    profile = {
        **LISTING_648,
        "prior_azacitidine": "yes",
        "prior_venetoclax": "unknown",
        "prior_hma_with_venetoclax": "unknown",
    }
    law_648 = route(make_request(profile)).by_code("it_law_648")
    assert law_648.status == POSSIBLE
    assert "given together with venetoclax is not recorded" in law_648.why


def test_the_routing_api_and_page_say_verify_for_a_patient_on_ven_hma(
    make_request, physician, api_client, client
):
    request = make_request(ON_VEN_HMA)
    api_client.force_authenticate(physician)
    data = api_client.get(f"/api/v1/requests/{request.pk}/routing/").json()
    law_648 = next(a for a in data["assessments"] if a["pathway_code"] == "it_law_648")
    assert law_648["status"] == "verify" and law_648["recommended"]
    criterion = next(c for c in law_648["criteria"] if c["code"] == "no_prior_hma")
    assert criterion["verify"] and "prior treatment with azacitidine" in criterion["wording"]
    client.force_login(physician)
    page = client.get(reverse("regulatory:step-pathway", args=[request.pk])).content.decode()
    law_648_block = page.split('<div class="assessment ')[1]
    assert "Law 648/1996" in law_648_block
    assert "unknown — verify against the current listing" in law_648_block
    assert '<span class="badge added">cannot apply</span>' not in law_648_block


def test_the_profile_records_whether_prior_hma_was_given_with_venetoclax(
    api_client, physician, studies, rules
):
    api_client.force_authenticate(physician)
    created = api_client.post(
        "/api/v1/patients/",
        {
            **{k: str(v) if v is not None else None for k, v in COMPLETE_PROFILE.items()},
            "prior_hma_with_venetoclax": "yes",
            "identity": {  # required since issue 15
                "given_name": "Zebulina",
                "family_name": "Inventatissima",
                "date_of_birth": "1958-03-14",
            },
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["prior_hma_with_venetoclax"] == "yes"


# --- Law 648 and DM 7-9-2017: checklists ---------------------------------------------------------


def test_the_648_checklist_has_the_conditions_of_arts_4_5_and_6(make_request, physician):
    request = make_request(LISTING_648)
    pathway_choose(actor=physician, request=request, pathway_code="it_law_648")
    items = {i.code: i for i in request.checklist.all()}
    consent = items["consent_signed"]
    assert consent.required and consent.kind == "automatic" and "art. 5" in consent.source
    for code in ("registry_enrolment", "monitoring_data", "suspensions_reported"):
        assert items[code].required and "art. 4" in items[code].source
    assert items["registry_enrolment"].kind == "document"
    spending = items["spending_data"]
    assert spending.required and "art. 6" in spending.source
    assert "75 mg/m² days 1–7" in items["listed_schedule"].text
    assert "20 mg/m² days 1–5" in items["listed_schedule"].text
    assert any(u.startswith(consent.text) for u in checklist_unmet(request))
    _sign_consent(request, physician)
    assert not any(u.startswith(consent.text) for u in checklist_unmet(request))


def test_dm_7_9_2017_requires_the_signed_consent(make_request, physician):
    request = make_request({**LISTING_648, "prior_azacitidine": "yes"})
    pathway_choose(
        actor=physician,
        request=request,
        pathway_code="it_dm_7_9_2017",
        reason="The company offered free supply for this patient.",
    )
    consent = request.checklist.get(code="consent_signed")
    assert consent.required
    assert any(u.startswith(consent.text) for u in checklist_unmet(request))
    _sign_consent(request, physician)
    assert not any(u.startswith(consent.text) for u in checklist_unmet(request))


# --- Deadlines -----------------------------------------------------------------------------------


def _raise_on(day: date):
    with time_machine.travel(day, tick=False):
        return reminders_raise()


@pytest.mark.parametrize(
    ("prepared", "due"),
    [(date(2027, 3, 20), date(2027, 4, 9)), (date(2027, 1, 31), date(2027, 2, 9))],
)
def test_the_5_percent_fund_reminder_falls_before_the_10th_of_the_next_month(
    make_request, pharmacist, rules, prepared, due
):
    with time_machine.travel(prepared, tick=False):
        application_create(
            actor=pharmacist, request=make_request(), body="aifa", prepared_at=prepared
        )
    assert not [r for r in _raise_on(due - timedelta(days=1)) if "Fondo" in r.rule.text]
    (cutoff,) = [r for r in _raise_on(due) if r.rule.code.startswith("aifa_fund_monthly")]
    assert cutoff.due_on == due and cutoff.due_on < due.replace(day=10)
    assert "before the 10th of the month after it was prepared" in cutoff.message
    assert not cutoff.rule.confirmed  # the cut-off itself is UNCONFIRMED


def test_the_german_insurer_decides_within_3_weeks_or_5_with_the_medizinischer_dienst(
    make_request, pharmacist, rules
):
    start = date(2027, 5, 3)
    request = make_request(LISTING_648, jurisdiction="DE")
    with time_machine.travel(start, tick=False):
        application = application_create(
            actor=pharmacist, request=request, body="insurer", prepared_at=start
        )
        application_step(actor=pharmacist, application=application, step="submit", on=start)
    assert _raise_on(start + timedelta(days=20)) == []
    (three_weeks,) = _raise_on(start + timedelta(weeks=3))
    assert three_weeks.rule.confirmed and three_weeks.rule.source == "§13 Abs. 3a SGB V"
    assert "3 weeks" in three_weeks.message and "hospital default" not in three_weeks.message
    assert _raise_on(start + timedelta(days=34)) == []
    (five_weeks,) = _raise_on(start + timedelta(weeks=5))
    assert five_weeks.rule.confirmed and "Medizinischer Dienst" in five_weeks.message
    assert "5 weeks" in five_weeks.message


# --- The routes that were missing ----------------------------------------------------------------


def test_france_lists_the_aap_as_not_applicable_with_its_reason(make_request, physician):
    request = make_request(jurisdiction="FR")
    routing = route(request)
    aap = routing.by_code("fr_aap")
    assert aap.status == NOT_APPLICABLE and not aap.confirmed
    assert "applied for or committed to" in aap.why
    assert routing.recommended.pathway_code == "fr_off_label_no_cpc"
    pathway_choose(actor=physician, request=request, pathway_code="fr_off_label_no_cpc")
    items = {i.code: i for i in request.checklist.all()}
    assert items["nr_mention"].required and "CSS L162-4" in items["nr_mention"].source
    informed = items["patient_informed"].text
    for duty in ("off-label", "absence of an appropriate alternative", "risks", "coverage"):
        assert duty in informed


def test_the_united_kingdom_lists_the_trust_committee_and_ifr_route_and_the_yellow_card(
    make_request, physician
):
    request = make_request(jurisdiction="GB")
    routing = route(request)
    trust = routing.by_code("gb_nhs_dtc_ifr")
    assert trust is not None and trust.status == APPLIES
    assert routing.recommended.pathway_code == "gb_gmc_off_label"
    pathway_choose(
        actor=physician,
        request=request,
        pathway_code="gb_nhs_dtc_ifr",
        reason="High-cost drug in an NHS trust: the committee must approve.",
    )
    items = {i.code: i for i in request.checklist.all()}
    assert items["dtc_approval"].kind == "document" and items["dtc_approval"].required
    assert "Individual Funding Request" in items["commissioning_checked"].text
    assert items["yellow_card"].required and "Yellow Card" in items["yellow_card"].text
    request.refresh_from_db()
    assert request.needs_outside_authorisation
    gmc = {i["code"]: i for i in _current("gb_gmc_off_label").checklist}
    assert gmc["yellow_card"]["required"]


def test_germany_lists_the_annex_vi_check_to_verify(make_request):
    routing = route(make_request(jurisdiction="DE"))
    annex = routing.by_code("de_gba_annex_vi")
    assert annex.status == VERIFY and not annex.confirmed
    assert "UNCONFIRMED" in annex.criteria[0].because
    assert routing.recommended.pathway_code == "de_gkv_cost_coverage"
    gkv = {i["code"]: i for i in _current("de_gkv_cost_coverage").checklist}
    assert gkv["gba_annex_vi_checked"]["required"]


def test_spain_has_no_authorised_alternative_as_its_own_criterion(make_request):
    spain = route(make_request(jurisdiction="ES")).by_code("es_rd_1015_2009")
    criterion = next(c for c in spain.criteria if c.code == "no_authorised_alternative")
    assert criterion.source == "RD 1015/2009 art. 13.1" and criterion.result == "met"
    checklist = {i["code"]: i for i in _current("es_rd_1015_2009").checklist}
    assert checklist["no_authorised_alternative"]["required"]


def test_the_rules_page_lists_every_new_route(client, officer, rules):
    client.force_login(officer)
    page = client.get(reverse("regulatory:rules")).content.decode()
    for name in (
        "AAP (autorisation d&#x27;accès précoce)",
        "NHS trust Drugs and Therapeutics Committee approval / Individual Funding Request",
        "Off-label use assessed in the G-BA drug directive (Annex VI)",
    ):
        assert name in page
