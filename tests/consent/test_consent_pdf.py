"""Consent PDFs in Italian, English and French for two pathways, read back with pypdf."""

import io
import re
from typing import Any

import pytest
from pypdf import PdfReader

from audit.models import AuditEvent
from consent.models import ConsentDocument
from consent.services import consent_render, consent_request
from consent.wording import CONDITIONAL_RISKS, PATHWAY_TEXTS, RISKS, TEXTS
from evidence.models import Study
from prescriptions.services import evidence_attach, patient_create, request_create
from regulatory.services import pathway_choose
from tests.prescriptions.conftest import IDENTITY, REGIMEN
from tests.regulatory.conftest import LISTING_648

PATHWAYS = {
    "it_law_648": LISTING_648,
    "it_law_94_98": {**LISTING_648, "prior_azacitidine": "yes", "azacitidine_cycles": 4},
}


def _fold(text: str) -> str:
    return " ".join(text.split())


def pdf_text(document: ConsentDocument) -> tuple[str, PdfReader]:
    """The text of every page; each page's running header and footer (hospital, document id,
    page n of m) is moved to the end, so a paragraph that crosses a page reads as one."""
    with document.file.open("rb") as f:
        reader = PdfReader(io.BytesIO(f.read()))
    body, furniture = [], []
    hospital = document.request.hospital.name
    for page in reader.pages:
        text = page.extract_text()
        at = text.rfind(hospital, 0, text.rfind(document.document_id))
        body.append(text[:at] if at >= 0 else text)
        furniture.append(text[at:] if at >= 0 else "")
    return _fold(" ".join(body + furniture)), reader


@pytest.fixture
def consent_case(physician, studies, rules):
    def make(pathway_code: str):
        patient = patient_create(actor=physician, profile=PATHWAYS[pathway_code], identity=IDENTITY)
        request = request_create(
            actor=physician, patient=patient, fields={**REGIMEN, "jurisdiction": "IT"}
        )
        for ref in (
            63,
            82,
        ):  # DiNardo 2020 (phase II, 168 pts, ORR 74%) and Lou 2020 (48 pts, 47.9%)
            evidence_attach(
                actor=physician, request=request, study=Study.objects.get(reference=ref)
            )
        pathway_choose(
            actor=physician,
            request=request,
            pathway_code=pathway_code,
            reason="" if pathway_code == "it_law_648" else "Prior azacitidine: 648 excluded.",
        )
        request.refresh_from_db()
        return request

    return make


@pytest.mark.parametrize("pathway_code", sorted(PATHWAYS))
@pytest.mark.parametrize("language", ["it", "en", "fr"])
def test_consent_in_every_language_has_every_section_and_the_evidence_numbers(
    consent_case, physician, pathway_code, language
):
    request = consent_case(pathway_code)
    document = consent_render(
        consent_request(actor=physician, request=request, language=language).pk
    )
    assert document.status == "ready" and len(document.sha256) == 64
    text, reader = pdf_text(document)
    t = TEXTS[language]
    for key in [k for k in t if k.startswith("h_")]:
        assert _fold(t[key]) in text, f"{language}: heading {key} missing"
    # The attached studies' numbers as the evidence summary gives them (its population rules
    # belong to prescriptions.selectors): two studies, the lower response rate Lou 2020's 47.9%.
    decimal = "," if language in ("it", "fr") else "."
    evidence = document.inputs["evidence"]
    assert evidence["n_studies"] == 2 and evidence["orr_low"] == "47.9"
    expected = t["benefits_numbers"].format(
        n_studies=2,
        n_patients=evidence["n_patients"],
        orr_low=f"47{decimal}9",
        orr_high=evidence["orr_high"].replace(".", decimal),
    )
    assert _fold(expected) in text
    assert (
        _fold(
            PATHWAY_TEXTS[language][pathway_code].format(
                drug="Venetoclax", hospital=request.hospital.name
            )
        )
        in text
    )
    for key, (name, _) in RISKS[language].items():
        # Heart failure and bleeding are explained where an attached study reports them.
        assert (_fold(name) in text) == (key not in CONDITIONAL_RISKS), key
    assert "Zebulina Inventatissima" in text  # the form is where the name is printed
    pages = len(reader.pages)
    assert pages == document.pages and pages >= 2
    for n in (1, pages):
        assert f"{t['page_label']} {n} {t['of_label']} {pages}" in text
    assert document.document_id in text and document.template_version in text
    xmp = reader.xmp_metadata
    assert xmp is not None
    xml = xmp.rdf_root.toxml()
    assert 'pdfaid:part="3"' in xml and 'pdfaid:conformance="B"' in xml  # PDF/A-3b
    fonts: set[str] = set()
    for page in reader.pages:
        resources: Any = page["/Resources"]
        for font in (resources.get("/Font") or {}).values():
            fonts.add(str(font.get_object()["/BaseFont"]))
    # Every font is an embedded subset (a six-letter tag before '+'), DejaVu for accents.
    assert fonts and all(re.match(r"^/[A-Z]{6}\+DejaVu", name) for name in fonts), fonts


@pytest.mark.parametrize("language", ["it", "fr"])
def test_no_english_sentence_is_left_in_the_translated_forms(consent_case, physician, language):
    request = consent_case("it_law_94_98")
    text, _ = pdf_text(
        consent_render(consent_request(actor=physician, request=request, language=language).pk)
    )

    def fragments(english: str) -> list[str]:
        """The literal runs between placeholders, long enough to be sentences."""
        runs = [_fold(part.split("}")[-1]) for part in english.split("{")]
        return [run[:40] for run in runs if len(run) > 25]

    leftovers = [
        key for key, english in TEXTS["en"].items() if any(f in text for f in fragments(english))
    ]
    assert not leftovers, leftovers


def test_the_same_inputs_are_rendered_once(consent_case, physician):
    request = consent_case("it_law_648")
    first = consent_request(actor=physician, request=request, language="en")
    again = consent_request(actor=physician, request=request, language="en")
    assert first.pk == again.pk
    consent_render(first.pk)
    consent_render(first.pk)
    assert ConsentDocument.objects.count() == 1
    assert AuditEvent.objects.filter(action="consent.rendered").count() == 1
