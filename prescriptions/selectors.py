"""Reads: who sees which patients and requests, the queue, the dashboard, evidence summary."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import (
    Count,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce, Replace, Upper
from django.utils import formats
from django.utils.translation import gettext, gettext_lazy, ngettext

from accounts.roles import Role, roles_of
from audit.models import AuditEvent
from evidence.models import DESIGN_LEVEL, RRExclusion, rr_population_label
from evidence.ranking import PatientFeatures, Suggestion, studies_rank
from offlabel.rendering import RenderStatus
from prescriptions.models import (
    EvidenceAttachment,
    OffLabelRequest,
    Patient,
    PatientIdentity,
    RequestTransition,
)
from prescriptions.policies import patients_visible_to, requests_visible_to

DESIGN_LABEL = {
    3: gettext_lazy("clinical trial (phase Ib/II or II)"),
    2: gettext_lazy("retrospective study"),
    1: gettext_lazy("case report"),
}


def patient_is_treated_by(patient: Patient, user: Any) -> bool:
    return patient.treating_physicians.filter(pk=user.pk).exists()


# --- Telling patients apart, and finding one already recorded ---------------------------------


def national_id_key(value: str) -> str:
    """A tax or health-card number as compared: letters and digits only, upper case
    ("rss mra 58c54 h501-x" and "RSSMRA58C54H501X" are one number)."""
    return "".join(ch for ch in value.upper() if ch.isalnum())


# What people type between the characters of a number, for a database without regexp_replace.
NATIONAL_ID_SEPARATORS = " -./_,:;'"


def _national_id_key_expression() -> Func:
    """``national_id_key`` in SQL. PostgreSQL keeps letters and digits only; SQLite (the
    embedded default of ``dev.py run``) has no regexp_replace and drops the separators people
    type instead (``NATIONAL_ID_SEPARATORS``)."""
    if connection.vendor == "postgresql":
        return Func(
            Upper(F("national_id")),
            Value("[^A-Z0-9]"),
            Value(""),
            Value("g"),
            function="regexp_replace",
        )
    expression: Func = Upper(F("national_id"))
    for separator in NATIONAL_ID_SEPARATORS:
        expression = Replace(expression, Value(separator), Value(""))
    return expression


@dataclass(frozen=True)
class PatientMatch:
    """A patient of the hospital with the same tax/health-card number, or the same name and
    date of birth, as an identity being recorded: offered instead of a duplicate."""

    patient: Patient
    matched_on: str  # "national_id" or "name_and_birth"
    treated_by_you: bool
    draft: OffLabelRequest | None  # the user's own never-submitted draft for the patient

    @property
    def matched_on_label(self) -> str:
        if self.matched_on == "national_id":
            return gettext("the same tax / health-card number")
        return gettext("the same name and date of birth")


def patient_matches(
    *, user: Any, identity: dict[str, Any], exclude_patient_id: int | None = None
) -> list[PatientMatch]:
    """The hospital's patients whose identity matches ``identity``: the number first (it names
    one person), then the name and date of birth. Whatever the user's access to them: the user
    typed the identity, and a second record of one person splits their history in two."""
    hospital_id = getattr(user, "hospital_id", None)
    if hospital_id is None:
        return []
    given = (identity.get("given_name") or "").strip()
    family = (identity.get("family_name") or "").strip()
    born = identity.get("date_of_birth")
    number = national_id_key(identity.get("national_id") or "")
    condition = Q()
    if number:
        condition |= Q(id_key=number)
    if given and family and born:
        condition |= Q(given_name__iexact=given, family_name__iexact=family, date_of_birth=born)
    if not condition:
        return []
    rows = (
        PatientIdentity.objects.filter(patient__hospital_id=hospital_id)
        .annotate(id_key=_national_id_key_expression())
        .filter(condition)
        .select_related("patient")
        .order_by("patient__created_at", "patient_id")
    )
    if exclude_patient_id is not None:
        rows = rows.exclude(patient_id=exclude_patient_id)
    rows_list = list(rows)
    patient_ids = [row.patient_id for row in rows_list]
    treated = set(
        Patient.treating_physicians.through.objects.filter(
            patient_id__in=patient_ids, user_id=user.pk
        ).values_list("patient_id", flat=True)
    )
    drafts: dict[int, OffLabelRequest] = {}
    for draft in (
        requests_visible_to(user)
        .filter(
            patient_id__in=patient_ids,
            prescriber_id=user.pk,
            status=OffLabelRequest.Status.DRAFT,
            submitted_at__isnull=True,
        )
        .order_by("-created_at")
    ):
        drafts.setdefault(draft.patient_id, draft)
    return [
        PatientMatch(
            patient=row.patient,
            matched_on="national_id" if number and row.id_key == number else "name_and_birth",
            treated_by_you=row.patient_id in treated,
            draft=drafts.get(row.patient_id),
        )
        for row in rows_list
    ]


@dataclass(frozen=True)
class PickerRow:
    """One patient in the "One of my patients" list: the pseudonym, and to a user who may read
    identifying data the name, date of birth and the last characters of the card number."""

    patient: Patient
    identity: PatientIdentity | None

    @property
    def label(self) -> str:
        if self.identity is None:
            return self.patient.pseudonym
        who = f"{self.identity.family_name} {self.identity.given_name}".strip()
        born = formats.date_format(self.identity.date_of_birth, "SHORT_DATE_FORMAT")
        parts = [who, gettext("born %(date)s") % {"date": born}]
        number = national_id_key(self.identity.national_id)
        if number:
            parts.append(gettext("card …%(last)s") % {"last": number[-4:]})
        parts.append(self.patient.pseudonym)
        return " · ".join(parts)


def patient_picker(user: Any) -> list[PickerRow]:
    """The user's patients for starting a request. Identifying data only for the patients whose
    identity the user may read (their treating physicians; pharmacists): the caller records
    the listing in the audit trail (``patient_picker_audit``)."""
    patients = list(patients_visible_to(user).order_by("pseudonym"))
    roles = roles_of(user)
    if Role.PHARMACIST in roles:
        readable = {p.pk for p in patients}
    elif Role.PHYSICIAN in roles:
        readable = set(
            Patient.treating_physicians.through.objects.filter(
                user_id=user.pk, patient_id__in=[p.pk for p in patients]
            ).values_list("patient_id", flat=True)
        )
    else:
        readable = set()
    identities = {i.patient_id: i for i in PatientIdentity.objects.filter(patient_id__in=readable)}
    rows = [PickerRow(p, identities.get(p.pk)) for p in patients]
    return sorted(
        rows,
        key=lambda r: (
            r.identity is None,
            (r.identity.family_name.casefold(), r.identity.given_name.casefold())
            if r.identity
            else ("", ""),
            r.patient.pseudonym,
        ),
    )


def attachment_count() -> Coalesce:
    """A request's number of attached studies, as an expression to annotate with.

    A correlated subquery, not a JOIN + GROUP BY: the database counts only for the page's
    rows, and the paginator's COUNT(*) stays a plain count (benchmarks: queue and list API)."""
    attachments = (
        EvidenceAttachment.objects.filter(request=OuterRef("pk"))
        .order_by()
        .values("request")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(attachments, output_field=IntegerField()), 0)


def request_list(user: Any) -> QuerySet[OffLabelRequest]:
    return requests_visible_to(user).annotate(n_attachments=attachment_count())


# What a list row shows of the related rows (the lists, and the API's list): the patient's wide
# profile stays in the database.
_ROW_RELATED = (
    "patient__pseudonym",
    "prescriber__username",
    "prescriber__first_name",
    "prescriber__last_name",
    "drug__name",
    "safety_summary__open_blocking",
)


def list_rows(queryset: QuerySet[OffLabelRequest]) -> QuerySet[OffLabelRequest]:
    """A request list (``request_list``) trimmed to the columns a list row reads: the request's
    own and a few of its patient, prescriber and drug. For reading only."""
    own = [field.name for field in OffLabelRequest._meta.concrete_fields]
    return queryset.select_related("safety_summary").only(*own, *_ROW_RELATED)


def pharmacy_queue(user: Any) -> QuerySet[OffLabelRequest]:
    """Oldest waiting first: the order a pharmacist should work in."""
    return (
        request_list(user)
        .filter(status__in=OffLabelRequest.QUEUE_STATES)
        .order_by("status_changed_at", "pk")
    )


def dashboard_counts(user: Any) -> dict[str, int]:
    rows = (
        requests_visible_to(user).order_by().values("status").annotate(n=Count("pk", distinct=True))
    )
    return {row["status"]: row["n"] for row in rows}


def changes_requested_last(request: OffLabelRequest) -> RequestTransition | None:
    """The pharmacist's latest "request changes" (who, when, why), while the request waits for
    those changes; None otherwise."""
    if request.status != OffLabelRequest.Status.CHANGES_REQUESTED:
        return None
    return (
        request.transitions.filter(to_status=OffLabelRequest.Status.CHANGES_REQUESTED)
        .select_related("actor")
        .order_by("-occurred_at", "-pk")
        .first()
    )


# A patient's consent forms, read through the reverse relation the consent app declares
# (``OffLabelRequest.consents``): this app imports nothing of the consent app's.


def patient_consent_forms_open(patient: Patient) -> int:
    """How many consent forms of the patient's requests are not superseded."""
    counts = patient.requests.aggregate(
        forms=Count("consents"),
        superseded=Count("consents", filter=Q(consents__status=RenderStatus.SUPERSEDED)),
    )
    return int(counts["forms"]) - int(counts["superseded"])


def patient_consent_forms_superseded_since(patient: Patient, since: datetime) -> int:
    """How many consent forms of the patient's requests were superseded at ``since`` or later
    (a write that changed what they print supersedes them)."""
    counts = patient.requests.aggregate(
        superseded=Count(
            "consents",
            filter=Q(consents__status=RenderStatus.SUPERSEDED, consents__superseded_at__gte=since),
        )
    )
    return int(counts["superseded"])


def request_timeline(request: OffLabelRequest) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(
        Q(object_type="prescriptions.offlabelrequest", object_id=str(request.pk))
        | Q(
            object_type="prescriptions.patient",
            object_id=str(request.patient_id),
            occurred_at__gte=request.created_at,
        )
    ).order_by("sequence")


@dataclass(frozen=True)
class PopulationFigure:
    """One study's figure with the population it was measured in, and the source's words."""

    study: str
    reference: int | None
    value: Decimal
    n: int
    population: str
    wording: str


@dataclass(frozen=True)
class ExcludedStudy:
    study: str
    reference: int | None
    reason_code: str
    reason: str


@dataclass(frozen=True)
class PopulationRange:
    """A range over R/R, VEN-treated figures only, with the studies and patients behind it."""

    range: tuple[Decimal, Decimal] | None
    figures: tuple[PopulationFigure, ...]
    n_studies: int
    n_patients: int
    population: str


@dataclass(frozen=True)
class RRResponse:
    """What the consent's benefit sentence needs: the R/R ORR range, the studies and the
    VEN-treated R/R patients behind it, and what was left out and why."""

    orr: PopulationRange
    cr_cri: PopulationRange
    excluded: tuple[ExcludedStudy, ...]


@dataclass(frozen=True)
class EvidenceSummary:
    n_studies: int
    # VEN-treated R/R patients behind the R/R ORR range (not the studies' whole cohorts).
    n_patients: int
    orr_range: tuple[Decimal, Decimal] | None
    cr_cri_range: tuple[Decimal, Decimal] | None
    highest_design: str | None
    sentence: str
    rr: RRResponse

    @property
    def orr_population(self) -> str:
        return self.rr.orr.population

    @property
    def cr_cri_population(self) -> str:
        return self.rr.cr_cri.population

    @property
    def excluded(self) -> tuple[ExcludedStudy, ...]:
        return self.rr.excluded


def decimal_plain(value: Decimal) -> str:
    """200, 47.9: never '2E+2' (what str() gives for a normalised Decimal)."""
    return format(value.normalize(), "f")


def _range(values: list[Decimal]) -> tuple[Decimal, Decimal] | None:
    return (min(values), max(values)) if values else None


def _fmt(r: tuple[Decimal, Decimal] | None) -> str:
    if r is None:
        return gettext("not reported")
    # The decimal separator of the interface language (47.9 in English, 47,9 in Italian).
    low, high = (formats.number_format(decimal_plain(v)) for v in r)
    return f"{low}%" if low == high else f"{low}–{high}%"


def _study_label(snap: dict[str, Any]) -> str:
    year = snap.get("year") or gettext("n.d.")
    ref = f" [{snap['reference']}]" if snap.get("reference") is not None else ""
    return f"{snap.get('first_author', '')} {year}{ref}"


def _figures(
    snaps: list[dict[str, Any]], value_key: str, wording_key: str
) -> list[PopulationFigure]:
    return [
        PopulationFigure(
            study=_study_label(s),
            reference=s.get("reference"),
            value=Decimal(str(s[value_key])),
            n=int(s["n_rr_ven_treated"]),
            population=rr_population_label(int(s["n_rr_ven_treated"])),
            wording=s.get(wording_key) or "",
        )
        for s in snaps
        if s.get(value_key) is not None and s.get("n_rr_ven_treated") is not None
    ]


def _population_range(figures: list[PopulationFigure]) -> PopulationRange:
    n_patients = sum(f.n for f in figures)
    return PopulationRange(
        range=_range([f.value for f in figures]),
        figures=tuple(figures),
        n_studies=len(figures),
        n_patients=n_patients,
        population=rr_population_label(n_patients),
    )


def _excluded(snaps: list[dict[str, Any]]) -> list[ExcludedStudy]:
    """Studies left out of the R/R ORR range. A snapshot taken before the R/R figures were
    keyed has no rr_exclusion: it is left out as 'not recorded', never guessed."""
    out = []
    for s in snaps:
        if s.get("orr_rr_percent") is not None and s.get("n_rr_ven_treated") is not None:
            continue
        code = s.get("rr_exclusion") or RRExclusion.NOT_KEYED
        label = RRExclusion(code).label if code in RRExclusion.values else code
        out.append(ExcludedStudy(_study_label(s), s.get("reference"), code, str(label)))
    return out


def evidence_summary(request: OffLabelRequest) -> EvidenceSummary:
    """Built from the frozen snapshots, so it never changes when a study is edited later.

    Every range is over R/R, VEN-treated figures only (``orr_rr_percent``,
    ``cr_cri_rr_percent``): a whole-cohort figure that mixes newly diagnosed patients, a
    comparator arm without VEN or a subgroup would misstate what a R/R patient can expect.
    Studies without an R/R ORR are listed in ``excluded`` with the reason."""
    snaps = [a.snapshot for a in request.attachments.all()]
    orr = _population_range(_figures(snaps, "orr_rr_percent", "orr_rr_wording"))
    cr_cri = _population_range(_figures(snaps, "cr_cri_rr_percent", "cr_cri_rr_wording"))
    excluded = _excluded(snaps)
    levels = [DESIGN_LEVEL.get(s.get("design", ""), 0) for s in snaps]
    highest = str(DESIGN_LABEL[max(levels)]) if levels and max(levels) in DESIGN_LABEL else None
    facts = {
        "n": len(snaps),
        "orr": _fmt(orr.range),
        "orr_population": orr.population,
        "orr_studies": orr.n_studies,
        "cr_cri": _fmt(cr_cri.range),
        "cr_cri_population": cr_cri.population,
        "design": highest or gettext("none"),
    }
    sentence = (
        ngettext(
            "%(n)s study attached. Overall response %(orr)s (%(orr_population)s, "
            "%(orr_studies)s with an R/R figure); CR/CRi %(cr_cri)s (%(cr_cri_population)s); "
            "strongest design: %(design)s.",
            "%(n)s studies attached. Overall response %(orr)s (%(orr_population)s, "
            "%(orr_studies)s with an R/R figure); CR/CRi %(cr_cri)s (%(cr_cri_population)s); "
            "strongest design: %(design)s.",
            len(snaps),
        )
        % facts
    )
    if excluded:
        left_out = "; ".join(f"{e.study}: {e.reason}" for e in excluded)
        sentence += " " + gettext("Left out of the R/R ranges: %(studies)s.") % {
            "studies": left_out
        }
    return EvidenceSummary(
        n_studies=len(snaps),
        n_patients=orr.n_patients,
        orr_range=orr.range,
        cr_cri_range=cr_cri.range,
        highest_design=highest,
        sentence=sentence,
        rr=RRResponse(orr=orr, cr_cri=cr_cri, excluded=tuple(excluded)),
    )


def patient_features(request: OffLabelRequest) -> PatientFeatures:
    """The patient and regimen as the ranking sees them."""
    patient = request.patient

    def yes_no(value: str) -> bool | None:
        return {"yes": True, "no": False}.get(value)

    statuses = {m.gene: m.status for m in patient.mutations.all()}
    return PatientFeatures(
        regimen=request.regimen or "other",
        disease_status=patient.disease_status or None,
        aml_type=None if patient.aml_type == "unknown" else patient.aml_type,
        mutations_present=frozenset(g for g, s in statuses.items() if s == "present"),
        mutations_absent=frozenset(g for g, s in statuses.items() if s == "absent"),
        prior_hma=yes_no(patient.prior_hma),
        prior_venetoclax=yes_no(patient.prior_venetoclax),
        prior_allo_transplant=yes_no(patient.prior_allo_transplant),
        complex_karyotype=yes_no(patient.complex_karyotype),
    )


def request_suggestions(request: OffLabelRequest, limit: int | None = None) -> list[Suggestion]:
    return studies_rank(patient_features(request), limit=limit)
