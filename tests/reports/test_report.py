"""The administration report against an independent computation on a generated dataset.

The dataset is written straight into the database (invented rows); the test keeps its own
plain-Python record of what it wrote and computes every figure from that record, never from
the database, so the report's aggregate queries are checked against arithmetic done apart.
"""

from __future__ import annotations

import io
import math
import random
from collections import Counter
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from accounts.models import Department
from consent.models import ConsentDocument, ConsentSignature
from followup.models import AdverseEvent, ResponseAssessment
from pharmacy.models import Dispensation
from prescriptions.models import OffLabelRequest, Patient, RequestTransition
from prescriptions.services import drug_default
from regulatory.models import Application, PathwayChoice, PathwayVersion, Reminder
from reports.selectors import ReportFilters, report_compute
from reports.tables import report_csv, report_tables, report_xlsx
from tests.factories import UserFactory

ROME = ZoneInfo("Europe/Rome")
S = OffLabelRequest.Status
PATHWAYS = ("it_law_648", "it_law_94_98", "gb_gmc_off_label")


def _nearest_rank(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(p * len(ordered)) - 1]


@pytest.fixture
def dataset(hospital, pharmacist, rules):
    """60 invented requests in every state, with transitions, outside applications, consent,
    dispensations and follow-up; returns (the plain record, the physicians)."""
    rng = random.Random(20261124)
    haem = Department.objects.create(hospital=hospital, name="Haematology")
    other = Department.objects.create(hospital=hospital, name="Internal medicine")
    doctors = [
        UserFactory.create(
            username=f"dr.gen{i}",
            hospital=hospital,
            role="physician",
            department=haem if i < 2 else other,
            first_name="Doc",
            last_name=f"N{i}",
        )
        for i in range(3)
    ]
    versions = {v.pathway.code: v for v in PathwayVersion.objects.filter(is_current=True)}
    start = datetime(2026, 3, 2, 9, 0, tzinfo=ROME)
    record = []
    for i in range(60):
        doctor = doctors[i % 3]
        patient = Patient.objects.create(
            hospital=hospital, pseudonym=f"PT-GEN-{i:04d}", created_by=doctor
        )
        fate = rng.choice(
            [
                "draft",
                "submitted",
                "approved",
                "approved",
                "rejected",
                "awaiting",
                "active",
                "completed",
            ]
        )
        pathway = PATHWAYS[i % 3]
        created = start + timedelta(days=i)
        request = OffLabelRequest.objects.create(
            hospital=hospital,
            patient=patient,
            prescriber=doctor,
            drug=drug_default(),
            regimen="azacitidine",
            ven_target_dose_mg=Decimal(400),
            ramp_up="hma_3_day",
            cycles_planned=4,
            jurisdiction=pathway[:2].upper(),
            status=S.DRAFT,
        )
        OffLabelRequest.objects.filter(pk=request.pk).update(created_at=created)
        PathwayChoice.objects.create(
            request=request, pathway_version=versions[pathway], chosen_by=doctor
        )
        row: dict[str, Any] = {
            "pk": request.pk,
            "doctor": doctor.pk,
            "dept": doctor.department_id,
            "created": created,
            "pathway": pathway,
            "status": S.DRAFT,
            "approved": False,
            "rejected": False,
            "decision_days": None,
            "auth_days": None,
            "signed": False,
            "cost": Decimal(0),
            "cycles": 0,
            "mg": Decimal(0),
            "ae": [],
            "best": None,
            "open_app": False,
            "overdue": False,
        }
        if fate != "draft":
            submitted = created + timedelta(hours=rng.randint(1, 48))
            RequestTransition.objects.create(
                request=request,
                from_status=S.DRAFT,
                to_status=S.SUBMITTED,
                actor=doctor,
                occurred_at=submitted,
            )
            row["status"] = S.SUBMITTED
            if fate != "submitted":
                decided = submitted + timedelta(hours=rng.randint(2, 400))
                target = {"rejected": S.REJECTED, "awaiting": S.AWAITING_AUTHORISATION}.get(
                    fate, S.APPROVED
                )
                RequestTransition.objects.create(
                    request=request,
                    from_status=S.IN_REVIEW,
                    to_status=target,
                    actor=pharmacist,
                    occurred_at=decided,
                )
                row["decision_days"] = (decided - submitted).total_seconds() / 86400
                row["status"] = target
                row["rejected"] = target == S.REJECTED
                row["approved"] = target == S.APPROVED
        if fate == "awaiting" or (
            fate in ("approved", "active", "completed") and pathway != "gb_gmc_off_label"
        ):
            app = Application.objects.create(
                request=request,
                hospital=hospital,
                body="aifa",
                prepared_at=date(2026, 3, 1),
                created_by=pharmacist,
                status=Application.Status.SUBMITTED,
                submitted_at=date(2026, 3, 1),
            )
            if fate != "awaiting":
                granted_on = (created + timedelta(days=rng.randint(3, 40))).date()
                Application.objects.filter(pk=app.pk).update(
                    status=Application.Status.GRANTED, decided_at=granted_on
                )
                submitted_day = timezone.localtime(
                    request.transitions.get(to_status=S.SUBMITTED).occurred_at
                ).date()
                row["auth_days"] = (granted_on - submitted_day).days
            else:
                row["open_app"] = True
                if i % 2:
                    from regulatory.models import DeadlineRule

                    Reminder.objects.create(
                        application=app,
                        rule=DeadlineRule.objects.order_by("pk")[0],
                        due_on=date(2026, 4, 1),
                        message="overdue (test)",
                    )
                    row["overdue"] = True
        if row["approved"]:
            if i % 7:  # every seventh approved request lacks a signed consent
                document = ConsentDocument.objects.create(
                    request=request,
                    language="en",
                    template_version="t",
                    inputs={},
                    inputs_hash=f"h{i}",
                    status=ConsentDocument.Status.READY,
                    requested_by=doctor,
                )
                ConsentSignature.objects.create(
                    document=document,
                    method="on_screen",
                    signed_at=timezone.now(),
                    physician=doctor,
                )
                row["signed"] = True
            if fate in ("active", "completed"):
                status = S.ACTIVE if fate == "active" else S.COMPLETED
                row["status"] = status
                for cycle in range(1, rng.randint(1, 3) + 1):
                    cost = Decimal(rng.randint(4000, 6000))
                    priced = cycle != 3
                    Dispensation.objects.create(
                        request=request,
                        cycle=cycle,
                        payer=rng.choice(["hospital_budget", "national_service"]),
                        total_mg=Decimal(10700),
                        cost=cost if priced else None,
                        currency="EUR",
                        dispensed_by=pharmacist,
                        dispensed_at=created + timedelta(days=5 + 28 * cycle),
                    )
                    row["cycles"] += 1
                    row["mg"] += Decimal(10700)
                    row["cost"] += cost if priced else 0
                    row.setdefault("payers", []).append(
                        Dispensation.objects.get(request=request, cycle=cycle).payer
                    )
                    row.setdefault("priced", []).append(priced)
                for _ in range(rng.randint(0, 3)):
                    grade = rng.randint(1, 5)
                    AdverseEvent.objects.create(
                        request=request,
                        term="febrile_neutropenia",
                        grade=grade,
                        serious=grade >= 3,
                        onset_on=created.date() + timedelta(days=10),
                        outcome="fatal" if grade == 5 else "recovered",
                        relation="possibly",
                        recorded_by=doctor,
                    )
                    row["ae"].append(grade)
                responses = rng.sample(["cr", "cri", "pr", "no_response", "progression"], 2)
                for n, response in enumerate(responses):
                    ResponseAssessment.objects.create(
                        request=request,
                        assessed_on=created.date() + timedelta(days=30 * (n + 1)),
                        response=response,
                        recorded_by=doctor,
                    )
                rank = ["cr", "cri", "crh", "mlfs", "pr", "no_response", "relapse", "progression"]
                row["best"] = min(responses, key=rank.index)
        OffLabelRequest.objects.filter(pk=request.pk).update(status=row["status"])
        record.append(row)
    return record, doctors


def _expected(record):
    decision = [r["decision_days"] for r in record if r["decision_days"] is not None]
    auth = [float(r["auth_days"]) for r in record if r["auth_days"] is not None]
    return decision, auth


def test_report_figures_equal_an_independent_computation(dataset, hospital):
    record, _doctors = dataset
    report = report_compute(hospital=hospital, filters=ReportFilters())
    assert report.total == len(record) == 60
    assert {r["status"]: r["n"] for r in report.by_state} == Counter(r["status"] for r in record)
    assert {r["code"]: r["n"] for r in report.by_pathway} == Counter(r["pathway"] for r in record)
    assert report.approved == sum(r["approved"] for r in record)
    assert report.rejected == sum(r["rejected"] for r in record)
    decided = report.approved + report.rejected
    assert report.approval_rate == pytest.approx(100 * report.approved / decided)

    decision, auth = _expected(record)
    assert report.to_decision.n == len(decision)
    assert report.to_decision.median.total_seconds() / 86400 == pytest.approx(
        _nearest_rank(decision, 0.5)
    )
    assert report.to_decision.p90.total_seconds() / 86400 == pytest.approx(
        _nearest_rank(decision, 0.9)
    )
    assert report.to_authorisation.n == len(auth) > 0
    assert report.to_authorisation.median.days == _nearest_rank(auth, 0.5)
    assert report.to_authorisation.p90.days == _nearest_rank(auth, 0.9)

    assert report.applications_open == sum(r["open_app"] for r in record)
    assert sorted(o["reference_pk"] for o in report.applications_overdue) == sorted(
        r["pk"] for r in record if r["overdue"]
    )
    missing = sorted(r["pk"] for r in record if r["approved"] and not r["signed"])
    assert missing and [r["pk"] for r in report.approved_without_consent] == missing

    costs: dict[str, dict[str, int]] = {}
    for r in record:
        for n, payer in enumerate(r.get("payers", [])):
            entry = costs.setdefault(payer, {"cycles": 0, "unpriced": 0})
            entry["cycles"] += 1
            entry["unpriced"] += 0 if r["priced"][n] else 1
    assert {
        d["payer"]: {"cycles": d["cycles"], "unpriced": d["unpriced"]} for d in report.dispensing
    } == costs
    assert sum(d["cost_total"] for d in report.dispensing) == sum(r["cost"] for r in record)
    assert sum(d["mg_total"] for d in report.dispensing) == sum(r["mg"] for r in record)

    grades = Counter(g for r in record for g in r["ae"])
    patients = Counter(g for r in record for g in set(r["ae"]))
    assert {a["grade"]: (a["events"], a["patients"]) for a in report.adverse_events} == {
        g: (grades[g], patients[g]) for g in grades
    }
    best = Counter(r["best"] for r in record if r["best"] is not None)
    assert {x["best_response"]: x["n"] for x in report.responses if x["best_response"]} == best

    for line in report.physicians:
        mine = [r for r in record if r["doctor"] == line["prescriber_id"]]
        assert line["requests"] == len(mine)
        assert line["approved"] == sum(r["approved"] for r in mine)
        assert line["rejected"] == sum(r["rejected"] for r in mine)
        assert line["treated"] == sum(r["status"] in (S.ACTIVE, S.COMPLETED) for r in mine)
        assert line["cost"] == sum(r["cost"] for r in mine)


def test_filters_narrow_the_report_the_same_way(dataset, hospital):
    record, doctors = dataset
    cases = [
        (ReportFilters(physician_id=doctors[0].pk), lambda r: r["doctor"] == doctors[0].pk),
        (
            ReportFilters(department_id=doctors[2].department_id),
            lambda r: r["dept"] == doctors[2].department_id,
        ),
        (ReportFilters(pathway="it_law_648"), lambda r: r["pathway"] == "it_law_648"),
        (ReportFilters(state=S.APPROVED), lambda r: r["status"] == S.APPROVED),
        (
            ReportFilters(date_from=date(2026, 3, 10), date_to=date(2026, 3, 31)),
            lambda r: date(2026, 3, 10) <= r["created"].date() <= date(2026, 3, 31),
        ),
    ]
    for filters, keep in cases:
        report = report_compute(hospital=hospital, filters=filters)
        mine = [r for r in record if keep(r)]
        assert 0 < report.total == len(mine), filters
        assert report.approved == sum(r["approved"] for r in mine), filters


def test_csv_and_xlsx_carry_the_same_tables(dataset, hospital):
    report = report_compute(hospital=hospital, filters=ReportFilters())
    tables = report_tables(report)
    text = report_csv(report)
    for table in tables:
        assert table.title in text
    workbook = load_workbook(io.BytesIO(report_xlsx(report)))
    assert workbook.sheetnames == [t.key for t in tables]
    sheet = workbook["by_state"]
    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    assert {r[0]: r[1] for r in rows} == {r["label"]: r["n"] for r in report.by_state}


def test_report_queries_do_not_grow_with_rows(dataset, hospital):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as many:
        report_compute(hospital=hospital, filters=ReportFilters())
    with CaptureQueriesContext(connection) as few:
        report_compute(hospital=hospital, filters=ReportFilters(physician_id=dataset[1][0].pk))
    assert len(many) == len(few) < 25


def test_a_treated_request_without_a_dispensation_is_not_among_the_responses(dataset, hospital):
    """Responses count the requests that started treatment (a first dispensation), each once:
    a treated state alone is not a start (found by the one-pass check, issue 17)."""
    record, _doctors = dataset
    started = next(r for r in record if r["best"] is not None)
    request = OffLabelRequest.objects.get(hospital=hospital, pk=started["pk"])
    Dispensation.objects.filter(request=request).delete()
    responses = report_compute(hospital=hospital, filters=ReportFilters()).responses
    best = Counter(r["best"] for r in record if r["best"] is not None and r is not started)
    assert {x["best_response"]: x["n"] for x in responses if x["best_response"]} == best
