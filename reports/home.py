"""What waits for each role on the home page (issue 15): one selector per role, each a read that
returns plain data with the count of every section.

Each selector runs a fixed number of queries, whatever the number of requests: rows are
annotated in the database (the pharmacist's "changes requested" reason, whether a consent is
signed, the latest treatment plan) instead of being looked up one request at a time. A section
shows its first ``HOME_ROWS`` rows and counts all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, OuterRef, QuerySet, Subquery, Sum
from django.utils import timezone

from accounts.roles import Role, roles_of
from audit.models import AuditChainCheck
from consent.models import ConsentDocument, ConsentSignature
from followup.models import ResponseAssessment
from pharmacy.models import Dispensation, TreatmentPlanVersion
from prescriptions.models import OffLabelRequest, RequestTransition, request_reference
from prescriptions.policies import requests_visible_to
from prescriptions.selectors import list_rows, pharmacy_queue, request_list
from regulatory.models import Body, DeadlineRule, PathwayVersion
from regulatory.reminders import OpenReminder, reminders_open
from regulatory.selectors import jurisdictions_of
from reports.selectors import Report, ReportFilters, report_compute

S = OffLabelRequest.Status
HOME_ROWS = 10
RENEWAL_KINDS = (DeadlineRule.Kind.EXPIRING, DeadlineRule.Kind.RENEWAL_DUE)
# How far ahead the pharmacist's home looks for cycles that can be dispensed.
DISPENSE_HORIZON_DAYS = 7
# A rule verified longer ago than this is due for another check against the official text.
RULE_VERIFIED_MAX_AGE_DAYS = 365


@dataclass(frozen=True)
class Section:
    """A list on the home page: its first rows and how many there are in all."""

    rows: list[Any]
    count: int

    @classmethod
    def of(cls, rows: list[Any]) -> Section:
        return cls(rows=rows[:HOME_ROWS], count=len(rows))

    @classmethod
    def of_queryset(cls, queryset: QuerySet[Any]) -> Section:
        return cls(rows=list(queryset[:HOME_ROWS]), count=queryset.count())


def _latest_change_request(column: str) -> Subquery:
    return Subquery(
        RequestTransition.objects.filter(request=OuterRef("pk"), to_status=S.CHANGES_REQUESTED)
        .order_by("-occurred_at", "-pk")
        .values(column)[:1]
    )


def _live_signature() -> Exists:
    """A signature not withdrawn, on a rendered form not superseded (the writes that change a
    form's inputs supersede it: ``consent.services.consent_supersede_stale``)."""
    return Exists(
        ConsentSignature.objects.filter(
            document__request=OuterRef("pk"),
            document__status=ConsentDocument.Status.READY,
            withdrawn_at__isnull=True,
        )
    )


def _form_to_sign() -> Exists:
    return Exists(
        ConsentDocument.objects.filter(
            request=OuterRef("pk"), status=ConsentDocument.Status.READY, signature__isnull=True
        )
    )


# --- Physician ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PhysicianHome:
    drafts: Section
    changes_requested: Section
    consents_to_sign: Section
    pharmacovigilance_due: Section
    responses_to_record: Section
    renewals_due: Section

    @property
    def total(self) -> int:
        return sum(
            s.count
            for s in (
                self.drafts,
                self.changes_requested,
                self.consents_to_sign,
                self.pharmacovigilance_due,
                self.responses_to_record,
                self.renewals_due,
            )
        )


def physician_home(user: Any, *, reminders: list[OpenReminder] | None = None) -> PhysicianHome:
    """Drafts and requests sent back (their own), consents to sign, pharmacovigilance reports
    and response assessments to record, renewals due (their patients')."""
    mine = list_rows(request_list(user).filter(prescriber=user))
    drafts = mine.filter(status=S.DRAFT).order_by("-updated_at", "-pk")
    changes = (
        mine.filter(status=S.CHANGES_REQUESTED)
        .annotate(
            change_reason=_latest_change_request("reason"),
            change_by=_latest_change_request("actor__username"),
            change_at=_latest_change_request("occurred_at"),
        )
        .order_by("status_changed_at", "pk")
    )
    treating = requests_visible_to(user).filter(patient__treating_physicians=user)
    consents = (
        treating.filter(status__in=OffLabelRequest.WITH_PHARMACY_STATES)
        .annotate(signed=_live_signature(), form_ready=_form_to_sign())
        .filter(signed=False)
        .order_by("status_changed_at", "pk")
    )
    not_assessed = (
        requests_visible_to(user)
        .filter(status=S.ACTIVE)
        .annotate(
            assessed=Exists(ResponseAssessment.objects.filter(request=OuterRef("pk"))),
            cycles_dispensed=Subquery(
                Dispensation.objects.filter(request=OuterRef("pk"))
                .order_by()
                .values("request")
                .annotate(n=Count("cycle", distinct=True))
                .values("n")[:1]
            ),
        )
        .filter(assessed=False)
        .order_by("status_changed_at", "pk")
    )
    open_reminders = reminders if reminders is not None else reminders_open(user)
    return PhysicianHome(
        drafts=Section.of_queryset(drafts),
        changes_requested=Section.of_queryset(changes),
        consents_to_sign=Section.of_queryset(consents),
        pharmacovigilance_due=Section.of(
            [r for r in open_reminders if r.kind == OpenReminder.PHARMACOVIGILANCE]
        ),
        responses_to_record=Section.of_queryset(not_assessed),
        renewals_due=Section.of([r for r in open_reminders if r.rule_kind in RENEWAL_KINDS]),
    )


# --- Pharmacist --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CycleToDispense:
    request: OffLabelRequest
    cycle: int
    cycles_planned: int
    # None for cycle 1: it is dispensed once the TLS precautions are recorded.
    dispense_from: date | None
    available_now: bool
    open_blocking: int


@dataclass(frozen=True)
class PharmacistHome:
    queue: Section
    queue_blocked: int  # requests in the queue with a blocking finding no pharmacist decided
    cycles_to_dispense: Section
    reminders: Section
    now: datetime = field(default_factory=timezone.now)


def cycles_to_dispense(
    user: Any, *, today: date | None = None, horizon_days: int = DISPENSE_HORIZON_DAYS
) -> list[CycleToDispense]:
    """Approved and active requests whose next cycle can be dispensed within ``horizon_days``.

    The cycle dates are the treatment plan's as last recorded (``TreatmentPlanVersion``, which
    ``plan_version_sync`` records whenever the plan's inputs change: the same computation the
    pharmacy page shows), and a cycle is done once its planned milligrams are dispensed, as
    ``pharmacy.services.dispense_next_cycle`` counts. Three queries in all."""
    today = today or timezone.localdate()
    hospital = getattr(user, "hospital", None)
    window = hospital.dispense_early_window_days if hospital is not None else 0
    requests = list(
        list_rows(request_list(user))
        .filter(status__in=OffLabelRequest.DISPENSABLE_STATES)
        .annotate(
            plan_schedule=Subquery(
                TreatmentPlanVersion.objects.filter(request=OuterRef("pk"))
                .order_by("-number")
                .values("schedule")[:1]
            )
        )
        .order_by("pk")
    )
    given: dict[tuple[int, int], Decimal] = {
        (row["request_id"], row["cycle"]): row["mg"]
        for row in Dispensation.objects.filter(request__in=[r.pk for r in requests])
        .values("request_id", "cycle")
        .annotate(mg=Sum("total_mg"))
    }
    due = []
    for request in requests:
        schedule = getattr(request, "plan_schedule", None) or []
        for cycle in schedule:
            number = int(cycle["cycle"])
            if given.get((request.pk, number), Decimal(0)) >= Decimal(cycle["total_mg"]):
                continue
            start = date.fromisoformat(cycle["start_on"]) if cycle.get("start_on") else None
            dispense_from = start - timedelta(days=window) if start and number > 1 else None
            if number == 1 or (
                dispense_from is not None and dispense_from <= today + timedelta(days=horizon_days)
            ):
                summary = getattr(request, "safety_summary", None)
                due.append(
                    CycleToDispense(
                        request=request,
                        cycle=number,
                        cycles_planned=len(schedule),
                        dispense_from=dispense_from,
                        available_now=dispense_from is None or dispense_from <= today,
                        open_blocking=summary.open_blocking if summary else 0,
                    )
                )
            break  # only the next cycle: the later ones wait for it
    due.sort(key=lambda c: (c.dispense_from or date.min, c.request.pk))
    return due


def pharmacist_home(user: Any, *, reminders: list[OpenReminder] | None = None) -> PharmacistHome:
    """The queue, oldest waiting first, with its blocking findings; the cycles to dispense this
    week; every open reminder."""
    queue = list_rows(pharmacy_queue(user))
    blocked = queue.filter(safety_summary__open_blocking__gt=0).count()
    return PharmacistHome(
        queue=Section.of_queryset(queue),
        queue_blocked=blocked,
        cycles_to_dispense=Section.of(cycles_to_dispense(user)),
        reminders=Section.of(reminders if reminders is not None else reminders_open(user)),
    )


# --- Hospital administrator ------------------------------------------------------------------


@dataclass(frozen=True)
class AdminHome:
    report: Report
    overdue_applications: Section
    last_chain_check: AuditChainCheck | None


def admin_home(user: Any) -> AdminHome | None:
    """The report's figures for the whole period (the report page's own computation, not a
    second one), its overdue applications, and the last walk of the audit chain (the nightly
    check, or one asked for on the audit page)."""
    hospital = getattr(user, "hospital", None)
    if hospital is None:
        return None
    report = report_compute(hospital=hospital, filters=ReportFilters())
    bodies = dict(Body.choices)
    overdue = [
        {
            **row,
            "reference": request_reference(row["reference_pk"]),
            "body_label": bodies.get(row["body"], row["body"]),
        }
        for row in report.applications_overdue
    ]
    return AdminHome(
        report=report,
        overdue_applications=Section.of(overdue),
        last_chain_check=AuditChainCheck.objects.order_by("-checked_at", "-pk").first(),
    )


# --- Rule steward and regulatory officer -------------------------------------------------------


@dataclass(frozen=True)
class RuleToVerify:
    version: PathwayVersion
    unconfirmed_items: int  # criteria and checklist items not confirmed against the source
    stale: bool  # verified more than RULE_VERIFIED_MAX_AGE_DAYS ago

    @property
    def unconfirmed(self) -> bool:
        return not self.version.confirmed


def _unconfirmed(items: Any) -> int:
    return sum(1 for item in items or [] if isinstance(item, dict) and not item.get("confirmed"))


def rules_to_verify(user: Any, *, today: date | None = None) -> list[RuleToVerify]:
    """The current national rules that are not confirmed, have unconfirmed criteria or
    checklist items, or were verified more than a year ago. A steward sees every country's;
    a hospital's officer those of the hospital's country and of the jurisdictions its requests
    were filed under."""
    today = today or timezone.localdate()
    oldest = today - timedelta(days=RULE_VERIFIED_MAX_AGE_DAYS)
    versions = PathwayVersion.objects.filter(is_current=True).select_related(
        "pathway__jurisdiction"
    )
    hospital = getattr(user, "hospital", None)
    if hospital is not None:
        versions = versions.filter(pathway__jurisdiction__code__in=jurisdictions_of(hospital))
    found = []
    for version in versions.order_by("pathway__jurisdiction__code", "pathway__order"):
        items = _unconfirmed(version.criteria) + _unconfirmed(version.checklist)
        stale = version.verified_on < oldest
        if items or stale or not version.confirmed:
            found.append(RuleToVerify(version=version, unconfirmed_items=items, stale=stale))
    return found


# --- The page ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Home:
    physician: PhysicianHome | None = None
    pharmacist: PharmacistHome | None = None
    admin: AdminHome | None = None
    rules: Section | None = None
    reminders: Section | None = None  # a committee secretary's (the pharmacist's are above)


def home_for(user: Any) -> Home:
    """Every section the user's roles call for (a user may hold several roles)."""
    roles = roles_of(user)
    needs_reminders = roles & {Role.PHYSICIAN, Role.PHARMACIST, Role.COMMITTEE_SECRETARY}
    reminders = reminders_open(user) if needs_reminders else []
    return Home(
        physician=physician_home(user, reminders=reminders) if Role.PHYSICIAN in roles else None,
        pharmacist=pharmacist_home(user, reminders=reminders) if Role.PHARMACIST in roles else None,
        admin=admin_home(user) if Role.HOSPITAL_ADMIN in roles else None,
        rules=Section.of(rules_to_verify(user))
        if roles & {Role.RULE_STEWARD, Role.REGULATORY_OFFICER}
        else None,
        reminders=Section.of(reminders)
        if Role.COMMITTEE_SECRETARY in roles and Role.PHARMACIST not in roles
        else None,
    )
