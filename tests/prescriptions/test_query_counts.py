"""The queue page and the request list API: as many SQL queries for 1,000 requests as for 10."""

import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from prescriptions.models import EvidenceAttachment, OffLabelRequest, Patient
from prescriptions.services import drug_default
from tests.factories import UserFactory


def _make_requests(n, hospital, prescribers):
    drug = drug_default()
    now = timezone.now()
    start = Patient.objects.count()
    patients = Patient.objects.bulk_create(
        Patient(
            hospital=hospital, pseudonym=f"PT-BULK-{start + i:05d}", created_by=prescribers[i % 2]
        )
        for i in range(n)
    )
    statuses = ["submitted", "resubmitted", "in_review", "awaiting_authorisation", "approved"]
    return OffLabelRequest.objects.bulk_create(
        OffLabelRequest(
            hospital=hospital,
            patient=p,
            prescriber=prescribers[i % 2],
            drug=drug,
            regimen="azacitidine",
            status=statuses[i % 5],
            status_changed_at=now,
        )
        for i, p in enumerate(patients)
    )


def _queries(fn):
    with CaptureQueriesContext(connection) as ctx:
        response = fn()
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_queue_page_and_list_api_do_not_grow_with_requests(
    client, api_client, pharmacist, physician, hospital, studies
):
    other = UserFactory.create(username="dr.two", hospital=hospital, role="physician")
    client.force_login(pharmacist)
    # Time stands still: the session's idle expiry is renewed by the first page only (at most
    # once a minute, offlabel.middleware.SessionMiddleware), not inside a measurement.
    clock = time_machine.travel(timezone.now(), tick=False)
    clock.start()
    client.get(reverse("requests:queue"))
    counts = {}
    for n in (10, 1000):
        made = _make_requests(n - OffLabelRequest.objects.count(), hospital, [physician, other])
        if made:  # a few attachments so the per-row count annotation has work to do
            from evidence.models import Study

            study = Study.objects.first()
            EvidenceAttachment.objects.bulk_create(
                EvidenceAttachment(request=r, study=study, snapshot={}, attached_by=r.prescriber)
                for r in made[:5]
            )
        assert OffLabelRequest.objects.count() == n
        # A freshly loaded user each time: its permission cache starts cold, as in a real request.
        api_client.force_authenticate(type(pharmacist).objects.get(pk=pharmacist.pk))
        counts[n] = (
            _queries(lambda: client.get(reverse("requests:queue"))),
            _queries(lambda: api_client.get("/api/v1/requests/")),
        )
    clock.stop()
    assert counts[10] == counts[1000], counts
    page = client.get(reverse("requests:queue"))
    assert b"1000 requests." in page.content
