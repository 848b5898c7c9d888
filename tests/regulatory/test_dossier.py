"""The submission dossier PDF, rendered with WeasyPrint and read back with pypdf."""

import io
from datetime import date
from decimal import Decimal

import pytest
from pypdf import PdfReader

from audit.models import AuditEvent
from offlabel.exceptions import ApplicationError
from prescriptions.models import DrugPrice
from prescriptions.services import drug_default
from regulatory.dossier import dossier_render, dossier_request
from regulatory.models import Dossier
from regulatory.services import checklist_attest, pathway_choose
from regulatory.tasks import dossier_render_task
from tests.regulatory.conftest import LISTING_648


def _text(dossier: Dossier) -> str:
    dossier.file.open("rb")
    try:
        reader = PdfReader(io.BytesIO(dossier.file.read()))
    finally:
        dossier.file.close()
    # Table cells wrap across lines: compare with white space folded.
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


@pytest.fixture
def fund_request(make_request, physician, pharmacist, hospital):
    request = make_request(
        {**LISTING_648, "prior_azacitidine": "yes", "azacitidine_cycles": 6}, study_refs=(63, 82)
    )
    pathway_choose(
        actor=physician,
        request=request,
        pathway_code="it_aifa_5_fund",
        reason="No free supply from the company and no regional fund (invented case).",
    )
    for strength, price in (
        (Decimal(100), Decimal("50.1234")),
        (Decimal(50), Decimal("25.0617")),
        (Decimal(10), Decimal("5.0123")),
    ):
        DrugPrice.objects.create(
            hospital=hospital,
            drug=drug_default(),
            strength_mg=strength,
            price_per_unit=price,
            source="Invented tender 2026/01 (test)",
            valid_from=date(2026, 1, 1),
            entered_by=pharmacist,
        )
    return request


def test_the_aifa_5_percent_fund_dossier_has_the_contents_the_brief_lists(fund_request, pharmacist):
    item = fund_request.checklist.get(code="company_free_supply_explored")
    checklist_attest(
        actor=pharmacist if "pharmacist" in item.attesters else fund_request.prescriber,
        item=item,
        note="Company declined on 2026-02-01 (invented)",
    )
    dossier = dossier_request(actor=pharmacist, request=fund_request)
    assert dossier.status == "queued"
    assert dossier_render_task.run(dossier.pk)  # the task body, as the worker runs it
    dossier.refresh_from_db()
    assert dossier.status == "ready" and len(dossier.sha256) == 64
    text = _text(dossier)
    # An Italian body gets the dossier in Italian (issue 15); the physician's rationale, the
    # studies and the price source are quoted as they were written.
    for expected in (
        "Dossier di richiesta al Fondo AIFA 5%",
        fund_request.reference,
        fund_request.patient.pseudonym,
        "Motivazione, compreso perché non esistono alternative",
        "unfit for re-induction",  # the rationale itself
        "Relazione clinica",
        "Piano di trattamento (dose e durata)",
        "Preventivo di costo",
        "Autodichiarazione IVA",
        "DiNardo 2020 [63]",
        "Lou 2020 [82]",
        "400 mg una volta al giorno",
        "4 cicli di 28 giorni",
        "Invented tender 2026/01",
        "Company declined on 2026-02-01",
    ):
        assert expected in text, expected
    # 112 days: 100 + 200 mg then 110 x 400 mg = 44,300 mg = 443 x 100 mg tablets at 50.1234.
    assert "443 × 100 mg" in text and "€ 22.204,67" in text
    assert "Inventatissima" not in text  # the identity stays with the centre
    assert AuditEvent.objects.filter(action="dossier.rendered").count() == 1


def test_rendering_twice_changes_nothing(fund_request, pharmacist):
    dossier = dossier_request(actor=pharmacist, request=fund_request)
    first = dossier_render(dossier.pk).sha256
    assert dossier_render(dossier.pk).sha256 == first
    assert AuditEvent.objects.filter(action="dossier.rendered").count() == 1


def test_without_a_recorded_price_the_dossier_says_so(make_request, physician, pharmacist):
    request = make_request(jurisdiction="GB")
    pathway_choose(actor=physician, request=request, pathway_code="gb_gmc_off_label")
    dossier = dossier_render(dossier_request(actor=pharmacist, request=request).pk)
    assert "Price not recorded" in _text(dossier)


def test_a_dossier_needs_a_pathway(make_request, pharmacist):
    with pytest.raises(ApplicationError, match="pathway first"):
        dossier_request(actor=pharmacist, request=make_request())


def test_a_superuser_enters_a_tablet_price_in_the_admin(client, hospital, db):
    from accounts.models import User

    root = User.objects.create_superuser("root", "root@example.invalid", "Xx-long-pass-42")
    client.force_login(root)
    response = client.post(
        "/admin/prescriptions/drugprice/add/",
        {
            "hospital": hospital.pk,
            "drug": drug_default().pk,
            "strength_mg": "100",
            "price_per_unit": "50.1234",
            "currency": "EUR",
            "source": "Invented tender (test)",
            "valid_from": "2026-01-01",
        },
    )
    assert response.status_code == 302, response.content[:500]
    assert DrugPrice.objects.get().entered_by == root
