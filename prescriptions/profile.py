"""What a complete clinical profile is, and the profile as plain data (for snapshots)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext

from prescriptions.models import Gene, Patient

# Fields a clinician must fill before submission; "unknown" is an answer for the
# yes/no/unknown questions, but these need a real value.
REQUIRED_FOR_SUBMISSION = (
    "age_years",
    "sex",
    "weight_kg",
    "height_cm",
    "aml_type",
    "disease_status",
    "prior_lines",
    "ecog",
    "wbc_10e9_l",
    "anc_10e9_l",
    "platelets_10e9_l",
    "creatinine_clearance_ml_min",
    "hepatic_function",
)
_UNANSWERED = {None, "", "unknown"}

PROFILE_FIELDS = (
    "age_years",
    "sex",
    "weight_kg",
    "height_cm",
    "aml_type",
    "disease_status",
    "prior_lines",
    "prior_azacitidine",
    "azacitidine_cycles",
    "prior_decitabine",
    "decitabine_cycles",
    "prior_intensive_chemo",
    "prior_flt3_inhibitor",
    "prior_venetoclax",
    "prior_hma_with_venetoclax",
    "prior_allo_transplant",
    "allo_transplant_date",
    "eln_risk",
    "complex_karyotype",
    "ecog",
    "fit_for_intensive_chemo",
    "transplant_eligible",
    "wbc_10e9_l",
    "anc_10e9_l",
    "platelets_10e9_l",
    "creatinine_clearance_ml_min",
    "hepatic_function",
    "peripheral_blasts_10e9_l",
    "marrow_blasts_percent",
    "high_marrow_burden",
    "ldh_u_l",
    "ldh_uln_u_l",
    "potassium_mmol_l",
    "potassium_status",
    "phosphate_mmol_l",
    "phosphate_status",
    "uric_acid_umol_l",
    "uric_acid_status",
    "calcium_mmol_l",
    "calcium_status",
)

# Tumour-lysis risk and the chemistry to correct before the first dose: one group on the page.
TLS_CHEMISTRY_FIELDS = PROFILE_FIELDS[PROFILE_FIELDS.index("peripheral_blasts_10e9_l") :]


def field_label(name: str) -> str:
    field = Patient._meta.get_field(name)
    return str(getattr(field, "verbose_name", name))


def profile_missing(patient: Patient) -> list[str]:
    """Labels of the fields still missing for submission (empty list: complete)."""
    missing = [
        field_label(name)
        for name in REQUIRED_FOR_SUBMISSION
        if getattr(patient, name) in _UNANSWERED
    ]
    if patient.prior_allo_transplant == "yes" and patient.allo_transplant_date is None:
        missing.append(field_label("allo_transplant_date"))
    if (
        patient.disease_status == Patient.DiseaseStatus.RELAPSE_AFTER_ALLO
        and patient.prior_allo_transplant != "yes"
    ):
        missing.append(
            gettext("prior allogeneic transplant (the disease status says relapse after one)")
        )
    recorded = {m.gene for m in patient.mutations.all()}
    if not_recorded := [g.label for g in Gene if g.value not in recorded]:
        missing.append(gettext("mutation status of %(genes)s") % {"genes": ", ".join(not_recorded)})
    return missing


def profile_as_data(patient: Patient) -> dict[str, Any]:
    """The profile as JSON-ready data: what a request freezes at submission."""
    data: dict[str, Any] = {"pseudonym": patient.pseudonym}
    for name in PROFILE_FIELDS:
        value = getattr(patient, name)
        data[name] = value if value is None or isinstance(value, int | str) else str(value)
    data["bsa_m2"] = str(patient.bsa_m2) if patient.bsa_m2 is not None else None
    data["mutations"] = {m.gene: m.status for m in patient.mutations.all()}
    data["medications"] = [
        {
            "drug_name": m.drug_name,
            "interaction": m.interaction,
            "also_pgp_inhibitor": m.also_pgp_inhibitor,
            "dose_text": m.dose_text,
            "ongoing": m.ongoing,
            "started_on": m.started_on.isoformat() if m.started_on else None,
            "stopped_on": m.stopped_on.isoformat() if m.stopped_on else None,
        }
        for m in patient.medications.all()
    ]
    return data


def mutations_with_status(patient: Patient, status: str) -> frozenset[str]:
    return frozenset(m.gene for m in patient.mutations.all() if m.status == status)
