"""The public verification page: no sign-in; says intact, who sealed and when, and nothing
else; an unknown ID and a wrong hash get the same answer; rate limited per address."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile

from consent.services import consent_render, consent_request
from tests.prescriptions.conftest import draft, patient  # noqa: F401 - fixtures


@pytest.fixture
def sealed_form(draft, physician):  # noqa: F811
    cache.clear()  # the rate limit's counters
    document = consent_render(consent_request(actor=physician, request=draft, language="en").pk)
    with document.file.open("rb") as handle:
        return document, handle.read()


def _upload(client, pdf: bytes):
    return client.post(
        "/verify/", {"file": SimpleUploadedFile("x.pdf", pdf, content_type="application/pdf")}
    )


def _secrets(document) -> list[str]:
    request = document.request
    return [request.patient.pseudonym, request.reference, "Venetoclax", "venetoclax"]


def test_an_intact_pdf_shows_who_sealed_it_and_when_and_nothing_else(client, sealed_form):
    document, pdf = sealed_form
    assert client.get("/verify/").status_code == 200  # no sign-in
    answer = _upload(client, pdf)
    text = answer.content.decode()
    assert answer.status_code == 200
    assert "Intact." in text and "Sealed by Invented General Hospital at" in text
    assert document.document_id in text
    for secret in _secrets(document):
        assert secret not in text


def test_a_tampered_pdf_is_not_intact(client, sealed_form):
    _, pdf = sealed_form
    tampered = bytearray(pdf)
    tampered[len(pdf) // 3] ^= 0x01
    text = _upload(client, bytes(tampered)).content.decode()
    assert "Not intact." in text and "Sealed by" not in text


def test_id_and_hash_match_and_mismatch_say_no_more(client, sealed_form):
    document, _ = sealed_form
    match = client.post(
        "/verify/", {"document_id": document.document_id, "sha256": document.sha256}
    )
    text = match.content.decode()
    assert "Match." in text and "sealed by Invented General Hospital at" in text
    for secret in _secrets(document):
        assert secret not in text
    wrong_hash = client.post("/verify/", {"document_id": document.document_id, "sha256": "0" * 64})
    unknown_id = client.post("/verify/", {"document_id": "CONS-999999", "sha256": document.sha256})
    for answer in (wrong_hash, unknown_id):
        assert "No sealed document has this ID and this SHA-256." in answer.content.decode()
        assert "Invented General Hospital" not in answer.content.decode()


def test_the_page_is_rate_limited(client, sealed_form, settings):
    document, _ = sealed_form
    settings.SEAL_VERIFY_RATE = "3/m"
    data = {"document_id": document.document_id, "sha256": "0" * 64}
    assert [client.post("/verify/", data).status_code for _ in range(3)] == [200, 200, 200]
    limited = client.post("/verify/", data)
    assert limited.status_code == 429 and "Too many checks" in limited.content.decode()
