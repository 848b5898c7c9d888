"""Pathway routing: every criterion met / not met / unknown with the data that decided it."""

import pytest

from audit.models import AuditEvent
from offlabel.exceptions import ApplicationError
from regulatory.models import ChecklistItem, PathwayChoice
from regulatory.routing import APPLIES, NOT_APPLICABLE, POSSIBLE, route
from regulatory.services import pathway_choose
from tests.prescriptions.conftest import COMPLETE_PROFILE
from tests.regulatory.conftest import LISTING_648


def test_a_patient_who_meets_the_648_listing_is_routed_to_law_648(make_request):
    routing = route(make_request(LISTING_648))
    recommended = routing.recommended
    assert recommended is not None and recommended.pathway_code == "it_law_648"
    assert recommended.status == APPLIES
    assert all(c.result == "met" for c in recommended.criteria)
    assert any("prior azacitidine or decitabine: no" in c.because for c in recommended.criteria)
    assert not recommended.confirmed  # the 648 scope is UNCONFIRMED: users are told to verify


def test_the_elderly_or_unfit_branch_of_the_648_listing_also_routes_to_648(make_request):
    profile = {
        **COMPLETE_PROFILE,
        "age_years": 78,
        "prior_azacitidine": "no",
        "prior_decitabine": "no",
    }
    assert route(make_request(profile)).recommended.pathway_code == "it_law_648"


def test_prior_hma_sends_the_patient_to_law_94_98_and_says_why(make_request):
    profile = {**LISTING_648, "prior_azacitidine": "yes", "azacitidine_cycles": 6}
    routing = route(make_request(profile))
    assert routing.recommended.pathway_code == "it_law_94_98"
    law_648 = routing.by_code("it_law_648")
    assert law_648.status == NOT_APPLICABLE
    assert "prior azacitidine or decitabine: yes" in law_648.why
    alternatives = {
        a.pathway_code: a
        for a in routing.assessments
        if not a.recommended and a.status != NOT_APPLICABLE
    }
    assert {"it_aifa_5_fund", "it_dm_7_9_2017"} <= set(alternatives)
    assert all("ranks lower" in a.why.lower() for a in alternatives.values())


def test_partner_ldac_is_not_the_648_listing(make_request):
    routing = route(make_request(LISTING_648, regimen="ldac"))
    assert routing.recommended.pathway_code == "it_law_94_98"
    assert "partner regimen VEN + low-dose cytarabine" in routing.by_code("it_law_648").why


def test_unknown_names_the_missing_field(make_request):
    profile = {
        **LISTING_648,
        "transplant_eligible": "unknown",
        "fit_for_intensive_chemo": "unknown",
    }
    law_648 = route(make_request(profile)).by_code("it_law_648")
    assert law_648.status == POSSIBLE
    unknown = [c for c in law_648.criteria if c.result == "unknown"]
    assert unknown and "transplant eligibility is not recorded" in unknown[0].because


def test_without_phase_2_evidence_law_94_98_does_not_apply(make_request):
    routing = route(
        make_request({**COMPLETE_PROFILE, "prior_azacitidine": "yes"}, study_refs=(66,))
    )
    law_94 = routing.by_code("it_law_94_98")
    assert law_94.status == NOT_APPLICABLE
    assert "phase II trials attached 0" in law_94.why


def test_france_refuses_the_aac_because_venetoclax_has_a_marketing_authorisation(make_request):
    routing = route(make_request(jurisdiction="FR"))
    aac = routing.by_code("fr_aac")
    assert aac.status == NOT_APPLICABLE
    assert "marketing authorisation" in aac.why.lower()
    assert routing.recommended.pathway_code == "fr_off_label_no_cpc"
    assert routing.by_code("fr_cpc").status == NOT_APPLICABLE


@pytest.mark.parametrize("jurisdiction", ["DE", "ES", "GB", "US"])
def test_every_jurisdiction_has_a_recommendation(make_request, jurisdiction):
    assert route(make_request(jurisdiction=jurisdiction)).recommended is not None


def test_choosing_the_recommendation_builds_the_checklist_from_the_current_version(
    make_request, physician
):
    request = make_request(LISTING_648)
    pathway_choose(actor=physician, request=request, pathway_code="it_law_648")
    choice = PathwayChoice.objects.get(request=request)
    assert choice.followed_recommendation and choice.pathway_version.is_current
    items = ChecklistItem.objects.filter(request=request)
    assert [i.code for i in items] == [i["code"] for i in choice.pathway_version.checklist]
    request.refresh_from_db()
    assert request.needs_outside_authorisation == choice.pathway_version.needs_outside_authorisation
    assert AuditEvent.objects.filter(action="request.pathway_chosen").count() == 1


def test_another_applicable_pathway_needs_a_written_reason(make_request, physician):
    request = make_request(LISTING_648)
    with pytest.raises(ApplicationError, match="please write why"):
        pathway_choose(actor=physician, request=request, pathway_code="it_law_94_98")
    pathway_choose(
        actor=physician,
        request=request,
        pathway_code="it_law_94_98",
        reason="Registry enrolment would delay treatment beyond the window.",
    )
    event = AuditEvent.objects.get(action="request.pathway_chosen")
    assert (
        event.after["recommended"] == "it_law_648" and "Registry enrolment" in event.after["reason"]
    )
    assert "instead of the recommended" in event.summary


def test_a_pathway_that_cannot_apply_cannot_be_chosen(make_request, physician):
    request = make_request(jurisdiction="FR")
    with pytest.raises(ApplicationError, match="cannot apply"):
        pathway_choose(
            actor=physician, request=request, pathway_code="fr_aac", reason="want it anyway please"
        )
