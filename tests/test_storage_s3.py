"""Issue 17, beyond one machine: with ``OFFLABEL_STORAGE=s3`` every rendered PDF and every
upload goes to a private bucket of an S3-compatible store and comes back from it, through the
permission-checked views. The store is a real server process (moto's server mode, started by
tests/peers/s3.py on 127.0.0.1); the bucket is read back with boto3, as another node would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from consent.models import ConsentSignatureRecord
from consent.services import consent_render, consent_request
from consent.signature_record import consent_signature_record_render
from regulatory.models import ChecklistItem
from regulatory.services import pathway_choose
from signing.pades import pdf_seal_verify
from tests.peers.s3 import S3Bucket, s3_server, s3_storage, s3_storage_setting  # noqa: F401
from tests.prescriptions.conftest import MINIMAL_PDF, draft, patient  # noqa: F401
from tests.regulatory.conftest import LISTING_648, make_request  # noqa: F401

API = "/api/v1"
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"


@pytest.fixture
def local_media(tmp_path: Path, settings: Any) -> Path:
    """MEDIA_ROOT pointed at an empty folder: with S3 storage nothing may land there."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def _local_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _key(field: Any) -> str:
    """The object key a FileField holds (its storage name)."""
    assert field and field.name, "nothing stored"
    return str(field.name)


def _download(client, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "application/pdf"
    return b"".join(response.streaming_content)


def _private(bucket: S3Bucket, key: str) -> bool:
    acl = bucket.server.client().get_object_acl(Bucket=bucket.name, Key=key)
    grantees = {grant["Grantee"].get("URI") for grant in acl["Grants"]}
    return not grantees & {ALL_USERS, AUTHENTICATED_USERS}


def test_the_storage_in_force_is_the_s3_backend_on_the_test_bucket(
    s3_storage: S3Bucket,  # noqa: F811
):
    """The tests below prove something only if the switch took: the default storage is
    django-storages' S3 backend on this test's bucket, at the moto server's address."""
    from storages.backends.s3 import S3Storage

    storage: Any = default_storage
    name = storage.save("probe/hello.txt", SimpleUploadedFile("hello.txt", b"hello"))
    assert isinstance(storage._wrapped, S3Storage)
    assert storage.bucket_name == s3_storage.name
    assert s3_storage.keys() == [name] and s3_storage.read(name) == b"hello"
    storage.delete(name)
    assert s3_storage.keys() == []


def test_a_consent_form_is_rendered_sealed_into_the_bucket_and_downloaded_unchanged(
    s3_storage: S3Bucket,  # noqa: F811
    local_media: Path,
    draft,  # noqa: F811
    physician,
    client,
):
    document = consent_render(consent_request(actor=physician, request=draft, language="en").pk)
    assert document.status == "ready", document.error
    key = _key(document.file)
    # In the bucket, private, and nowhere on this machine's disk.
    assert s3_storage.keys() == [key] and key.startswith("consent/") and key.endswith(".pdf")
    assert _private(s3_storage, key)
    assert _local_files(local_media) == []
    stored = s3_storage.read(key)
    assert pdf_seal_verify(stored).valid, pdf_seal_verify(stored).problem
    # Through the permission-checked view: the same bytes, the seal still valid.
    client.force_login(physician)
    downloaded = _download(client, reverse("consent:download", args=[document.pk]))
    assert downloaded == stored
    verdict = pdf_seal_verify(downloaded)
    assert verdict.valid and verdict.sealer_name == "Invented General Hospital", verdict.problem
    # Nobody outside the request's hospital gets it, bucket or not.
    client.logout()
    assert client.get(reverse("consent:download", args=[document.pk])).status_code == 302


def test_a_consent_scan_goes_to_the_bucket_and_the_sealed_record_is_made_from_it(
    s3_storage: S3Bucket,  # noqa: F811
    local_media: Path,
    draft,  # noqa: F811
    physician,
    api_client,
    client,
):
    document = consent_render(consent_request(actor=physician, request=draft, language="en").pk)
    api_client.force_login(physician)  # a session: its sign-in is recent (issue 16)
    signed = api_client.post(
        f"{API}/consents/{document.pk}/sign/",
        {
            "method": "wet_ink_scan",
            "witness_name": "Nurse Invented",
            "scan": SimpleUploadedFile("scan.pdf", MINIMAL_PDF, content_type="application/pdf"),
        },
        format="multipart",
    )
    assert signed.status_code == 200, signed.content
    document.refresh_from_db()
    scan_key = _key(document.signature.scan)
    assert scan_key.startswith("consent-signed/") and s3_storage.read(scan_key) == MINIMAL_PDF
    assert _private(s3_storage, scan_key)
    # The worker's job, here in process: it reads the form and the scan back from the bucket.
    record = ConsentSignatureRecord.objects.get(signature=document.signature)
    record = consent_signature_record_render(record.pk)
    assert record.status == "ready", record.error
    assert set(s3_storage.keys()) == {_key(document.file), scan_key, _key(record.file)}
    assert _local_files(local_media) == []
    client.force_login(physician)
    pdf = _download(client, reverse("consent:record-download", args=[document.signature.pk]))
    assert pdf == s3_storage.read(_key(record.file)) and pdf_seal_verify(pdf).valid


@pytest.fixture
def document_item(make_request, physician) -> ChecklistItem:  # noqa: F811
    request = make_request(LISTING_648)
    pathway_choose(actor=physician, request=request, pathway_code="it_law_648")
    item = request.checklist.filter(kind="document").first()
    assert item is not None
    return item


def _second_pdf() -> bytes:
    """Another valid PDF (two pages), so the replacement's bytes differ from the first's."""
    import io

    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    writer.add_blank_page(200, 200)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_checklist_document_goes_to_the_bucket_and_a_replaced_one_is_deleted(
    s3_storage: S3Bucket,  # noqa: F811
    local_media: Path,
    document_item: ChecklistItem,
    pharmacist,
    api_client,
    django_capture_on_commit_callbacks,
):
    api_client.force_authenticate(pharmacist)
    url = f"{API}/checklist-items/{document_item.pk}/document/"
    with django_capture_on_commit_callbacks(execute=True):
        first = SimpleUploadedFile("opinion.pdf", MINIMAL_PDF, content_type="application/pdf")
        assert api_client.post(url, {"document": first}, format="multipart").status_code == 200
    document_item.refresh_from_db()
    first_key = _key(document_item.document)
    assert s3_storage.keys() == [first_key] and s3_storage.read(first_key) == MINIMAL_PDF
    assert _private(s3_storage, first_key)

    second_pdf = _second_pdf()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        second = SimpleUploadedFile("opinion-v2.pdf", second_pdf, content_type="application/pdf")
        assert api_client.post(url, {"document": second}, format="multipart").status_code == 200
        # Until the commit both objects exist: a rollback would still have the first one.
        assert len(s3_storage.keys()) == 2
    assert callbacks, "the old object's deletion waits for the commit"
    document_item.refresh_from_db()
    second_key = _key(document_item.document)
    assert second_key != first_key  # a new name, never an overwrite before the commit
    assert s3_storage.keys() == [second_key] and s3_storage.read(second_key) == second_pdf
    with document_item.document.open("rb") as handle:  # read back through the storage API
        assert handle.read() == second_pdf
    assert _local_files(local_media) == []
