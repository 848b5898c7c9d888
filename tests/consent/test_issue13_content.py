"""Issue 13 §2: what an ethics committee expects in the consent form, read back from the PDF."""

import pytest

from accounts.models import Department
from consent.models import ConsentDocument
from consent.services import ConsentSettingMissing, consent_render, consent_request
from consent.wording import COSTS, DATA_PROTECTION_LAW, TEXTS
from evidence.models import Study
from prescriptions.models import OffLabelRequest
from prescriptions.services import evidence_attach
from tests.consent.test_consent_pdf import _fold, consent_case, pdf_text  # noqa: F401

PHONE = "+39 000 000 0000 (invented)"
RAMP_UP_TESTS = {  # laboratory tests before each new dose during the ramp-up (label)
    "en": "before the first dose and before each new dose while the dose is being increased",
    "it": "prima della prima dose e prima di ogni nuova dose durante l'aumento graduale",
    "fr": "avant la première dose et avant chaque nouvelle dose pendant la phase d'augmentation",
}


def _render(physician, request, language):
    document = consent_render(
        consent_request(actor=physician, request=request, language=language).pk
    )
    assert document.status == ConsentDocument.Status.READY, document.error
    return pdf_text(document)[0]


@pytest.mark.parametrize(
    ("language", "graded", "thirty_day", "authority"),
    [
        (
            "en",
            "In DiNardo 2020 (168 patients), grade 3–4 neutropenia: 47% of patients.",
            "In DiNardo 2020 (168 patients), deaths within the first 30 days of treatment: "
            "3.6% of patients.",
            "Garante per la protezione dei dati personali",
        ),
        (
            "fr",
            "Dans l'étude DiNardo 2020 (168\u00a0patients), neutropénie de grade 3–4\u00a0: "
            "47\u00a0% des patients.",
            "Dans l'étude DiNardo 2020 (168\u00a0patients), décès dans les 30 premiers jours de "
            "traitement\u00a0: 3,6\u00a0% des patients.",
            "Garante per la protezione dei dati personali (l'autorité italienne)",
        ),
        (
            "it",
            "Nello studio Lou 2020 (48 pazienti), piastrinopenia (trombocitopenia) di grado 3–4: "
            "89,6% dei pazienti.",
            "Nello studio DiNardo 2020 (168 pazienti), decessi entro i primi 30 giorni di "
            "trattamento: 3,6% dei pazienti.",
            "Garante per la protezione dei dati personali",
        ),
    ],
)
def test_consent_prints_phone_death_risk_graded_figures_label_warnings_costs_and_gdpr(
    consent_case,  # noqa: F811
    physician,
    language,
    graded,
    thirty_day,
    authority,
):
    request = consent_case("it_law_94_98")
    hospital = request.hospital
    hospital.data_controller = "Azienda Ospedaliera Inventata"
    hospital.records_retention_years = 30  # invented for the test, as a hospital would set it
    hospital.save()
    text = _render(physician, request, language)
    t = TEXTS[language]
    fmt = {"drug": "Venetoclax", "phone": PHONE, "hospital": hospital.name}
    # 1. The 24-hour number, in the header, the warning signs and the contacts.
    assert text.count(PHONE) >= 3
    assert _fold(t["risks_report"].format(**fmt)) in text
    # 2. Death with the study's own figures; grades kept; label warnings; ramp-up tests.
    assert _fold(thirty_day) in text
    assert _fold(graded) in text
    for key in ("risks_reproduction", "risks_vaccines"):
        assert _fold(t[key].format(**fmt)) in text, key
    assert _fold(RAMP_UP_TESTS[language]) in text
    # 4. Who pays under Law 94/98: not the patient; the hospital.
    assert _fold(COSTS[language]["it_law_94_98"].format(**fmt)) in text
    # 5. GDPR arts. 13-14 from the hospital's settings.
    assert "Azienda Ospedaliera Inventata" in text
    assert "dpo@hospital.example.invalid" in text
    assert _fold(t["data_retention_years"].format(years=30)) in text
    purpose = t["data_purpose"].format(regulation=DATA_PROTECTION_LAW[language]["other"])
    assert _fold(purpose) in text and _fold(t["data_rights"]) in text
    assert _fold(authority) in text


def test_a_grade_qualified_figure_is_never_printed_without_its_grade(consent_case, physician):  # noqa: F811
    text = _render(physician, consent_case("it_law_648"), "en")
    assert "grade 3–4 neutropenia: 91.7%" in text
    assert "), neutropenia: 91.7%" not in text and "), neutropenia: 47%" not in text


def test_heart_failure_bleeding_and_a_comparator_arm(consent_case, physician):  # noqa: F811
    request = consent_case("it_law_648")
    for ref in (69, 75, 83):  # Aldoss 2020 (bleeding), Zucenka 2021 (FLAG-Ida arm), Morsia 2020
        evidence_attach(actor=physician, request=request, study=Study.objects.get(reference=ref))
    text = _render(physician, request, "en")
    assert "Heart failure —" in text and "Morsia 2020" in text
    assert "heart failure: 19% of patients." in text
    assert "grade ≥ 3 bleeding: 4% of patients." in text
    # The chemotherapy comparator's 34% treatment-related mortality is not this treatment's.
    assert "deaths attributed to the treatment: 0% of patients." in text
    assert "deaths attributed to the treatment: 34%" not in text


def test_no_form_without_a_24_hour_number_and_the_error_names_the_setting(
    consent_case,  # noqa: F811
    physician,
):
    request = consent_case("it_law_648")
    request.hospital.emergency_phone_24h = ""
    request.hospital.save()
    with pytest.raises(ConsentSettingMissing, match="24-hour contact telephone"):
        consent_request(actor=physician, request=request, language="fr")
    assert not ConsentDocument.objects.exists()


def test_a_queued_form_is_not_rendered_once_the_number_is_gone(consent_case, physician):  # noqa: F811
    request = consent_case("it_law_648")
    document = consent_request(actor=physician, request=request, language="en")
    ConsentDocument.objects.filter(pk=document.pk).update(
        inputs={**document.inputs, "contact_24h": ""}
    )
    with pytest.raises(ConsentSettingMissing):
        consent_render(document.pk)  # the worker's failure is recorded on the document
    document.refresh_from_db()
    assert document.status == ConsentDocument.Status.FAILED
    assert "24-hour contact telephone" in document.error


def test_the_prescribers_department_number_comes_first(consent_case, physician):  # noqa: F811
    request = consent_case("it_law_648")
    physician.department = Department.objects.create(
        hospital=request.hospital, name="Ematologia", emergency_phone_24h="+39 000 111 2222 (inv.)"
    )
    physician.save()
    text = _render(physician, request, "it")
    assert "+39 000 111 2222 (inv.)" in text and PHONE not in text


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_lay_summary_is_printed_and_the_clinical_rationale_never(
    consent_case,  # noqa: F811
    physician,
    language,
):
    request = consent_case("it_law_648")
    rationale = "ELN 2022 adverse-risk relapse, FLT3-ITD negative, unfit for FLAG-Ida reinduction."
    summary = "Your leukaemia has come back and strong chemotherapy would be too risky for you."
    OffLabelRequest.objects.filter(pk=request.pk).update(
        clinical_rationale=rationale, lay_summary=summary
    )
    request.refresh_from_db()
    text = _render(physician, request, language)
    assert summary in text
    assert "FLT3-ITD" not in text and "ELN 2022" not in text


def test_without_a_lay_summary_the_form_says_the_doctor_explains_in_person(
    consent_case,  # noqa: F811
    physician,
):
    request = consent_case("it_law_648")
    text = _render(physician, request, "fr")
    assert _fold(TEXTS["fr"]["why_in_person"]) in text
    assert request.clinical_rationale.strip()[:30] not in text


def test_the_representatives_signature_block_has_a_date_line(consent_case, physician):  # noqa: F811
    text = _render(physician, consent_case("it_law_648"), "en")
    assert (
        "Legal representative (if the patient cannot sign) Name: Relationship to the patient: "
        "Signature: Date:"
    ) in text


@pytest.mark.parametrize(
    ("language", "law", "authority"),
    [
        (
            "en",
            "UK General Data Protection Regulation (UK GDPR) and the Data Protection Act 2018",
            "Information Commissioner's Office (ICO)",
        ),
        (
            "fr",
            "règlement général sur la protection des données du Royaume-Uni (UK GDPR)",
            "Information Commissioner's Office",
        ),
    ],
)
def test_a_uk_hospitals_form_names_the_uk_gdpr_and_the_ico(
    consent_case,  # noqa: F811
    physician,
    language,
    law,
    authority,
):
    request = consent_case("it_law_648")
    request.hospital.country = "GB"
    request.hospital.save()
    text = _fold(_render(physician, request, language))
    assert _fold(law) in text and _fold(authority) in text
    assert "2016/679" not in text
