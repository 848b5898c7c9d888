from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from accounts.models import User
from accounts.roles import Role
from evidence.models import Study
from prescriptions.models import OffLabelRequest, Patient
from prescriptions.services import evidence_attach, patient_create, request_create
from tests.factories import UserFactory

COMPLETE_PROFILE: dict[str, Any] = {
    "age_years": 67,
    "sex": "female",
    "weight_kg": Decimal("64.0"),
    "height_cm": Decimal("162.0"),
    "aml_type": "de_novo",
    "disease_status": "first_relapse",
    "prior_lines": 1,
    "prior_azacitidine": "no",
    "prior_decitabine": "no",
    "prior_intensive_chemo": "yes",
    "prior_flt3_inhibitor": "no",
    "prior_venetoclax": "no",
    "prior_allo_transplant": "no",
    "eln_risk": "intermediate",
    "complex_karyotype": "no",
    "ecog": 1,
    "fit_for_intensive_chemo": "no",
    "transplant_eligible": "yes",
    "wbc_10e9_l": Decimal("4.2"),
    "anc_10e9_l": Decimal("0.9"),
    "platelets_10e9_l": Decimal("45"),
    "creatinine_clearance_ml_min": Decimal("78"),
    "hepatic_function": "normal",
}
IDENTITY = {
    "given_name": "Zebulina",
    "family_name": "Inventatissima",
    "date_of_birth": date(1958, 3, 14),
    "national_id": "ZZZINV58C54Z999X",
}
REGIMEN: dict[str, Any] = {
    "regimen": "azacitidine",
    "ven_target_dose_mg": Decimal("400"),
    "ramp_up": "hma_3_day",
    "cycles_planned": 4,
    "clinical_rationale": "First relapse after intensive induction; unfit for re-induction "
    "(ECOG 1, infections); no FLT3 mutation so gilteritinib does not apply.",
    "jurisdiction": "IT",
    "pathway": "Law 94/98",
}


@pytest.fixture
def other_physician(hospital) -> User:
    return UserFactory.create(username="dr.other", hospital=hospital, role=Role.PHYSICIAN)


@pytest.fixture
def foreign_physician(other_hospital) -> User:
    return UserFactory.create(username="dr.foreign", hospital=other_hospital, role=Role.PHYSICIAN)


@pytest.fixture
def foreign_pharmacist(other_hospital) -> User:
    return UserFactory.create(username="ph.foreign", hospital=other_hospital, role=Role.PHARMACIST)


@pytest.fixture
def patient(physician) -> Patient:
    return patient_create(
        actor=physician,
        profile=COMPLETE_PROFILE,
        mutations={"IDH2": "present", "TP53": "absent"},
        medications=[{"drug_name": "posaconazole", "interaction": "strong_cyp3a_inhibitor"}],
        identity=IDENTITY,
    )


@pytest.fixture
def draft(physician, patient, studies) -> OffLabelRequest:
    request = request_create(actor=physician, patient=patient, fields=REGIMEN)
    evidence_attach(
        actor=physician,
        request=request,
        study=Study.objects.get(reference=82),
        note="IDH-mutated subgroup responded",
        rank=1,
    )
    request.refresh_from_db()  # attaching bumped the version
    return request
