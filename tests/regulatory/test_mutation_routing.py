"""Routing behaviour the mutation run of regulatory/routing.py found unpinned.

The legal order and the criteria are those of ``regulatory/data/rules.json``: Italy's pathways
in order Law 648/1996 (1), Law 94/98 (2), the AIFA 5% fund (3), DM 7/9/2017 (4); Germany's
G-BA Annex VI check is always "unknown — verify" (its entry is UNCONFIRMED).
"""

from __future__ import annotations

from typing import Any

import pytest

from prescriptions.services import patient_create, request_create
from regulatory.routing import APPLIES, NOT_APPLICABLE, POSSIBLE, VERIFY, Routing, route
from tests.prescriptions.conftest import REGIMEN
from tests.regulatory.conftest import LISTING_648

# A patient on VEN + HMA before: Law 648's prior-HMA exclusion is "verify" (Gazzetta
# 26608/2022 amended the listing; the current text is unconfirmed).
ON_VEN_HMA: dict[str, Any] = {
    **LISTING_648,
    "prior_azacitidine": "yes",
    "azacitidine_cycles": 4,
    "prior_venetoclax": "yes",
    "prior_hma_with_venetoclax": "yes",
}


def _only_one_recommended(routing: Routing) -> None:
    assert [a.pathway_code for a in routing.assessments if a.recommended] == [
        routing.recommended.pathway_code if routing.recommended else None
    ]


def test_only_the_first_applicable_pathway_in_the_legal_order_is_recommended(make_request):
    """rules.json: Italy's order is it_law_648 (1), it_law_94_98 (2), it_aifa_5_fund (3),
    it_dm_7_9_2017 (4); a patient meeting the 648 listing meets the later ones too."""
    routing = route(make_request(LISTING_648))
    assert [a.pathway_code for a in routing.assessments] == [
        "it_law_648",
        "it_law_94_98",
        "it_aifa_5_fund",
        "it_dm_7_9_2017",
    ]
    assert all(a.status == APPLIES for a in routing.assessments)
    _only_one_recommended(routing)
    law_648 = routing.by_code("it_law_648")
    assert law_648.why == (
        "Recommended: the first pathway in the legal order whose criteria all hold."
    )
    for later in routing.assessments[1:]:
        assert not later.recommended
        assert later.why == (
            f"Also applies, but ranks lower: {law_648.name} comes first in the legal order."
        )


def test_a_pathway_refused_by_one_criterion_cannot_apply_even_with_other_data_missing(
    make_request,
):
    """rules.json it_law_648 "no_prior_hma": prior azacitidine/decitabine excludes the patient;
    an unknown transplant eligibility does not make the pathway merely possible."""
    profile = {
        **LISTING_648,
        "prior_azacitidine": "yes",
        "azacitidine_cycles": 6,
        "transplant_eligible": "unknown",
    }
    routing = route(make_request(profile))
    law_648 = routing.by_code("it_law_648")
    assert law_648.status == NOT_APPLICABLE
    assert not law_648.recommended
    assert law_648.why.startswith("Cannot apply: ")
    assert "prior azacitidine or decitabine: yes" in law_648.why
    assert routing.recommended.pathway_code == "it_law_94_98"


def test_a_possible_648_ranks_after_a_later_pathway_that_applies_and_says_why(make_request):
    """A pathway whose criteria may hold once the unknowns are recorded comes after one whose
    criteria all hold (routing: "failing that, the first that may hold")."""
    profile = {
        **LISTING_648,
        "transplant_eligible": "unknown",
        "fit_for_intensive_chemo": "unknown",
    }
    routing = route(make_request(profile))
    law_648 = routing.by_code("it_law_648")
    assert law_648.status == POSSIBLE and not law_648.recommended
    recommended = routing.recommended
    assert recommended is not None and recommended.pathway_code == "it_law_94_98"
    assert recommended.status == APPLIES
    _only_one_recommended(routing)
    assert law_648.why.startswith("Ranks lower: ")
    assert "transplant eligibility is not recorded" in law_648.why
    assert law_648.why.endswith(f"(and {recommended.name} applies).")


def test_when_nothing_applies_the_first_possible_pathway_is_recommended(physician, studies, rules):
    """No written rationale (rules.json: 'rationale_documented' for Law 94/98, the 5% fund and
    DM 7/9/2017) and no phase II trial: only Law 648 may still hold, once the missing
    fitness for intensive induction and transplant eligibility are recorded."""
    patient = patient_create(
        actor=physician,
        profile={
            **LISTING_648,
            "transplant_eligible": "unknown",
            "fit_for_intensive_chemo": "unknown",
        },
    )
    request = request_create(
        actor=physician,
        patient=patient,
        fields={**REGIMEN, "jurisdiction": "IT", "clinical_rationale": ""},
    )
    routing = route(request)
    statuses = {a.pathway_code: a.status for a in routing.assessments}
    assert statuses == {
        "it_law_648": POSSIBLE,
        "it_law_94_98": NOT_APPLICABLE,
        "it_aifa_5_fund": NOT_APPLICABLE,
        "it_dm_7_9_2017": NOT_APPLICABLE,
    }
    recommended = routing.recommended
    assert recommended is not None and recommended.pathway_code == "it_law_648"
    _only_one_recommended(routing)
    assert recommended.why == (
        "Recommended: the first pathway in the legal order whose criteria may hold once the "
        "unknown data are recorded."
    )


def test_a_648_to_verify_is_recommended_before_a_later_pathway_that_applies(make_request):
    """regulatory-pathways-brief / rules.json: the prior-HMA exclusion of Law 648 is to verify
    for a patient given HMA with venetoclax; Law 648 ranks first in the legal order."""
    routing = route(make_request(ON_VEN_HMA))
    law_648 = routing.by_code("it_law_648")
    assert law_648.status == VERIFY and law_648.recommended
    _only_one_recommended(routing)
    assert law_648.why.startswith("Unknown — verify against the current listing: recommended")
    assert "26608/2022" in law_648.why
    law_94 = routing.by_code("it_law_94_98")
    assert law_94.status == APPLIES and not law_94.recommended
    assert law_94.why == (
        f"Also applies, but ranks lower: {law_648.name} comes first in the legal order."
    )


def test_a_648_to_verify_with_data_missing_is_only_possible(make_request):
    """A status is "verify" only when every unknown is one to verify against the official
    text; a missing datum (fitness, transplant eligibility) must be recorded first."""
    profile = {
        **ON_VEN_HMA,
        "transplant_eligible": "unknown",
        "fit_for_intensive_chemo": "unknown",
    }
    law_648 = route(make_request(profile)).by_code("it_law_648")
    assert law_648.status == POSSIBLE
    assert any(c.result == "unknown" and not c.verify for c in law_648.criteria)


def test_a_later_pathway_to_verify_names_the_recommended_one_it_ranks_after(make_request):
    """rules.json de_gba_annex_vi: "whether Annex VI has an entry for venetoclax in R/R AML is
    UNCONFIRMED: check the current G-BA drug directive" — always to verify; Germany's order is
    de_amhv_hardship (1), de_gkv_cost_coverage (2), de_gba_annex_vi (3)."""
    routing = route(make_request(jurisdiction="DE"))
    recommended = routing.recommended
    assert recommended is not None and recommended.pathway_code == "de_gkv_cost_coverage"
    assert routing.by_code("de_amhv_hardship").status == NOT_APPLICABLE
    annex = routing.by_code("de_gba_annex_vi")
    assert annex.status == VERIFY and not annex.recommended
    _only_one_recommended(routing)
    assert annex.why.startswith("Unknown — verify against the current listing: ")
    assert "Annex VI" in annex.why
    assert annex.why.endswith(f"(ranks after {recommended.name}).")


@pytest.mark.parametrize("jurisdiction", ["IT", "FR", "DE", "ES", "GB", "US"])
def test_every_pathway_that_cannot_apply_gives_each_unmet_criterion(make_request, jurisdiction):
    routing = route(make_request(jurisdiction=jurisdiction))
    _only_one_recommended(routing)
    for assessment in routing.assessments:
        if assessment.status == NOT_APPLICABLE:
            assert not assessment.recommended
            for criterion in assessment.unmet:
                assert f"{criterion.text} — {criterion.because}" in assessment.why
        data = routing.as_data()
        assert data["jurisdiction"] == jurisdiction
        assert len(data["assessments"]) == len(routing.assessments)
