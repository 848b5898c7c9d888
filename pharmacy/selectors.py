"""Reads of the pharmacy: when treatment started, what was dispensed, and what it cost."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Count, DecimalField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import formats, timezone

from accounts.models import Hospital
from offlabel.i18n import money_format
from pharmacy.models import (
    Dispensation,
    DispensationLine,
    LabelRuleSet,
    Payer,
    TlsPrecautions,
    TreatmentPlanVersion,
)
from pharmacy.plan import (
    CytopeniaFacts,
    LabFacts,
    MedicationFacts,
    PlanInputs,
    TlsFacts,
    TreatmentPlan,
    inputs_digest,
    plan_compute,
)
from pharmacy.rules import LabelRules, label_rules_current, label_rules_typed
from pharmacy.safety import safety_check
from prescriptions.medication_classes import classes_current, medication_classify
from prescriptions.models import DrugPrice, OffLabelRequest
from prescriptions.selectors import decimal_plain

_MONEY = DecimalField(max_digits=14, decimal_places=2)


def treatment_started_on(request: OffLabelRequest) -> date | None:
    """The day of the first dispensation (cycle 1), in local time; None before it."""
    first = Dispensation.objects.filter(request=request).order_by("cycle").first()
    return timezone.localdate(first.dispensed_at) if first else None


def dispensations_of(request: OffLabelRequest) -> QuerySet[Dispensation]:
    return (
        Dispensation.objects.filter(request=request)
        .select_related("dispensed_by")
        .prefetch_related("lines")
        .order_by("cycle")
    )


def costs_by_payer(dispensations: QuerySet[Dispensation]) -> list[dict[str, Any]]:
    """Cost and volume per payer, summed in the database. Cycles without a price are counted
    apart, so a missing price never reads as zero."""
    rows = (
        dispensations.values("payer", "currency")
        .annotate(
            cycles=Count("pk"),
            mg_total=Coalesce(Sum("total_mg"), Value(Decimal(0)), output_field=_MONEY),
            cost_total=Coalesce(Sum("cost"), Value(Decimal(0)), output_field=_MONEY),
            unpriced=Count("pk", filter=Q(cost__isnull=True)),
        )
        .order_by("payer", "currency")
    )
    labels = dict(Payer.choices)
    return [{**row, "payer_label": labels.get(row["payer"], row["payer"])} for row in rows]


def hospital_dispensations(hospital: Hospital) -> QuerySet[Dispensation]:
    return Dispensation.objects.filter(request__hospital=hospital)


def requests_with_costs(hospital: Hospital) -> QuerySet[OffLabelRequest]:
    """Requests with at least one dispensation, with cycles, milligrams and cost summed."""
    return (
        OffLabelRequest.objects.filter(hospital=hospital)
        .select_related("patient")
        .annotate(
            cycles_dispensed=Count("dispensations"),
            mg_dispensed=Sum("dispensations__total_mg"),
            cost_dispensed=Sum("dispensations__cost"),
            unpriced=Count("dispensations", filter=Q(dispensations__cost__isnull=True)),
        )
        .filter(cycles_dispensed__gt=0)
        .order_by("-pk")
    )


# --- The treatment plan's inputs ---------------------------------------------------------------

CHEMISTRY = (
    ("potassium", "potassium_mmol_l", "potassium_status"),
    ("phosphate", "phosphate_mmol_l", "phosphate_status"),
    ("uric acid", "uric_acid_umol_l", "uric_acid_status"),
    ("calcium", "calcium_mmol_l", "calcium_status"),
)


@dataclass
class PlanContext:
    """A request's plan with everything it was computed from."""

    rule_set: LabelRuleSet
    rules: LabelRules
    inputs: PlanInputs
    plan: TreatmentPlan | None
    tls: TlsPrecautions | None
    digest: str


def plan_inputs(
    request: OffLabelRequest, rules: LabelRules
) -> tuple[PlanInputs, TlsPrecautions | None]:
    """Everything the plan reads, from the request, the patient's profile and medications,
    the TLS precautions and the follow-up (remission, grade >= 3 cytopenias). The follow-up's
    rows are read through the request's reverse relations: the pharmacy imports no follow-up
    code (the follow-up app is above it)."""
    patient = request.patient
    classes = classes_current()
    medications = []
    for med in patient.medications.all():
        table = medication_classify(med.drug_name, classes)
        medications.append(
            MedicationFacts(
                name=med.drug_name,
                recorded_class=med.interaction,
                table_codes=tuple(d.code for d in table),
                table_classes=tuple(d.klass for d in table),
                also_pgp=med.also_pgp_inhibitor or any(d.also_pgp_inhibitor for d in table),
                ongoing=med.ongoing,
                started_on=med.started_on,
                stopped_on=med.stopped_on,
                class_confirmed=all(d.confirmed for d in table),
            )
        )
    tls = TlsPrecautions.objects.filter(request=request).first()
    tls_facts = (
        TlsFacts(
            first_dose_at=timezone.localtime(tls.first_dose_at),
            hydration=tls.hydration,
            antihyperuricaemic=tls.antihyperuricaemic,
            chemistry_corrected=tls.chemistry_corrected,
            risk_note=tls.risk_note,
        )
        if tls is not None
        else None
    )
    remission = (
        request.assessments.filter(response__in=rules.cytopenia.after_responses)
        .order_by("assessed_on")
        .values_list("assessed_on", flat=True)
        .first()
    )
    cytopenias = tuple(
        CytopeniaFacts(
            term=e.term,
            grade=e.grade,
            onset_on=e.onset_on,
            recovered_on=min(
                (d for d in (e.recovered_to_grade_2_on, e.resolved_on) if d is not None),
                default=None,
            ),
        )
        for e in request.adverse_events.filter(term__in=rules.cytopenia.terms).order_by(
            "onset_on", "pk"
        )
    )
    labs = LabFacts(
        wbc=patient.wbc_10e9_l,
        crcl=patient.creatinine_clearance_ml_min,
        peripheral_blasts=patient.peripheral_blasts_10e9_l,
        marrow_blasts_percent=patient.marrow_blasts_percent,
        high_marrow_burden=patient.high_marrow_burden,
        ldh=patient.ldh_u_l,
        ldh_uln=patient.ldh_uln_u_l,
        chemistry=tuple(
            (name, getattr(patient, value), getattr(patient, status))
            for name, value, status in CHEMISTRY
        ),
    )
    inputs = PlanInputs(
        regimen=request.regimen,
        ramp_up=request.ramp_up,
        ramp_up_custom=request.ramp_up_custom,
        target_mg=request.ven_target_dose_mg,
        cycles=request.cycles_planned,
        cycle_days=request.cycle_length_days,
        bsa_m2=patient.bsa_m2,
        hepatic=patient.hepatic_function,
        labs=labs,
        medications=tuple(medications),
        tls=tls_facts,
        remission_on=remission,
        cytopenias=cytopenias,
        early_window_days=request.hospital.dispense_early_window_days,
    )
    return inputs, tls


def plan_context(request: OffLabelRequest) -> PlanContext:
    rule_set = label_rules_current()
    rules = label_rules_typed(rule_set)
    inputs, tls = plan_inputs(request, rules)
    return PlanContext(
        rule_set,
        rules,
        inputs,
        plan_compute(inputs, rules),
        tls,
        inputs_digest(inputs, rules, classes_current().digest),
    )


def plan_of(request: OffLabelRequest) -> TreatmentPlan | None:
    """The request's treatment plan as it stands now (the one computation every surface reads)."""
    return plan_context(request).plan


def plan_version_latest(request: OffLabelRequest) -> Any:
    return TreatmentPlanVersion.objects.filter(request=request).order_by("-number").first()


def dispensed_by_cycle(request: OffLabelRequest) -> dict[int, dict[Decimal, int]]:
    """Tablets already dispensed per cycle and strength (partial supplies added up)."""
    out: dict[int, dict[Decimal, int]] = {}
    for row in (
        DispensationLine.objects.filter(dispensation__request=request)
        .values("dispensation__cycle", "strength_mg")
        .annotate(n=Sum("quantity"))
    ):
        per = out.setdefault(row["dispensation__cycle"], {})
        per[row["strength_mg"].normalize()] = per.get(row["strength_mg"].normalize(), 0) + row["n"]
    return out


def prices_current(request: OffLabelRequest, on: date | None = None) -> dict[Decimal, Any]:
    """The hospital's latest price per tablet strength valid on the given day (default today)."""
    on = on or timezone.localdate()
    prices: dict[Decimal, Any] = {}
    for price in DrugPrice.objects.filter(
        hospital_id=request.hospital_id, drug_id=request.drug_id, valid_from__lte=on
    ).order_by("strength_mg", "-valid_from", "-pk"):
        prices.setdefault(price.strength_mg, price)
    return prices


@dataclass
class PlanCost:
    cost: Decimal | None
    currency: str
    price_sources: list[str]
    missing_prices: list[Decimal]


def plan_cost(request: OffLabelRequest, plan: TreatmentPlan) -> PlanCost:
    """The plan's tablets at the hospital's current prices (None if a strength has no price)."""
    prices = prices_current(request)
    out = PlanCost(None, "", [], [])
    total = Decimal(0)
    for strength, n in plan.tablets.items():
        price = prices.get(strength)
        if price is None:
            out.missing_prices.append(strength)
            continue
        total += price.price_per_unit * n
        out.currency = price.currency
        unit_price = money_format(price.price_per_unit, price.currency, places=None)
        out.price_sources.append(
            f"{formats.number_format(decimal_plain(strength))} mg: {unit_price} ({price.source})"
        )
    out.cost = None if out.missing_prices else total.quantize(Decimal("0.01"))
    return out


# --- The request page's panel ----------------------------------------------------------------


def pharmacy_panel_context(offlabel: OffLabelRequest) -> dict[str, Any]:
    """The request page's summary of the pharmacy: finding counts and cycles dispensed."""
    report = safety_check(offlabel)
    return {
        "safety_counts": report.counts(),
        "safety_open": report.open_blocking,
        "cycles_dispensed": offlabel.dispensations.values("cycle").distinct().count(),
        "plan_version": plan_version_latest(offlabel),
        "plan_schedule": "/".join(decimal_plain(d) for d in report.plan.schedule_mg)
        if report.plan
        else "",
    }
