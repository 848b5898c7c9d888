"""Reads of the follow-up registry: treated requests, the hospital's results next to the
literature, the Law 648 export rows and the request panel.

Counting happens in the database (one aggregate query for every rate on the page); Python only
does the arithmetic on a handful of dates per patient for the medians and the survival curve.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict

from django.db.models import (
    Case,
    Count,
    Exists,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext
from django_stubs_ext import WithAnnotations

from accounts.roles import Role, roles_of
from evidence.models import Outcome, RegimenCode, SettingTag, Study
from followup.models import (
    COMPLETE_RESPONSES,
    OBJECTIVE_RESPONSES,
    RESPONSE_RANK,
    AdverseEvent,
    FollowUp,
    Mrd,
    PharmacovigilanceReminder,
    RenewalReport,
    ResponseAssessment,
)
from followup.statistics import Proportion, SurvivalCurve, km_fit, proportion_ci
from offlabel.dates import local_midnight
from pharmacy.models import Dispensation
from pharmacy.selectors import treatment_started_on
from prescriptions.models import OffLabelRequest
from prescriptions.policies import acts_as_prescriber
from regulatory.reminders import OpenReminder

GRADES = (1, 2, 3, 4, 5)

# The study database's regimen code for each regimen a request can name. "Other combination"
# has none: the studies coded "VEN + other" are different combinations.
REGIMEN_TO_CODE: dict[str, str] = {
    OffLabelRequest.Regimen.AZACITIDINE: RegimenCode.VEN_AZA,
    OffLabelRequest.Regimen.DECITABINE_5: RegimenCode.VEN_DEC_5,
    OffLabelRequest.Regimen.DECITABINE_10: RegimenCode.VEN_DEC_10,
    OffLabelRequest.Regimen.LDAC: RegimenCode.VEN_LDAC,
    OffLabelRequest.Regimen.FLAG_IDA: RegimenCode.VEN_FLAG_IDA,
    OffLabelRequest.Regimen.DLI: RegimenCode.VEN_DLI,
    OffLabelRequest.Regimen.MONOTHERAPY: RegimenCode.VEN_MONO,
}
# Studies coded with a broader class also report on the request's regimen: "VEN + HMA" may
# have been azacitidine or decitabine, "VEN + decitabine" either schedule. They are shown with
# the regimen, marked as the broader class (Aldoss 2019, Stahl, Morsia, Feld, DiNardo 2018 and
# Tenold are coded so).
BROADER_CODES: dict[str, tuple[str, ...]] = {
    RegimenCode.VEN_AZA: (RegimenCode.VEN_HMA,),
    RegimenCode.VEN_DEC_5: (RegimenCode.VEN_DEC, RegimenCode.VEN_HMA),
    RegimenCode.VEN_DEC_10: (RegimenCode.VEN_DEC, RegimenCode.VEN_HMA),
}
LITERATURE_MEASURES = (
    Outcome.Measure.ORR,
    Outcome.Measure.CR_CRI,
    Outcome.Measure.CR,
    Outcome.Measure.CRI,
    Outcome.Measure.MEDIAN_OS_MONTHS,
)


class TreatedFields(TypedDict):
    started_at: datetime


class OutcomeFields(TreatedFields):
    cycles_dispensed: int
    best_response: str | None
    best_response_on: date | None
    best_mrd: str
    ae_grade_3_plus: int
    serious_aes: int


if TYPE_CHECKING:  # WithAnnotations takes the TypedDict for type checkers only
    TreatedRequest = WithAnnotations[OffLabelRequest, TreatedFields]
    RequestWithOutcomes = WithAnnotations[OffLabelRequest, OutcomeFields]
else:
    TreatedRequest = RequestWithOutcomes = OffLabelRequest


@dataclass(frozen=True)
class RegistryFilters:
    regimen: str = ""
    started_from: date | None = None
    started_to: date | None = None


def treated_requests(
    base: QuerySet[OffLabelRequest], filters: RegistryFilters | None = None
) -> QuerySet[TreatedRequest]:
    """Requests that started treatment (a treated state and a first dispensation), annotated
    with ``started_at``, the first dispensation's time."""
    filters = filters or RegistryFilters()
    queryset = (
        base.filter(status__in=OffLabelRequest.TREATED_STATES)
        .annotate(started_at=Min("dispensations__dispensed_at"))
        .filter(started_at__isnull=False)
    )
    if filters.regimen:
        queryset = queryset.filter(regimen=filters.regimen)
    if filters.started_from:
        queryset = queryset.filter(started_at__gte=local_midnight(filters.started_from))
    if filters.started_to:
        queryset = queryset.filter(
            started_at__lt=local_midnight(filters.started_to + timedelta(days=1))
        )
    return queryset


def _has(model: Any, **conditions: Any) -> Exists:
    return Exists(model.objects.filter(request=OuterRef("pk"), **conditions))


@dataclass(frozen=True)
class GradeRate:
    label: str
    rate: Proportion


@dataclass(frozen=True)
class LiteratureStudy:
    study: Study
    arms: list[str]
    outcomes: list[Outcome]
    broader_code: str = ""  # the broader class the study is coded with, if not the regimen's

    @property
    def broader_label(self) -> str:
        return str(RegimenCode(self.broader_code).label) if self.broader_code else ""


@dataclass(frozen=True)
class LiteratureGroup:
    regimen: str
    regimen_label: str
    code_label: str
    studies: list[LiteratureStudy]


@dataclass(frozen=True)
class Registry:
    filters: RegistryFilters
    today: date
    n_treated: int
    # Response rates are over the assessed requests; the others are counted apart, not as
    # non-responders (a patient not yet assessed has not failed to respond).
    n_assessed: int
    orr: Proportion
    complete: Proportion
    ongoing: int
    ae_by_grade: list[GradeRate]
    survival: SurvivalCurve | None
    time_on_treatment: SurvivalCurve | None
    literature: list[LiteratureGroup] = field(default_factory=list)

    @property
    def not_assessed(self) -> int:
        return self.n_treated - self.n_assessed


def registry_counts(treated: QuerySet[TreatedRequest]) -> dict[str, int]:
    """Every count of the page in one aggregate query: treated requests, assessed ones, best
    responses, and requests (patients' courses) with at least one adverse event of each grade."""
    conditions: dict[str, Exists] = {
        "assessed": _has(ResponseAssessment),
        "any_objective": _has(ResponseAssessment, response__in=OBJECTIVE_RESPONSES),
        "any_complete": _has(ResponseAssessment, response__in=COMPLETE_RESPONSES),
        **{f"any_grade_{g}": _has(AdverseEvent, grade=g) for g in GRADES},
        "any_grade_3_plus": _has(AdverseEvent, grade__gte=3),
    }
    # Counted over the treated ids rather than over ``treated`` itself: its first-dispensation
    # annotation is a GROUP BY, which aggregate() would wrap in a subquery.
    counts = OffLabelRequest.objects.filter(pk__in=treated.values("pk")).aggregate(
        n=Count("pk"),
        **{name: Count("pk", filter=Q(condition)) for name, condition in conditions.items()},
    )
    return {key: int(value or 0) for key, value in counts.items()}


def last_known_dates(treated: QuerySet[TreatedRequest]) -> dict[int, date]:
    """Per treated request, the latest day the patient is known to have been alive: the last
    contact, or any later dated record (a dispensation, an assessment, an adverse event's
    onset, recovery or resolution, the transplant, the end of treatment). Four queries, however
    many requests. A living patient is censored here, never at today: censoring at today
    counts the weeks nobody saw the patient as weeks survived."""
    ids = treated.values("pk")
    latest: dict[int, date] = {}

    def see(request_id: int, *days: date | None) -> None:
        for day in days:
            if day is not None and (request_id not in latest or day > latest[request_id]):
                latest[request_id] = day

    for row in (
        Dispensation.objects.filter(request__in=ids)
        .order_by()
        .values("request")
        .annotate(last=Max("dispensed_at"))
    ):
        see(row["request"], timezone.localdate(row["last"]))
    for assessed in (
        ResponseAssessment.objects.filter(request__in=ids)
        .order_by()
        .values("request")
        .annotate(last=Max("assessed_on"))
    ):
        see(assessed["request"], assessed["last"])
    for event in (
        AdverseEvent.objects.filter(request__in=ids)
        .order_by()
        .values("request")
        .annotate(
            onset=Max("onset_on"),
            resolved=Max("resolved_on"),
            recovered=Max("recovered_to_grade_2_on"),
        )
    ):
        see(event["request"], event["onset"], event["resolved"], event["recovered"])
    for record in FollowUp.objects.filter(request__in=ids).values(
        "request", "last_contact_on", "transplant_on", "treatment_end_on"
    ):
        see(
            record["request"],
            record["last_contact_on"],
            record["transplant_on"],
            record["treatment_end_on"],
        )
    return latest


def registry_summary(
    *, hospital_id: int, filters: RegistryFilters | None = None, today: date | None = None
) -> Registry:
    """The page's figures. Overall survival: first dispensation to death, a living patient
    censored at the last day known alive (:func:`last_known_dates`). Time on treatment, also
    Kaplan–Meier: first dispensation to the end of treatment (or death, whichever is first),
    an ongoing treatment censored at the last day known on it (the same last known day: with
    no end recorded, every record is one on treatment)."""
    filters = filters or RegistryFilters()
    today = today or timezone.localdate()
    treated = treated_requests(OffLabelRequest.objects.filter(hospital_id=hospital_id), filters)
    counts = registry_counts(treated)
    n = counts["n"]
    rows = list(
        treated.values(
            "pk",
            "regimen",
            "started_at",
            "followup__treatment_end_on",
            "followup__death_on",
        ).order_by("pk")
    )
    last_known = last_known_dates(treated)
    survival: list[tuple[float, bool]] = []
    on_treatment: list[tuple[float, bool]] = []
    for row in rows:
        started = timezone.localdate(row["started_at"])
        death = row["followup__death_on"]
        ends = [d for d in (row["followup__treatment_end_on"], death) if d]
        last = max(last_known.get(row["pk"], started), started)
        survival.append(((death - started).days, True) if death else ((last - started).days, False))
        on_treatment.append(
            ((min(ends) - started).days, True) if ends else ((last - started).days, False)
        )
    ongoing = sum(
        1 for row in rows if not (row["followup__treatment_end_on"] or row["followup__death_on"])
    )
    grades = [
        GradeRate(
            gettext("Grade %(grade)s") % {"grade": g}, proportion_ci(counts[f"any_grade_{g}"], n)
        )
        for g in GRADES
    ]
    grades.append(
        GradeRate(gettext("Grade ≥3 (any)"), proportion_ci(counts["any_grade_3_plus"], n))
    )
    regimens = [filters.regimen] if filters.regimen else sorted({r["regimen"] for r in rows})
    assessed = counts["assessed"]
    return Registry(
        filters=filters,
        today=today,
        n_treated=n,
        n_assessed=assessed,
        orr=proportion_ci(counts["any_objective"], assessed),
        complete=proportion_ci(counts["any_complete"], assessed),
        ongoing=ongoing,
        ae_by_grade=grades,
        survival=km_fit(survival),
        time_on_treatment=km_fit(on_treatment),
        literature=literature_for(regimens),
    )


def literature_for(regimens: list[str]) -> list[LiteratureGroup]:
    """Published figures for the same regimen in relapsed/refractory AML, each with the
    source's own wording (two queries and their prefetches, however many studies)."""
    wanted = {r: REGIMEN_TO_CODE[r] for r in regimens if r in REGIMEN_TO_CODE}
    if not wanted:
        return []
    codes = set(wanted.values()) | {c for v in wanted.values() for c in BROADER_CODES.get(v, ())}
    studies = list(
        Study.objects.filter(settings__tag=SettingTag.RR_AML, regimens__code__in=codes)
        .distinct()
        .order_by("year", "first_author", "pk")
        .prefetch_related(
            "regimens",
            Prefetch(
                "outcomes",
                queryset=Outcome.objects.filter(measure__in=LITERATURE_MEASURES).order_by("pk"),
            ),
        )
    )
    labels = dict(OffLabelRequest.Regimen.choices)
    code_labels = dict(RegimenCode.choices)
    groups = []
    for regimen, code in wanted.items():
        matching = []
        for study in studies:
            study_codes = {r.code for r in study.regimens.all()}
            if code in study_codes:
                broader = ""
            else:
                broader = next((b for b in BROADER_CODES.get(code, ()) if b in study_codes), "")
                if not broader:
                    continue
            matching.append(
                LiteratureStudy(
                    study=study,
                    arms=[r.text for r in study.regimens.all() if r.code == (broader or code)],
                    outcomes=list(study.outcomes.all()),
                    broader_code=broader,
                )
            )
        groups.append(
            LiteratureGroup(regimen, str(labels[regimen]), str(code_labels[code]), matching)
        )
    return groups


# --- Law 648 monitoring export -----------------------------------------------------------------


def _count_of(queryset: QuerySet[Any]) -> Coalesce:
    """A per-request count as a correlated subquery (no join fan-out between counts)."""
    return Coalesce(
        Subquery(
            queryset.filter(request=OuterRef("pk"))
            .order_by()
            .values("request")
            .annotate(c=Count("pk"))
            .values("c")[:1],
            output_field=IntegerField(),
        ),
        Value(0),
    )


def _best_assessment() -> QuerySet[ResponseAssessment]:
    rank = Case(
        *(When(response=r, then=Value(i)) for r, i in RESPONSE_RANK.items()),
        output_field=IntegerField(),
    )
    return (
        ResponseAssessment.objects.filter(request=OuterRef("pk"))
        .annotate(rank=rank)
        .order_by("rank", "assessed_on", "pk")
    )


def with_outcomes(treated: QuerySet[TreatedRequest]) -> QuerySet[RequestWithOutcomes]:
    """Treated requests with everything the Law 648 export and the renewal report summarise."""
    best = _best_assessment()
    return treated.select_related("patient", "followup").annotate(
        cycles_dispensed=_count_of(Dispensation.objects.all()),
        best_response=Subquery(best.values("response")[:1]),
        best_response_on=Subquery(best.values("assessed_on")[:1]),
        best_mrd=Case(
            When(_has(ResponseAssessment, mrd=Mrd.NEGATIVE), then=Value(Mrd.NEGATIVE.value)),
            When(_has(ResponseAssessment, mrd=Mrd.POSITIVE), then=Value(Mrd.POSITIVE.value)),
            default=Value(Mrd.NOT_ASSESSED.value),
        ),
        ae_grade_3_plus=_count_of(AdverseEvent.objects.filter(grade__gte=3)),
        serious_aes=_count_of(AdverseEvent.objects.filter(serious=True)),
    )


# --- Reminders and the request panel -----------------------------------------------------------


def pv_reminders_open(requests: QuerySet[OffLabelRequest]) -> QuerySet[PharmacovigilanceReminder]:
    return (
        PharmacovigilanceReminder.objects.filter(
            adverse_event__request__in=requests.values("pk"), resolved_at=None
        )
        # deadline and hospital: what display_message rebuilds the sentence from.
        .select_related("adverse_event__request__patient", "deadline", "hospital")
        .order_by("due_at", "pk")
    )


def pv_open_reminders(requests: QuerySet[OffLabelRequest], now: datetime) -> list[OpenReminder]:
    """The pharmacovigilance reports due on ``requests``, as the reminder lists show them
    (registered with ``regulatory.reminders`` by ``FollowupConfig.ready``): one query."""
    rows = []
    for pv in pv_reminders_open(requests):
        request = pv.adverse_event.request
        rows.append(
            OpenReminder(
                kind=OpenReminder.PHARMACOVIGILANCE,
                pk=pv.pk,
                due_on=timezone.localdate(pv.due_at) if pv.due_at else None,
                due_at=pv.due_at,
                overdue=pv.due_at is not None and pv.due_at < now,
                request_id=request.pk,
                reference=request.reference,
                pseudonym=request.patient.pseudonym,
                what=pv.display_message,
                about=pv.display_source,
                confirmed=pv.deadline_confirmed,
                emailed_to=list(pv.emailed_to or []),
            )
        )
    return rows


def followup_panel_data(offlabel: OffLabelRequest, user: Any) -> dict[str, Any]:
    """What the request page's follow-up panel shows (data only: the forms are
    ``followup.forms.followup_panel_forms``)."""
    started = treatment_started_on(offlabel)
    context: dict[str, Any] = {
        "offlabel": offlabel,
        "fu_started_on": started,
        "fu_open": offlabel.status in OffLabelRequest.TREATED_STATES and started is not None,
    }
    if not context["fu_open"]:
        return context
    roles = roles_of(user)
    is_prescriber = acts_as_prescriber(user, offlabel)
    reports = list(offlabel.renewal_reports.order_by("-requested_at", "-pk")[:10])
    record = FollowUp.objects.filter(request=offlabel).first()
    events = list(offlabel.adverse_events.select_related("pv_reminder").order_by("onset_on", "pk"))
    context.update(
        {
            "fu_cycles": offlabel.dispensations.count(),
            "fu_assessments": list(offlabel.assessments.order_by("assessed_on", "pk")),
            "fu_events": events,
            # A reverse one-to-one without a row raises an AttributeError subclass.
            "fu_reminders": [r for e in events if (r := getattr(e, "pv_reminder", None))],
            "fu_record": record,
            # A grade 5 event is a death: survival counts it only once the date is recorded.
            "fu_death_missing": any(e.grade == 5 for e in events)
            and not (record and record.death_on),
            "fu_reports": reports,
            "fu_pending": any(
                r.status in (RenewalReport.Status.QUEUED, RenewalReport.Status.RENDERING)
                for r in reports
            ),
            "fu_can_write": is_prescriber or Role.PHARMACIST in roles,
            "fu_can_report": is_prescriber,
        }
    )
    return context
