"""The Law 648 monitoring CSV and the AIFA 5% Fund renewal clinical report (PDF)."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse
from pypdf import PdfReader

from audit.models import AuditEvent
from followup.exports import COLUMNS_648
from followup.models import PharmacovigilanceReminder, RenewalReport
from followup.report import renewal_report_render, renewal_report_request
from followup.services import (
    adverse_event_create,
    followup_update,
    pv_reminder_resolve,
    response_assessment_create,
)
from followup.tasks import renewal_report_render_task
from offlabel.exceptions import ApplicationError
from tests.followup.conftest import IDENTIFYING, ae_fields, days_ago
from tests.prescriptions.conftest import COMPLETE_PROFILE

CONCLUSION = (
    "Efficacy: complete remission with incomplete recovery after two cycles, MRD negative. "
    "Safety: one serious sepsis (grade 4, possibly related, reported) that resolved. "
    "Benefit outweighs risk: renewal for four more cycles is requested."
)


def _rows(response):
    text = b"".join(response.streaming_content if response.streaming else [response.content])
    return list(csv.reader(io.StringIO(text.decode("utf-8"))))


@pytest.fixture
def followed(treated, physician, pharmacist):
    """A treated request with the follow-up a registry export and a renewal report summarise."""
    response_assessment_create(
        actor=physician, request=treated, assessed_on=days_ago(40), response="pr"
    )
    response_assessment_create(
        actor=physician,
        request=treated,
        assessed_on=days_ago(10),
        response="cri",
        mrd="negative",
        method="Bone marrow aspirate, ELN 2022",
    )
    adverse_event_create(actor=physician, request=treated, **ae_fields())  # grade 3, possibly
    adverse_event_create(
        actor=physician,
        request=treated,
        **ae_fields(
            term="sepsis",
            grade=4,
            serious=True,
            onset_on=days_ago(20),
            resolved_on=days_ago(12),
            relation="possibly",
        ),
    )
    adverse_event_create(
        actor=physician,
        request=treated,
        **ae_fields(
            term="nausea",
            grade=1,
            onset_on=days_ago(50),
            resolved_on=None,
            outcome="recovering",
            relation="unlikely",  # not a suspected reaction: no reminder
        ),
    )
    pv_reminder_resolve(
        actor=pharmacist,
        reminder=PharmacovigilanceReminder.objects.get(adverse_event__term="sepsis"),
        report_reference="RNF-2026-004711",
    )
    followup_update(
        actor=physician,
        request=treated,
        fields={"transplant_on": days_ago(3), "last_contact_on": days_ago(1)},
    )
    return treated


def test_the_648_export_has_the_registry_columns_and_the_values(client, followed, pharmacist):
    client.force_login(pharmacist)
    response = client.get(reverse("followup:export-648"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = _rows(response)
    assert tuple(rows[0]) == COLUMNS_648
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["pseudonym"] == followed.patient.pseudonym
    assert row["reference"] == followed.reference
    assert row["regimen"] == "VEN + azacitidine" and row["ven_dose_mg"] == "400"
    assert row["start_date"] == days_ago(60).isoformat()
    assert row["cycles_dispensed"] == "2"
    assert row["best_response"].endswith("(CRi)")  # CRi beats the earlier PR
    assert row["best_response_date"] == days_ago(10).isoformat()
    assert row["mrd_status"] == "MRD negative"
    assert (row["ae_grade_3_plus"], row["serious_aes"]) == ("2", "1")
    assert row["transplant_date"] == days_ago(3).isoformat()
    assert row["last_contact_date"] == days_ago(1).isoformat()
    assert row["treatment_end_date"] == row["death_date"] == ""


def test_the_648_export_holds_no_identifying_data_and_its_download_is_audited(
    client, followed, pharmacist
):
    client.force_login(pharmacist)
    content = client.get(reverse("followup:export-648")).content.decode()
    assert IDENTIFYING  # the test patient has identifying data recorded
    for identifying in IDENTIFYING:
        assert identifying not in content
    audit = AuditEvent.objects.get(action="registry.export_648")
    assert audit.actor == pharmacist
    assert audit.after["references"] == [followed.reference]
    assert all(identifying not in audit.summary for identifying in IDENTIFYING)


def test_the_648_export_is_scoped(
    client, followed, foreign_treated, foreign_pharmacist, make_treated, other_physician
):
    mine = make_treated(30, prescriber=other_physician)
    client.force_login(foreign_pharmacist)
    rows = _rows(client.get(reverse("followup:export-648")))
    assert [r[1] for r in rows[1:]] == [foreign_treated.reference]
    # A physician exports the patients they treat; a pharmacist the whole hospital.
    client.force_login(other_physician)
    rows = _rows(client.get(reverse("followup:export-648")))
    assert [r[1] for r in rows[1:]] == [mine.reference]
    client.force_login(followed.prescriber)
    assert [r[1] for r in _rows(client.get(reverse("followup:export-648")))[1:]] == [
        followed.reference
    ]


def test_the_648_export_follows_the_registry_filters(client, followed, pharmacist, make_treated):
    make_treated(200, regimen="ldac")
    client.force_login(pharmacist)
    url = reverse("followup:export-648")
    assert len(_rows(client.get(url))) == 3
    only_ldac = _rows(client.get(url, {"regimen": "ldac"}))
    assert len(only_ldac) == 2 and only_ldac[1][2] == "VEN + low-dose cytarabine"


def _pdf_text(report: RenewalReport) -> str:
    with report.file.open("rb") as handle:
        reader = PdfReader(io.BytesIO(handle.read()))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def test_the_renewal_report_pdf_has_the_sections_events_and_conclusion(followed, physician):
    report = renewal_report_request(actor=physician, request=followed, conclusion=CONCLUSION)
    assert report.status == "queued"
    rendered = renewal_report_render(report.pk)
    assert rendered.status == "ready" and len(rendered.sha256) == 64 and rendered.pages
    text = _pdf_text(rendered)
    for expected in (
        "Renewal clinical report (AIFA 5% Fund)",
        followed.reference,
        followed.patient.pseudonym,
        "1. Treatment period",
        f"Start of treatment {days_ago(60).isoformat()}",
        "2. Cycles dispensed",
        "2 cycles dispensed",
        "3. Response assessments",
        "CR with incomplete haematological recovery (CRi)",
        "Partial remission (PR)",
        "4. Adverse events and suspected adverse reactions",
        "Febrile neutropenia",
        "Sepsis",
        "Nausea",
        "(suspected adverse reaction)",
        "reference RNF-2026-004711",
        "Not a suspected reaction (relation unlikely or none): no reporting reminder",
        "5. Follow-up",
        "6. Conclusion on efficacy and safety",
        "Benefit outweighs risk: renewal for four more cycles is requested.",
    ):
        assert expected in text, expected
    assert all(identifying not in text for identifying in IDENTIFYING)
    assert AuditEvent.objects.filter(action="renewal_report.requested").count() == 1
    assert AuditEvent.objects.filter(action="renewal_report.rendered").count() == 1


def test_the_render_task_is_idempotent(followed, physician):
    report = renewal_report_request(actor=physician, request=followed, conclusion=CONCLUSION)
    first = renewal_report_render_task.run(report.pk)  # the task body, as the worker runs it
    report.refresh_from_db()
    stored = (report.file.name, report.sha256, report.rendered_at, report.attempts)
    assert renewal_report_render_task.run(report.pk) == first
    report.refresh_from_db()
    assert (report.file.name, report.sha256, report.rendered_at, report.attempts) == stored
    assert AuditEvent.objects.filter(action="renewal_report.rendered").count() == 1


def test_the_report_is_queued_on_commit(followed, physician, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        renewal_report_request(actor=physician, request=followed, conclusion=CONCLUSION)
    assert len(callbacks) == 1  # the Celery task, sent once the transaction commits


def test_only_the_prescriber_writes_the_conclusion(followed, pharmacist, physician):
    with pytest.raises(ApplicationError, match="prescribing physician"):
        renewal_report_request(actor=pharmacist, request=followed, conclusion=CONCLUSION)
    with pytest.raises(ApplicationError, match="Write the conclusion"):
        renewal_report_request(actor=physician, request=followed, conclusion="  ok  ")
    assert not RenewalReport.objects.exists()


def test_downloading_the_report_is_audited_and_scoped(
    client, followed, physician, pharmacist, foreign_pharmacist
):
    report = renewal_report_render(
        renewal_report_request(actor=physician, request=followed, conclusion=CONCLUSION).pk
    )
    url = reverse("followup:report-download", args=[report.pk])
    client.force_login(foreign_pharmacist)
    assert client.get(url).status_code == 404
    client.force_login(pharmacist)
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    audit = AuditEvent.objects.get(action="renewal_report.downloaded")
    assert audit.actor == pharmacist and audit.after["sha256"] == report.sha256


def test_a_patient_without_identity_is_exported_the_same(client, physician, pharmacist):
    """Smoke test of a minimal record: no assessment, no event, no follow-up."""
    from prescriptions.services import patient_create, request_create
    from tests.followup.conftest import REGIMEN, start_treatment

    patient = patient_create(actor=physician, profile=COMPLETE_PROFILE)
    request = request_create(actor=physician, patient=patient, fields=REGIMEN)
    start_treatment(request, on=days_ago(5), pharmacist=pharmacist)
    client.force_login(pharmacist)
    rows = _rows(client.get(reverse("followup:export-648")))
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["best_response"] == "" and row["mrd_status"] == "Not assessed"
    assert (row["cycles_dispensed"], row["ae_grade_3_plus"], row["serious_aes"]) == ("1", "0", "0")


def test_the_648_start_date_is_the_day_in_the_hospitals_time_zone(client, followed, pharmacist):
    from zoneinfo import ZoneInfo

    from django.conf import settings
    from django.utils import timezone

    from followup.selectors import treated_requests, with_outcomes
    from prescriptions.models import OffLabelRequest

    rows = with_outcomes(treated_requests(OffLabelRequest.objects.filter(pk=followed.pk)))
    started = rows.first().started_at
    server_day = timezone.localdate(started, ZoneInfo(settings.TIME_ZONE))
    # A zone where that moment falls on another day than on the server's calendar.
    zone = next(
        z
        for z in ("Pacific/Pago_Pago", "Pacific/Kiritimati")
        if timezone.localdate(started, ZoneInfo(z)) != server_day
    )
    hospital = pharmacist.hospital
    hospital.time_zone = zone
    hospital.save(update_fields=["time_zone"])
    client.force_login(pharmacist)
    row = _rows(client.get(reverse("followup:export-648")))[1]
    start_date = row[COLUMNS_648.index("start_date")]
    assert start_date == timezone.localdate(started, ZoneInfo(zone)).isoformat() != str(server_day)
