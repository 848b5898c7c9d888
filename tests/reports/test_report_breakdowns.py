"""The one-pass report figures against a straightforward per-group computation.

``request_figures`` reads the requests once and groups those rows four ways in one statement
(everything, by state, by pathway, by physician), with the percentiles on PostgreSQL from
PERCENTILE_DISC and elsewhere from CUME_DIST. Here a varied invented data set is written
straight into the database and every figure is recomputed apart, in plain Python, from a
record the test keeps while writing: per request its first submission and decision, its
first outside grant, whether it was ever approved or rejected; then per group the counts and
the nearest-rank percentiles (smallest value with at least p of the values at or below it,
with exact integer arithmetic). Both percentile branches are checked on whichever database
the suite runs on (the CUME_DIST one is plain SQL that PostgreSQL runs as well).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Department, User
from pharmacy.models import Dispensation
from prescriptions.models import OffLabelRequest, Patient, RequestTransition
from prescriptions.services import drug_default
from regulatory.models import Application, PathwayChoice, PathwayVersion
from reports import selectors
from reports.selectors import Durations, ReportFilters, report_compute, request_figures
from tests.factories import HospitalFactory, UserFactory

ROME = ZoneInfo("Europe/Rome")
S = OffLabelRequest.Status
DECISIONS: set[str] = {S.APPROVED, S.REJECTED, S.AWAITING_AUTHORISATION}
START = datetime(2026, 2, 2, 9, 0, tzinfo=ROME)


def nearest_rank(values: list[timedelta], percent: int) -> timedelta | None:
    """The smallest value with at least ``percent``% of the values at or below it: rank
    ceil(percent * n / 100), in integers (no floating point)."""
    if not values:
        return None
    rank = -(-percent * len(values) // 100)
    return sorted(values)[rank - 1]


@dataclass
class Written:
    """What the test wrote for one request, and what follows from it by hand."""

    pk: int
    hospital: int
    prescriber: int
    department: int | None
    created: datetime
    status: str
    code: str
    name: str | None
    discarded: bool = False
    transitions: list[tuple[str, datetime]] = field(default_factory=list)
    grants: list[date] = field(default_factory=list)  # granted applications' decision days
    costs: list[Decimal | None] = field(default_factory=list)

    def first(self, statuses: Collection[str]) -> datetime | None:
        # In UTC: Python subtracts two times of one zone by their wall clocks, which across
        # the change to summer time (29 March 2026 in Rome) is an hour off the real interval.
        times = (at.astimezone(UTC) for to, at in self.transitions if to in statuses)
        return min(times, default=None)

    @property
    def to_decision(self) -> timedelta | None:
        submitted, decided = self.first({S.SUBMITTED}), self.first(DECISIONS)
        return None if submitted is None or decided is None else decided - submitted

    @property
    def to_authorisation(self) -> timedelta | None:
        submitted = self.first({S.SUBMITTED})
        if submitted is None or not self.grants:
            return None
        return timedelta(days=(min(self.grants) - timezone.localtime(submitted).date()).days)

    @property
    def ever_approved(self) -> bool:
        return any(to == S.APPROVED for to, _ in self.transitions)

    @property
    def ever_rejected(self) -> bool:
        return any(to == S.REJECTED for to, _ in self.transitions)

    @property
    def cost(self) -> Decimal:
        return sum((c for c in self.costs if c is not None), Decimal(0))


@dataclass
class Data:
    hospital: Any
    rows: list[Written]
    doctors: list[Any]

    def kept(self, keep: Callable[[Written], bool] = lambda r: True) -> list[Written]:
        return [
            r for r in self.rows if r.hospital == self.hospital.pk and not r.discarded and keep(r)
        ]


class Writer:
    """Writes invented requests with their transitions, applications and dispensations."""

    def __init__(self, hospital: Any, pharmacist: Any) -> None:
        self.hospital, self.pharmacist = hospital, pharmacist
        self.versions = {
            v.pathway.code: v
            for v in PathwayVersion.objects.filter(is_current=True).select_related("pathway")
        }
        self.rows: list[Written] = []

    def request(
        self,
        doctor: Any,
        *,
        created: datetime,
        status: str,
        code: str | None = None,
        legacy_pathway: str = "",
        steps: Sequence[tuple[str, datetime]] = (),
        grants: list[date] | None = None,
        pending_application: bool = False,
        costs: list[Decimal | None] | None = None,
        discarded: bool = False,
    ) -> Written:
        n = len(self.rows)
        patient = Patient.objects.create(
            hospital=doctor.hospital, pseudonym=f"PT-BRK-{n:04d}", created_by=doctor
        )
        request = OffLabelRequest.objects.create(
            hospital=doctor.hospital,
            patient=patient,
            prescriber=doctor,
            drug=drug_default(),
            regimen="azacitidine",
            ven_target_dose_mg=Decimal(400),
            ramp_up="hma_3_day",
            cycles_planned=4,
            jurisdiction="IT",
            pathway=legacy_pathway,
            status=S.DRAFT,
        )
        update: dict[str, Any] = {"created_at": created, "status": status}
        if discarded:
            update.update(discarded_at=created, discarded_by=doctor)
        OffLabelRequest.objects.filter(pk=request.pk).update(**update)
        name = None
        if code:
            version = self.versions[code]
            PathwayChoice.objects.create(request=request, pathway_version=version, chosen_by=doctor)
            name = version.name
        row = Written(
            pk=request.pk,
            hospital=doctor.hospital_id,
            prescriber=doctor.pk,
            department=doctor.department_id,
            created=created,
            status=status,
            code=code or legacy_pathway,
            name=name,
            discarded=discarded,
        )
        for to_status, at in steps:
            RequestTransition.objects.create(
                request=request,
                from_status=S.DRAFT,
                to_status=to_status,
                actor=doctor,
                occurred_at=at,
            )
            row.transitions.append((to_status, at))
        for granted_on in grants or []:
            app = Application.objects.create(
                request=request,
                hospital=doctor.hospital,
                body="aifa",
                prepared_at=date(2026, 1, 1),
                created_by=self.pharmacist,
                status=Application.Status.SUBMITTED,
                submitted_at=date(2026, 1, 1),
            )
            Application.objects.filter(pk=app.pk).update(
                status=Application.Status.GRANTED, decided_at=granted_on
            )
            row.grants.append(granted_on)
        if pending_application:  # not granted: no authorisation time
            Application.objects.create(
                request=request,
                hospital=doctor.hospital,
                body="aifa",
                prepared_at=date(2026, 1, 1),
                created_by=self.pharmacist,
                status=Application.Status.SUBMITTED,
                submitted_at=date(2026, 1, 1),
            )
        for cycle, cost in enumerate(costs or [], start=1):
            Dispensation.objects.create(
                request=request,
                cycle=cycle,
                payer="hospital_budget",
                total_mg=Decimal(10700),
                cost=cost,
                currency="EUR",
                dispensed_by=self.pharmacist,
                dispensed_at=created + timedelta(days=20 * cycle),
            )
            row.costs.append(cost)
        self.rows.append(row)
        return row


# Durations drawn from a few values, so the percentiles fall on ties.
HOURS = (24, 48, 48, 48, 72, 96, 96, 240)
FATES = ("draft", "submitted", "approved", "approved", "rejected", "awaiting", "treated", "twice")


@pytest.fixture
def varied(hospital, other_hospital, pharmacist, rules) -> Data:
    """About 70 invented requests of four physicians in two departments, over three pathways,
    none chosen and a legacy pathway field; first transitions that are not the only ones
    (submitted twice, awaiting then approved, rejected then approved); one or two grants;
    priced and unpriced dispensations; discarded drafts and another hospital's requests,
    which the report leaves out."""
    rng = random.Random(20261207)
    haem = Department.objects.create(hospital=hospital, name="Haematology")
    medicine = Department.objects.create(hospital=hospital, name="Internal medicine")
    doctors = [
        UserFactory.create(
            username=name,
            hospital=hospital,
            role="physician",
            department=haem if i < 2 else medicine,
            first_name="Doc",
            last_name=f"B{i}",
        )
        for i, name in enumerate(("dr.zeta", "dr.alfa", "Dr.Mid", "dr.beta"))
    ]
    stranger = UserFactory.create(username="dr.other", hospital=other_hospital, role="physician")
    writer = Writer(hospital, pharmacist)
    pathways = ("it_law_648", "it_law_94_98", "gb_gmc_off_label", None, None)
    for i in range(64):
        doctor = doctors[rng.randrange(len(doctors))]
        fate = rng.choice(FATES)
        created = START + timedelta(days=i, hours=rng.randrange(10))
        submitted = created + timedelta(hours=rng.choice((1, 5, 23)))
        decided = submitted + timedelta(hours=rng.choice(HOURS))
        code = pathways[i % len(pathways)]
        legacy = "it_law_648" if code is None and i % 2 else ""
        steps: list[tuple[str, datetime]] = []
        status, grants, costs = S.DRAFT, [], []
        if fate != "draft":
            steps.append((S.SUBMITTED, submitted))
            status = S.SUBMITTED
        if fate == "twice":  # a second submission later: the first one counts
            steps += [(S.CHANGES_REQUESTED, decided), (S.SUBMITTED, decided + timedelta(hours=7))]
            steps.append((S.APPROVED, decided + timedelta(hours=30)))
            status = S.APPROVED
        elif fate in ("approved", "treated"):
            if i % 3 == 0:  # awaiting an outside decision first: the first decision counts
                steps.append((S.AWAITING_AUTHORISATION, decided))
                decided += timedelta(days=3)
            steps.append((S.APPROVED, decided))
            status = S.APPROVED
            grants = [(created + timedelta(days=rng.choice((2, 5, 5, 9)))).date()]
            if i % 4 == 0:
                grants.append(grants[0] + timedelta(days=6))  # a later grant does not count
        elif fate == "rejected":
            steps.append((S.REJECTED, decided))
            status = S.REJECTED
            if i % 2:  # rejected, then resubmitted and approved: counted in both
                steps += [
                    (S.RESUBMITTED, decided + timedelta(days=1)),
                    (S.APPROVED, decided + timedelta(days=2)),
                ]
                status = S.APPROVED
        elif fate == "awaiting":
            steps.append((S.AWAITING_AUTHORISATION, decided))
            status = S.AWAITING_AUTHORISATION
        if fate == "treated":
            steps.append((S.ACTIVE, decided + timedelta(days=10)))
            status = rng.choice(OffLabelRequest.TREATED_STATES)
            costs = [Decimal(rng.choice((4100, 4962))) + Decimal("0.55"), None][: rng.randint(1, 2)]
        writer.request(
            doctor,
            created=created,
            status=status,
            code=code,
            legacy_pathway=legacy,
            steps=steps,
            grants=grants,
            pending_application=fate == "awaiting",
            costs=costs,
        )
    # Left out of the report: discarded drafts and another hospital's requests.
    for i in range(3):
        writer.request(doctors[i], created=START, status=S.DRAFT, discarded=True)
        writer.request(
            stranger,
            created=START,
            status=S.APPROVED,
            code="it_law_648",
            steps=[(S.SUBMITTED, START), (S.APPROVED, START + timedelta(days=1))],
        )
    return Data(hospital=hospital, rows=writer.rows, doctors=doctors)


def expected(rows: list[Written]) -> dict[str, Any]:
    """Every figure of request_figures, computed by hand from the written record."""

    def durations(values: list[timedelta | None]) -> Durations:
        present = [v for v in values if v is not None]
        return Durations(len(present), nearest_rank(present, 50), nearest_rank(present, 90))

    by_pathway = Counter((r.code, r.name) for r in rows)
    physicians = {}
    for doctor in {r.prescriber for r in rows}:
        mine = [r for r in rows if r.prescriber == doctor]
        physicians[doctor] = {
            "requests": len(mine),
            "approved": sum(r.ever_approved for r in mine),
            "rejected": sum(r.ever_rejected for r in mine),
            "treated": sum(r.status in OffLabelRequest.TREATED_STATES for r in mine),
            "cost": sum((r.cost for r in mine), Decimal(0)),
        }
    return {
        "by_state": dict(Counter(r.status for r in rows)),
        "approved": sum(r.ever_approved for r in rows),
        "rejected": sum(r.ever_rejected for r in rows),
        "to_decision": durations([r.to_decision for r in rows]),
        "to_authorisation": durations([r.to_authorisation for r in rows]),
        "by_pathway": {(code or "", name): n for (code, name), n in by_pathway.items()},
        "physicians": physicians,
    }


def assert_report_matches(report: Any, rows: list[Written]) -> None:
    want = expected(rows)
    assert report.total == len(rows)
    assert {r["status"]: r["n"] for r in report.by_state} == want["by_state"]
    assert report.approved == want["approved"]
    assert report.rejected == want["rejected"]
    assert report.to_decision == want["to_decision"]
    assert report.to_authorisation == want["to_authorisation"]
    got_pathways = {(r["code"] or "", r["name"]): r["n"] for r in report.by_pathway}
    assert got_pathways == want["by_pathway"]
    counts = [r["n"] for r in report.by_pathway]
    assert counts == sorted(counts, reverse=True)  # most requests first
    got_physicians = {
        line["prescriber_id"]: {k: line[k] for k in ("requests", "approved", "rejected")}
        | {"treated": line["treated"], "cost": line["cost"]}
        for line in report.physicians
    }
    assert got_physicians == want["physicians"]
    # By username, in the database's own order (its collation), as before.
    by_username = User.objects.filter(pk__in=want["physicians"]).order_by("username")
    assert [line["username"] for line in report.physicians] == [u.username for u in by_username]


FILTERS: list[tuple[str, Callable[[Data], ReportFilters], Callable[[Data], Callable]]] = [
    ("none", lambda d: ReportFilters(), lambda d: lambda r: True),
    (
        "physician",
        lambda d: ReportFilters(physician_id=d.doctors[1].pk),
        lambda d: lambda r: r.prescriber == d.doctors[1].pk,
    ),
    (
        "department",
        lambda d: ReportFilters(department_id=d.doctors[2].department_id),
        lambda d: lambda r: r.department == d.doctors[2].department_id,
    ),
    (
        "pathway",
        lambda d: ReportFilters(pathway="it_law_648"),
        # A chosen pathway, not the legacy field: the filter reads the choice.
        lambda d: lambda r: r.code == "it_law_648" and r.name is not None,
    ),
    (
        "state",
        lambda d: ReportFilters(state=S.APPROVED),
        lambda d: lambda r: r.status == S.APPROVED,
    ),
    (
        "period",
        lambda d: ReportFilters(date_from=date(2026, 2, 20), date_to=date(2026, 3, 15)),
        lambda d: lambda r: date(2026, 2, 20) <= r.created.date() <= date(2026, 3, 15),
    ),
    (
        "everything at once",
        lambda d: ReportFilters(
            date_from=date(2026, 2, 5),
            date_to=date(2026, 4, 1),
            department_id=d.doctors[0].department_id,
        ),
        lambda d: (
            lambda r: (
                r.department == d.doctors[0].department_id
                and date(2026, 2, 5) <= r.created.date() <= date(2026, 4, 1)
            )
        ),
    ),
]


@pytest.fixture(params=["percentile_disc", "cume_dist"])
def percentile_branch(request, monkeypatch) -> str:
    """Both ways to the percentiles: PostgreSQL's PERCENTILE_DISC (where the database has it)
    and the CUME_DIST statement the other databases run (which PostgreSQL runs as well)."""
    if request.param == "percentile_disc":
        if connection.vendor not in selectors.ORDERED_SET_AGGREGATES:
            pytest.skip("PERCENTILE_DISC is PostgreSQL's")
    else:
        monkeypatch.setattr(selectors, "ORDERED_SET_AGGREGATES", frozenset())
    return request.param


@pytest.mark.parametrize("name", [name for name, _, _ in FILTERS])
def test_one_pass_figures_equal_a_per_group_computation(varied, percentile_branch, name):
    filters, keep = next((f, k) for n, f, k in FILTERS if n == name)
    rows = varied.kept(keep(varied))
    assert rows, "each filter keeps some requests"
    report = report_compute(hospital=varied.hospital, filters=filters(varied))
    assert_report_matches(report, rows)


def test_the_data_set_has_what_the_figures_must_survive(varied):
    rows = varied.kept()
    assert any(sum(to == S.SUBMITTED for to, _ in r.transitions) > 1 for r in rows)
    assert any(r.ever_approved and r.ever_rejected for r in rows)
    assert any(len(r.grants) > 1 for r in rows) and any(None in r.costs for r in rows)
    assert any(r.name is None and r.code for r in rows)  # the legacy pathway field
    assert any(r.code == "" for r in rows)  # no pathway at all
    decisions = [r.to_decision for r in rows if r.to_decision is not None]
    assert len(set(decisions)) < len(decisions)  # ties
    assert len(varied.rows) > len(rows)  # discarded drafts and another hospital's


def test_the_breakdowns_come_from_the_same_one_statement(varied, percentile_branch):
    requests = selectors.requests_in_scope(varied.hospital, ReportFilters())
    with CaptureQueriesContext(connection) as captured:
        figures = request_figures(requests)
    assert len(captured.captured_queries) == 1
    sql = captured.captured_queries[0]["sql"]
    marker = "PERCENTILE_DISC" if percentile_branch == "percentile_disc" else "CUME_DIST"
    assert sql.count(marker) == 4  # median and 90th percentile of both durations
    assert figures.by_pathway and figures.physicians and figures.to_decision.n


@pytest.mark.django_db
def test_a_hospital_without_requests_has_an_empty_report(hospital, rules, percentile_branch):
    report = report_compute(hospital=hospital, filters=ReportFilters())
    assert report.total == 0 and report.by_state == [] and report.by_pathway == []
    assert report.physicians == [] and report.approved == report.rejected == 0
    assert report.approval_rate is None and report.rejection_rate is None
    assert report.to_decision == report.to_authorisation == Durations(0, None, None)


def test_one_request_is_its_own_median_and_90th_percentile(
    hospital, pharmacist, rules, percentile_branch
):
    doctor = UserFactory.create(username="dr.solo", hospital=hospital, role="physician")
    writer = Writer(hospital, pharmacist)
    writer.request(
        doctor,
        created=START,
        status=S.APPROVED,
        code="it_law_648",
        steps=[(S.SUBMITTED, START), (S.APPROVED, START + timedelta(hours=50))],
        grants=[date(2026, 2, 9)],
        costs=[Decimal("12.30")],
    )
    report = report_compute(hospital=hospital, filters=ReportFilters())
    assert report.to_decision == Durations(1, timedelta(hours=50), timedelta(hours=50))
    # Submitted on 2 February (Rome), granted on the 9th: 7 days.
    assert report.to_authorisation == Durations(1, timedelta(days=7), timedelta(days=7))
    assert_report_matches(report, writer.rows)
    assert report.physicians[0]["cost"] == Decimal("12.30")


@pytest.mark.parametrize(
    "hours, median, p90",
    [
        # Ties on the median's rank: the 2nd of 4 is 24 h (at least half at or below 24 h).
        ((24, 24, 48, 48), 24, 48),
        # Ten values: the 5th and the 9th, ties on both sides.
        ((10, 20, 20, 20, 30, 30, 30, 30, 40, 50), 30, 40),
        # All equal.
        ((72, 72, 72), 72, 72),
        # Eleven: ranks 6 and 10.
        ((1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), 6, 10),
    ],
)
def test_percentiles_are_nearest_rank_with_ties(
    hospital, pharmacist, rules, percentile_branch, hours, median, p90
):
    doctor = UserFactory.create(username="dr.ties", hospital=hospital, role="physician")
    writer = Writer(hospital, pharmacist)
    for i, h in enumerate(rng_shuffled(hours)):
        submitted = START + timedelta(days=i)
        writer.request(
            doctor,
            created=submitted,
            status=S.APPROVED,
            steps=[(S.SUBMITTED, submitted), (S.APPROVED, submitted + timedelta(hours=h))],
        )
    report = report_compute(hospital=hospital, filters=ReportFilters())
    assert report.to_decision == Durations(
        len(hours), timedelta(hours=median), timedelta(hours=p90)
    )
    assert_report_matches(report, writer.rows)


def rng_shuffled(values: tuple[int, ...]) -> list[int]:
    """The durations in an order unrelated to their size (the rows' order must not matter)."""
    shuffled = list(values)
    random.Random(len(values)).shuffle(shuffled)
    return shuffled


def test_a_decision_without_a_submission_has_no_duration(hospital, pharmacist, rules):
    doctor = UserFactory.create(username="dr.odd", hospital=hospital, role="physician")
    writer = Writer(hospital, pharmacist)
    writer.request(doctor, created=START, status=S.REJECTED, steps=[(S.REJECTED, START)])
    report = report_compute(hospital=hospital, filters=ReportFilters())
    assert report.rejected == 1 and report.to_decision == Durations(0, None, None)
    assert_report_matches(report, writer.rows)


@pytest.mark.django_db
def test_another_hospital_in_the_database_changes_nothing(hospital, pharmacist, rules):
    """The report of an empty hospital stays empty beside a busy one (no row leaks through
    the joins of the names: pathways and physicians are looked up after grouping)."""
    busy = HospitalFactory.create(name="Invented Busy Hospital", code="inv-busy")
    doctor = UserFactory.create(username="dr.busy", hospital=busy, role="physician")
    Writer(busy, pharmacist).request(
        doctor, created=START, status=S.SUBMITTED, code="it_law_648", steps=[(S.SUBMITTED, START)]
    )
    report = report_compute(hospital=hospital, filters=ReportFilters())
    assert report.total == 0 and report.by_pathway == [] and report.physicians == []


REPORT_QUERIES = 8  # the one pass (states, decisions, durations, pathways, physicians); open
# and overdue applications; approvals without consent; dispensing; responses; adverse events;
# each physician's cost


def test_the_report_is_eight_queries_whatever_the_rows(varied, percentile_branch):
    with CaptureQueriesContext(connection) as captured:
        report_compute(hospital=varied.hospital, filters=ReportFilters())
    assert len(captured.captured_queries) == REPORT_QUERIES
    with CaptureQueriesContext(connection) as narrowed:
        report_compute(hospital=varied.hospital, filters=ReportFilters(state=S.DRAFT))
    assert len(narrowed.captured_queries) == REPORT_QUERIES
