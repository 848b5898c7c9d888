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
from regulatory.services import pathway_choose
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
    # The UK GMC pathway: every checklist item is an attestation and no outside body decides,
    # so the generic workflow tests can reach approval. Italy has its own tests.
    "jurisdiction": "GB",
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
        # No interacting drug, so the generic workflow tests pass the safety checks; the
        # interaction rules have their own tests (tests/pharmacy).
        medications=[{"drug_name": "aciclovir", "interaction": "none_known"}],
        identity=IDENTITY,
    )


@pytest.fixture
def draft(physician, patient, studies, rules) -> OffLabelRequest:
    request = request_create(actor=physician, patient=patient, fields=REGIMEN)
    evidence_attach(
        actor=physician,
        request=request,
        study=Study.objects.get(reference=82),
        note="IDH-mutated subgroup responded",
        rank=1,
    )
    request.refresh_from_db()  # attaching bumped the version
    pathway_choose(actor=physician, request=request, pathway_code="gb_gmc_off_label")
    request.refresh_from_db()
    return request


def checklist_complete(request: OffLabelRequest, *, sign_consent: bool = True) -> None:
    """Make a request approvable the way its users would: a signed consent form (rendered and
    signed on screen), every attestation by its attester (the prescriber for physician items,
    a pharmacist otherwise), and a real PDF for every document item."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from regulatory.services import checklist_attest, checklist_upload

    pharmacist = User.objects.filter(
        hospital=request.hospital, groups__name=Role.PHARMACIST
    ).first()
    assert pharmacist is not None, "the hospital needs a pharmacist to complete a checklist"
    if sign_consent:
        from consent.services import consent_render, consent_request, consent_sign

        document = consent_render(
            consent_request(actor=request.prescriber, request=request, language="en").pk
        )
        consent_sign(actor=request.prescriber, document=document, method="on_screen")
    for item in request.checklist.all():
        if item.kind == "attestation" and item.attested_by_id is None:
            actor = request.prescriber if "physician" in item.attesters else pharmacist
            checklist_attest(actor=actor, item=item, note="done (test)")
        elif item.kind == "document" and not item.document:
            pdf = SimpleUploadedFile(
                f"{item.code}.pdf", MINIMAL_PDF, content_type="application/pdf"
            )
            checklist_upload(actor=pharmacist, item=item, upload=pdf)


# A real, minimal, valid PDF document (one empty page).
MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"xref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n"
    b"0000000052 00000 n \n0000000101 00000 n \n"
    b"trailer<</Size 4/Root 1 0 R>>\nstartxref\n164\n%%EOF\n"
)
