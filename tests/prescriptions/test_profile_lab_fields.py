"""The tumour-lysis risk and chemistry fields of the profile, and the dated concomitant
medications, through the patient page and the patient API."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.urls import reverse

from audit.models import AuditEvent
from prescriptions.forms import known_interactions
from prescriptions.models import ConcomitantMedication, Interaction, OffLabelRequest, Patient
from tests.prescriptions.conftest import COMPLETE_PROFILE

LABS = {
    "peripheral_blasts_10e9_l": "12.50",
    "marrow_blasts_percent": "64.0",
    "high_marrow_burden": "yes",
    "ldh_u_l": "612",
    "ldh_uln_u_l": "248",
    "potassium_mmol_l": "5.60",
    "potassium_status": "high",
    "phosphate_mmol_l": "1.10",
    "phosphate_status": "normal",
    "uric_acid_umol_l": "520",
    "uric_acid_status": "high",
    "calcium_mmol_l": "2.05",
    "calcium_status": "low",
}

NUMBERS = {k for k in LABS if not k.endswith("_status") and k != "high_marrow_burden"}


def _page_data(offlabel: OffLabelRequest, **overrides: str) -> dict[str, str]:
    """What the browser sends back for the draft's patient: the form as rendered, changed."""
    data = {k: ("" if v is None else str(v)) for k, v in COMPLETE_PROFILE.items()}
    data.update({f"mut_{m.gene}": m.status for m in offlabel.patient.mutations.all()})
    data.update(overrides)
    return data


def test_the_page_groups_the_lab_fields_and_round_trips_them_and_the_medication_dates(
    client, physician, draft
):
    client.force_login(physician)
    url = reverse("requests:step-patient", args=[draft.pk])
    page = client.get(url).content.decode()
    assert "Tumour-lysis risk and chemistry" in page
    assert "LDH (U/L)" in page and "Uric acid (µmol/L)" in page  # units in the labels
    assert 'name="med_0_started_on"' in page and 'type="date"' in page

    response = client.post(
        url,
        _page_data(
            draft,
            **LABS,
            med_0_name="posaconazole",
            med_0_dose="300 mg daily",
            med_0_started_on="2026-11-20",
            med_0_stopped_on="2026-12-01",
        ),
    )
    assert response.status_code == 302, response.content.decode()
    patient = Patient.objects.get(pk=draft.patient_id)
    assert {k: str(getattr(patient, k)) for k in LABS} == LABS
    med = patient.medications.get()
    assert (med.started_on, med.stopped_on) == (date(2026, 11, 20), date(2026, 12, 1))
    assert med.interaction == Interaction.STRONG_CYP3A_INHIBITOR  # filled from the table
    assert AuditEvent.objects.filter(action="patient.updated").exists()

    page = client.get(url).content.decode()
    assert 'value="2026-11-20"' in page and 'value="2026-12-01"' in page  # ISO, any language
    assert 'value="612"' in page


def test_on_the_page_an_empty_lab_value_or_status_is_unknown(client, physician, draft):
    client.force_login(physician)
    response = client.post(
        reverse("requests:step-patient", args=[draft.pk]),
        _page_data(draft, ldh_u_l="", potassium_status=""),  # statuses not sent at all
    )
    assert response.status_code == 302, response.content.decode()
    patient = Patient.objects.get(pk=draft.patient_id)
    assert patient.ldh_u_l is None and patient.potassium_status == "unknown"
    assert patient.high_marrow_burden == "unknown" and patient.calcium_status == "unknown"


def test_on_the_page_a_drug_stopped_before_it_started_is_refused_and_nothing_is_lost(
    client, physician, draft
):
    client.force_login(physician)
    before = list(ConcomitantMedication.objects.values_list("drug_name", flat=True))
    response = client.post(
        reverse("requests:step-patient", args=[draft.pk]),
        _page_data(
            draft,
            med_0_name="fluconazole",
            med_0_started_on="2026-12-01",
            med_0_stopped_on="2026-11-20",
        ),
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["med_0_stopped_on"] == ["The stop date is before the start date."]
    page = response.content.decode()
    assert "The stop date is before the start date." in page and 'value="fluconazole"' in page
    assert list(ConcomitantMedication.objects.values_list("drug_name", flat=True)) == before


def test_a_planned_start_in_the_future_is_allowed(client, physician, draft):
    client.force_login(physician)
    response = client.post(
        reverse("requests:step-patient", args=[draft.pk]),
        _page_data(draft, med_0_name="aciclovir", med_0_started_on="2099-01-01"),
    )
    assert response.status_code == 302
    assert Patient.objects.get(pk=draft.patient_id).medications.get().started_on == date(2099, 1, 1)


def test_the_api_round_trips_the_lab_fields_and_the_medication_dates(api_client, physician, draft):
    api_client.force_authenticate(physician)
    url = f"/api/v1/patients/{draft.patient_id}/"
    response = api_client.patch(
        url,
        {
            **LABS,
            "medications": [
                {
                    "drug_name": "posaconazole",
                    "interaction": "strong_cyp3a_inhibitor",
                    "started_on": "2026-11-20",
                    "stopped_on": "2026-12-01",
                },
                {"drug_name": "aciclovir", "interaction": "none_known"},
            ],
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    body = api_client.get(url).json()
    assert {k: Decimal(str(body[k])) if k in NUMBERS else body[k] for k in LABS} == {
        k: Decimal(v) if k in NUMBERS else v for k, v in LABS.items()
    }
    meds = {m["drug_name"]: m for m in body["medications"]}
    assert meds["posaconazole"]["started_on"] == "2026-11-20"
    assert meds["posaconazole"]["stopped_on"] == "2026-12-01"
    assert meds["aciclovir"]["started_on"] is None and meds["aciclovir"]["stopped_on"] is None

    cleared = api_client.patch(url, {"ldh_u_l": None, "potassium_status": "unknown"}, format="json")
    assert cleared.status_code == 200, cleared.content
    assert cleared.json()["ldh_u_l"] is None and cleared.json()["potassium_status"] == "unknown"


def test_the_api_refuses_a_drug_stopped_before_it_started_naming_the_field(
    api_client, physician, draft
):
    api_client.force_authenticate(physician)
    response = api_client.patch(
        f"/api/v1/patients/{draft.patient_id}/",
        {
            "medications": [
                {
                    "drug_name": "fluconazole",
                    "interaction": "moderate_cyp3a_inhibitor",
                    "started_on": "2026-12-01",
                    "stopped_on": "2026-11-20",
                }
            ]
        },
        format="json",
    )
    assert response.status_code == 400, response.content
    errors = response.json()["medications"]
    first = errors[0] if isinstance(errors, list) else errors["0"]  # DRF: the row's index
    assert first["stopped_on"] == ["The stop date is before the start date."]
    assert Patient.objects.get(pk=draft.patient_id).medications.get().drug_name == "aciclovir"


def test_the_known_drugs_come_from_the_sourced_classes_file():
    known = known_interactions()
    assert known["posaconazolo"] == Interaction.STRONG_CYP3A_INHIBITOR  # Italian name
    assert known["noxafil"] == Interaction.STRONG_CYP3A_INHIBITOR  # brand
    # The form's one inducer choice is "strong/moderate".
    assert known["efavirenz"] == Interaction.STRONG_CYP3A_INDUCER
    assert "grapefruit" not in known  # a food, not a medication
    assert set(known.values()) <= set(Interaction.values) - {Interaction.UNKNOWN}


def test_the_page_lists_the_known_drugs_and_fills_a_class_for_a_name_with_its_dose(
    client, physician, draft
):
    client.force_login(physician)
    url = reverse("requests:step-patient", args=[draft.pk])
    assert '<option value="noxafil">' in client.get(url).content.decode()
    response = client.post(url, _page_data(draft, med_0_name="Posaconazolo 300 mg"))
    assert response.status_code == 302
    med = Patient.objects.get(pk=draft.patient_id).medications.get()
    assert med.interaction == Interaction.STRONG_CYP3A_INHIBITOR
