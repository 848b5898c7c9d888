from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from accounts.roles import Role
from evidence.models import Study
from prescriptions.services import evidence_attach, patient_create, request_create
from tests.factories import UserFactory
from tests.prescriptions.conftest import COMPLETE_PROFILE, REGIMEN

# Meets the Law 648 listing as published: R/R after one salvage therapy, transplant eligible,
# under 71, no prior azacitidine/decitabine, partner azacitidine, and not judged fit for
# intensive induction (the published exclusion applies to both inclusion branches).
LISTING_648: dict[str, Any] = {
    **COMPLETE_PROFILE,
    "age_years": 64,
    "prior_lines": 2,
    "disease_status": "second_or_later_relapse",
    "transplant_eligible": "yes",
    "fit_for_intensive_chemo": "no",
    "prior_azacitidine": "no",
    "prior_decitabine": "no",
}


@pytest.fixture
def secretary(hospital):
    return UserFactory.create(
        username="sec.committee", hospital=hospital, role=Role.COMMITTEE_SECRETARY
    )


@pytest.fixture
def officer(hospital):
    return UserFactory.create(
        username="reg.officer", hospital=hospital, role=Role.REGULATORY_OFFICER
    )


@pytest.fixture
def make_request(physician, studies, rules):
    def make(
        profile: dict[str, Any] | None = None,
        *,
        jurisdiction: str = "IT",
        regimen: str = "azacitidine",
        study_refs: tuple[int, ...] = (63,),
    ):
        patient = patient_create(actor=physician, profile=profile or COMPLETE_PROFILE)
        request = request_create(
            actor=physician,
            patient=patient,
            fields={**REGIMEN, "jurisdiction": jurisdiction, "regimen": regimen},
        )
        for ref in study_refs:
            evidence_attach(
                actor=physician, request=request, study=Study.objects.get(reference=ref)
            )
        request.refresh_from_db()
        return request

    return make


__all__ = ["Decimal"]
