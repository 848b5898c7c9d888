"""Issue 14: exports, uploads and input limits, each break reproduced as it was reported.

* CSV/XLSX injection: a text cell starting with = + - @ tab or CR opened as a formula.
* Uploads: a file with a ``%PDF-`` header and a ``%%EOF`` passed for a PDF (an HTML
  polyglot, JavaScript, launch actions, embedded files, encryption, 300 pages, a zip bomb);
  replacing a checklist document left the old file behind.
* Free text without a limit (a 2 MB rationale), JSON bodies of any size or depth (a 500 or an
  HTML page), and a form PATCH whose nested fields were dropped with a 200.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse
from openpyxl import load_workbook
from pypdf import PdfWriter
from pypdf.actions import JavaScript
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    TextStringObject,
)

from audit.models import AuditEvent
from consent.services import consent_render, consent_request
from offlabel.exports import cell_safe
from prescriptions.models import OffLabelRequest, Patient
from prescriptions.services import drug_default
from regulatory.models import ChecklistItem, PathwayChoice, PathwayVersion
from regulatory.services import pathway_choose
from tests.followup.conftest import start_treatment
from tests.prescriptions.conftest import draft, patient
from tests.regulatory.conftest import LISTING_648, make_request

__all__ = ["draft", "make_request", "patient"]

API = "/api/v1"
PAYLOADS = ('=HYPERLINK("http://evil","x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\rx")


# --- CSV and XLSX injection ---------------------------------------------------------------------


def test_cell_safe_quotes_text_a_spreadsheet_would_run_and_keeps_numbers_numeric():
    from decimal import Decimal

    for payload in PAYLOADS:
        assert cell_safe(payload) == "'" + payload
    assert cell_safe("-1+2") == "'-1+2"
    assert cell_safe("=1+1") == "'=1+1"
    assert cell_safe(-2) == -2 and cell_safe(Decimal("-1.5")) == Decimal("-1.5")
    assert cell_safe(-0.5) == -0.5 and cell_safe(None) is None
    assert cell_safe("Venetoclax 400 mg") == "Venetoclax 400 mg"


def _csv_cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]


def _assert_neutralised(cells: list[Any], *, xml: bool = False) -> None:
    texts = [c for c in cells if isinstance(c, str)]
    for payload in PAYLOADS:
        # An XML reader may give a carriage return back as a line feed (the standard library's
        # parser does; lxml, which pyHanko brings, keeps it): either is the neutralised text.
        readings = {payload, payload.replace("\r", "\n")} if xml else {payload}
        assert any("'" + reading in texts for reading in readings), (payload, texts)
    dangerous = [c for c in texts if c.startswith(("=", "+", "-", "@", "\t", "\r"))]
    assert dangerous == [], dangerous


def test_report_csv_and_xlsx_show_formula_text_as_text(
    client, hospital, physician, hospital_admin, rules
):
    """A regulatory officer names a pathway version ``=HYPERLINK(...)``: the administrator's
    report listed it as a live formula in the CSV and the XLSX."""
    versions = list(PathwayVersion.objects.filter(is_current=True).order_by("pk")[: len(PAYLOADS)])
    for version, payload in zip(versions, PAYLOADS, strict=True):
        PathwayVersion.objects.filter(pk=version.pk).update(name=payload)
        patient = Patient.objects.create(
            hospital=hospital, pseudonym=f"PT-X{version.pk:03d}", created_by=physician
        )
        request = OffLabelRequest.objects.create(
            hospital=hospital,
            patient=patient,
            prescriber=physician,
            drug=drug_default(),
            regimen="azacitidine",
            jurisdiction=version.pathway.jurisdiction.code,
        )
        PathwayChoice.objects.create(request=request, pathway_version=version, chosen_by=physician)
    client.force_login(hospital_admin)

    download = client.get(reverse("reports:csv"))
    assert download.status_code == 200
    _assert_neutralised(_csv_cells(download.content.decode()))

    download = client.get(reverse("reports:xlsx"))
    assert download.status_code == 200
    workbook = load_workbook(io.BytesIO(download.content))
    cells = [cell for sheet in workbook for row in sheet.iter_rows() for cell in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    _assert_neutralised([c.value for c in cells], xml=True)
    counts = workbook["by_state"]["B3"]
    assert isinstance(counts.value, int)  # numbers stay numbers


def test_law_648_registry_csv_shows_formula_text_as_text(client, draft, pharmacist):
    """Whatever text reaches the registry file (here the pseudonym, rewritten in the database)
    is quoted: the pharmacist opens the file in a spreadsheet."""
    treated = start_treatment(draft, on=draft.created_at.date(), pharmacist=pharmacist)
    client.force_login(pharmacist)
    cells: list[str] = []
    for payload in PAYLOADS:
        Patient.objects.filter(pk=treated.patient_id).update(pseudonym=payload)
        download = client.get(reverse("followup:export-648"))
        assert download.status_code == 200
        cells += _csv_cells(download.content.decode())
    _assert_neutralised(cells)


# --- Uploaded PDFs ------------------------------------------------------------------------------


def _pdf(pages: int = 1, tweak: Callable[[PdfWriter], Any] | None = None) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(200, 200)
    if tweak is not None:
        tweak(writer)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _annotation(writer: PdfWriter, **entries: Any) -> None:
    annotation = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Rect"): ArrayObject([NumberObject(0)] * 4),
            **{NameObject(f"/{k}"): v for k, v in entries.items()},
        }
    )
    writer.pages[0][NameObject("/Annots")] = ArrayObject([writer._add_object(annotation)])


def _action(kind: str, **entries: Any) -> DictionaryObject:
    return DictionaryObject(
        {NameObject("/S"): NameObject(kind), **{NameObject(f"/{k}"): v for k, v in entries.items()}}
    )


def _open_action(writer: PdfWriter) -> None:
    writer.root_object[NameObject("/OpenAction")] = ArrayObject(
        [writer.pages[0].indirect_reference, NameObject("/Fit")]
    )


def _link_js(writer: PdfWriter) -> None:
    _annotation(
        writer,
        Subtype=NameObject("/Link"),
        A=_action("/JavaScript", JS=TextStringObject("app.launchURL('http://evil')")),
    )


def _launch(writer: PdfWriter) -> None:
    _annotation(
        writer, Subtype=NameObject("/Link"), A=_action("/Launch", F=TextStringObject("cmd.exe"))
    )


def _file_annotation(writer: PdfWriter) -> None:
    _annotation(writer, Subtype=NameObject("/FileAttachment"), Contents=TextStringObject("x"))


def _page_aa(writer: PdfWriter) -> None:
    writer.pages[0][NameObject("/AA")] = DictionaryObject(
        {NameObject("/O"): _action("/URI", URI=TextStringObject("http://evil"))}
    )


def _bomb(writer: PdfWriter) -> None:
    stream = DecodedStreamObject()
    stream.set_data(b" " * (3 * 1024 * 1024))
    encoded = stream.flate_encode()
    writer.pages[0][NameObject("/Contents")] = writer._add_object(encoded)


def _encrypt(writer: PdfWriter) -> None:
    writer.encrypt(user_password="secret", owner_password="secret")


CLEAN = _pdf()
# The polyglot of the report: an HTML page a browser runs, with a PDF header and end marker.
POLYGLOT = (
    b"<html><body><script>fetch('/api/v1/patients/')</script></body></html>\n"
    b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
ATTACKS: dict[str, tuple[bytes, str]] = {
    "html_polyglot": (POLYGLOT, "not a PDF"),
    "html_after_the_header": (
        b"%PDF-1.4\n<html><script>alert(document.cookie)</script></html>\n%%EOF\n",
        "HTML",
    ),
    "html_in_a_comment_of_a_real_pdf": (
        CLEAN[:9] + b"%<html><script>alert(1)</script>\n" + CLEAN[9:],
        "HTML",
    ),
    "header_and_eof_only": (b"%PDF-1.4\nnot really a pdf\n%%EOF\n", "cannot be read"),
    "javascript_name_tree": (
        _pdf(tweak=lambda w: w.add_open_action(JavaScript("app.alert(1)"))),
        "JavaScript",
    ),
    "javascript_link": (_pdf(tweak=_link_js), "JavaScript"),
    "open_action": (_pdf(tweak=_open_action), "/OpenAction"),
    "launch_action": (_pdf(tweak=_launch), "Launch"),
    "embedded_file": (
        _pdf(tweak=lambda w: w.add_attachment("run.bat", b"start calc.exe")),
        "embedded files",
    ),
    "file_attachment_annotation": (_pdf(tweak=_file_annotation), "embedded files"),
    "additional_actions": (_pdf(tweak=_page_aa), "/AA"),
    "encrypted": (_pdf(tweak=_encrypt), "encrypted"),
    "300_pages": (_pdf(pages=300), "300 pages: the limit is 200"),
    "zip_bomb": (_pdf(tweak=_bomb), "decompress to more than 1 MB"),
}


def _upload(data: bytes, name: str = "opinion.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/pdf")


@pytest.fixture
def document_item(make_request, physician) -> ChecklistItem:
    request = make_request(LISTING_648)
    pathway_choose(actor=physician, request=request, pathway_code="it_law_648")
    item = request.checklist.filter(kind="document").first()
    assert item is not None
    return item


@pytest.fixture
def media(tmp_path: Path, settings: Any) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize("attack", sorted(ATTACKS))
@override_settings(UPLOAD_PDF_MAX_DECOMPRESSED_BYTES=1024 * 1024)
def test_a_checklist_document_that_is_not_a_plain_pdf_is_refused_with_the_reason(
    api_client, document_item, pharmacist, media, attack
):
    data, reason = ATTACKS[attack]
    api_client.force_authenticate(pharmacist)
    response = api_client.post(
        f"{API}/checklist-items/{document_item.pk}/document/",
        {"document": _upload(data)},
        format="multipart",
    )
    assert response.status_code == 400, response.content
    body = response.json()
    assert reason in body["detail"] and body["document"] == [body["detail"]]
    document_item.refresh_from_db()
    assert not document_item.document and _files(media) == []


def test_a_clean_pdf_is_accepted_as_a_checklist_document(
    api_client, document_item, pharmacist, media
):
    api_client.force_authenticate(pharmacist)
    response = api_client.post(
        f"{API}/checklist-items/{document_item.pk}/document/",
        {"document": _upload(CLEAN)},
        format="multipart",
    )
    assert response.status_code == 200, response.content
    document_item.refresh_from_db()
    assert document_item.document.read() == CLEAN


def test_the_checklist_document_api_refuses_a_key_it_cannot_apply(
    api_client, document_item, pharmacist, media
):
    api_client.force_authenticate(pharmacist)
    for extra in ({"note": "x"}, {"document[0]": "x"}):
        response = api_client.post(
            f"{API}/checklist-items/{document_item.pk}/document/",
            {"document": _upload(CLEAN), **extra},
            format="multipart",
        )
        assert response.status_code == 400, response.content
        assert next(iter(extra)) in response.content.decode()
    document_item.refresh_from_db()
    assert not document_item.document


def test_the_polyglot_is_refused_on_the_checklist_page_too(
    client, document_item, pharmacist, media
):
    client.force_login(pharmacist)
    url = reverse("regulatory:upload", args=[document_item.request_id, document_item.pk])
    page = client.post(url, {"document": _upload(POLYGLOT)}, follow=True)
    assert "not a PDF" in page.content.decode()
    document_item.refresh_from_db()
    assert not document_item.document and _files(media) == []
    client.post(url, {"document": _upload(CLEAN)})
    document_item.refresh_from_db()
    assert document_item.document.read() == CLEAN


@override_settings(UPLOAD_PDF_MAX_DECOMPRESSED_BYTES=1024 * 1024)
def test_a_signed_consent_scan_that_is_not_a_plain_pdf_is_refused_with_the_reason(
    api_client, draft, physician, media
):
    document = consent_render(consent_request(actor=physician, request=draft, language="en").pk)
    api_client.force_login(physician)  # a session: its sign-in is recent (issue 16)
    url = f"{API}/consents/{document.pk}/sign/"
    before = _files(media)
    for attack, (data, reason) in sorted(ATTACKS.items()):
        response = api_client.post(
            url, {"method": "wet_ink_scan", "scan": _upload(data, "scan.pdf")}, format="multipart"
        )
        assert response.status_code == 400, (attack, response.content)
        assert reason in response.json()["scan"][0], attack
    assert _files(media) == before
    signed = api_client.post(
        url, {"method": "wet_ink_scan", "scan": _upload(CLEAN, "scan.pdf")}, format="multipart"
    )
    assert signed.status_code == 200, signed.content
    assert signed.json()["signed"]


def test_replacing_a_checklist_document_leaves_no_orphan_file(
    api_client, document_item, pharmacist, media, django_capture_on_commit_callbacks
):
    """A second upload for the same item used to keep the first file in storage, referenced
    by nothing."""
    api_client.force_authenticate(pharmacist)
    url = f"{API}/checklist-items/{document_item.pk}/document/"
    second = _pdf(pages=2)
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            api_client.post(url, {"document": _upload(CLEAN)}, format="multipart").status_code
            == 200
        )
    assert len(_files(media)) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            api_client.post(url, {"document": _upload(second)}, format="multipart").status_code
            == 200
        )
    files = _files(media)
    assert len(files) == 1 and files[0].read_bytes() == second
    event = AuditEvent.objects.filter(action="checklist.document_uploaded").latest("pk")
    assert event.before["sha256"] and event.before["sha256"] != event.after["sha256"]


# --- Free text, JSON bodies and form PATCHes ----------------------------------------------------


def test_a_2_mb_rationale_is_refused_by_the_api_and_the_page(api_client, client, draft, physician):
    """A 2 MB rationale made the dossier take 67 s to render."""
    huge, long = "x" * (2 * 1024 * 1024), "x" * 5001
    api_client.force_authenticate(physician)
    url = f"{API}/requests/{draft.pk}/"
    response = api_client.patch(url, {"clinical_rationale": huge}, format="json")
    assert response.status_code == 400 and "1024 KB" in response.json()["detail"]
    response = api_client.patch(url, {"clinical_rationale": long}, format="json")
    assert response.status_code == 400
    assert "5000" in response.json()["clinical_rationale"][0]

    client.force_login(physician)
    page = reverse("requests:step-regimen", args=[draft.pk])
    form = {"regimen": draft.regimen, "version": draft.version, "clinical_rationale": huge}
    response = client.post(page, form)
    assert response.status_code == 400 and "1024 KB" in response.content.decode()
    response = client.post(page, {**form, "clinical_rationale": long})
    assert "at most 5000 characters" in response.content.decode()
    draft.refresh_from_db()
    assert len(draft.clinical_rationale) < 5000


@pytest.mark.parametrize(
    "body",
    [
        json.dumps({"note": "x" * (5 * 1024 * 1024)}),
        "[" * 1000 + "]" * 1000,
        "[" * 200_000 + "]" * 200_000,  # past Python's recursion limit: was a 500
    ],
    ids=["5_mb", "1000_deep", "200000_deep"],
)
def test_an_oversized_or_deep_json_body_is_a_400_in_json(api_client, physician, body):
    api_client.force_authenticate(physician)
    response = api_client.generic(
        "POST", f"{API}/patients/", body.encode(), content_type="application/json"
    )
    assert response.status_code == 400, response.content[:200]
    assert response["Content-Type"] == "application/json"
    assert (
        "larger than 1024 KB" in response.json()["detail"]
        or "deeper than 20" in (response.json()["detail"])
    )


def test_a_too_large_form_on_an_api_path_is_a_400_in_json_not_an_html_page(
    api_client, draft, physician
):
    document = consent_render(consent_request(actor=physician, request=draft, language="en").pk)
    api_client.force_authenticate(physician)
    response = api_client.post(
        f"{API}/consents/{document.pk}/sign/",
        {"method": "on_screen", "witness_name": "x" * (2 * 1024 * 1024)},
        format="multipart",
    )
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    assert "detail" in response.json()


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("medications[0]drug_name", "multipart"),
        ("medications.0.drug_name", "multipart"),
        ("mutations.FLT3", "form"),
    ],
)
def test_a_form_patch_with_nested_fields_is_refused_not_silently_ignored(
    api_client, patient, physician, key, kind
):
    """PATCH /patients/{id}/ as a form with ``medications[0]drug_name`` answered 200 and left
    the medications as they were."""
    api_client.force_authenticate(physician)
    url = f"{API}/patients/{patient.pk}/"
    if kind == "multipart":
        response = api_client.patch(url, {key: "posaconazole"}, format="multipart")
    else:
        response = api_client.generic(
            "PATCH", url, f"{key}=present", content_type="application/x-www-form-urlencoded"
        )
    assert response.status_code == 415, response.content
    assert response["Content-Type"] == "application/json"
    assert [m.drug_name for m in patient.medications.all()] == ["aciclovir"]


def test_the_scan_upload_form_refuses_keys_it_does_not_take(api_client, draft, physician):
    document = consent_render(consent_request(actor=physician, request=draft, language="en").pk)
    api_client.force_login(physician)  # a session: its sign-in is recent (issue 16)
    url = f"{API}/consents/{document.pk}/sign/"
    for extra in ({"signer[0]name": "x"}, {"note": "unknown"}):
        response = api_client.post(url, {"method": "on_screen", **extra}, format="multipart")
        assert response.status_code == 400, response.content
        assert next(iter(extra)) in response.json()["detail"]
    assert api_client.post(url, {"method": "on_screen"}, format="multipart").status_code == 200
