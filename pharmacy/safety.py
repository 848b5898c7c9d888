"""Safety checks of a request's treatment plan against the label rules (data with sources).

``findings_compute(plan, rules)`` is a pure function: it reads the plan and its inputs and
returns findings; it makes no query. Each finding's severity, scope (before the first dose
only, or every cycle) and whether a pharmacist may override it come from the finding
catalogue of ``label_rules.json``, and each cites the rule it comes from by its code.
``safety_check(request)`` gathers the inputs, computes the plan and attaches overrides.

An override holds for the finding as worded, so a changed dose or medication list needs a
new decision.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils import formats
from django.utils.translation import gettext, gettext_lazy, gettext_noop
from django_stubs_ext import StrOrPromise

from offlabel.i18n import Bilingual, english
from pharmacy.models import LabelRuleSet, SafetyOverride, TlsPrecautions
from pharmacy.plan import (
    CUSTOM,
    LABEL_ADJUSTED,
    Limit,
    MedicationFacts,
    PartnerDose,
    PlanDay,
    TreatmentPlan,
    inhibitor_active,
    inhibitor_rules_for,
    modification_spans,
    requested_steps,
)
from pharmacy.rules import LabelRules
from prescriptions.selectors import decimal_plain

INFO, WARNING, BLOCKING = "info", "warning", "blocking"
SEVERITY_ORDER = {BLOCKING: 0, WARNING: 1, INFO: 2}
STRONG_ROWS = {"posaconazole", "strong_cyp3a"}
ABOVE_CODE = {"label": "dose_above_label", "hepatic": "dose_above_hepatic"}

# A finding's words in the interface language, keeping their English version: the fingerprint,
# the stored override and the audit trail use English.
Text = Bilingual


class _Num:
    """A number (and unit) with the decimal separator of the language it is rendered in."""

    def __init__(self, value: Decimal, unit: str = "") -> None:
        self.value, self.unit = value, unit

    def __str__(self) -> str:
        number = formats.number_format(decimal_plain(self.value))
        return f"{number} {self.unit}" if self.unit else number


@dataclass
class Finding:
    code: str
    severity: str
    title: Text
    message: Text
    source: str
    wording: str
    rule: str  # the rule's code (its path in label_rules.json)
    confirmed: bool = True
    scope: str = "initiation"
    overridable: bool = True
    override: SafetyOverride | None = None

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(f"{self.code}\n{self.message.english}".encode()).hexdigest()

    @property
    def open(self) -> bool:
        """A blocking finding nobody has decided on yet."""
        return self.severity == BLOCKING and self.override is None

    def as_data(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "title": str(self.title),
            "message": str(self.message),
            "rule": self.rule,
            "source": self.source,
            "wording": self.wording,
            "confirmed": self.confirmed,
            "scope": self.scope,
            "overridable": self.overridable,
            "fingerprint": self.fingerprint,
            "overridden": self.override is not None,
        }


@dataclass
class LabRow:
    label: str
    earliest: datetime
    latest: datetime


@dataclass
class SafetyReport:
    rules: LabelRuleSet
    plan: TreatmentPlan | None
    findings: list[Finding] = field(default_factory=list)
    tls: TlsPrecautions | None = None

    @property
    def open_blocking(self) -> list[Finding]:
        return [f for f in self.findings if f.open]

    def open_blocking_for_cycle(self, cycle: int) -> list[Finding]:
        """Cycle 1 is held by every open blocking finding; later cycles by those that apply
        to every cycle."""
        return [f for f in self.open_blocking if cycle == 1 or f.scope == "every_cycle"]

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for f in self.findings if f.severity == s) for s in SEVERITY_ORDER}

    @property
    def partner_dose(self) -> PartnerDose | None:
        return self.plan.partner_dose if self.plan else None

    @property
    def label_target_mg(self) -> Decimal | None:
        if self.plan is None:
            return None
        partner = self.plan.rules.partners.get(self.plan.inputs.regimen)
        return self.plan.rules.ramp_ups[partner.ramp_up].target_mg if partner else None

    @property
    def max_dose_mg(self) -> Decimal | None:
        """The steady day's label-adjusted maximum where a modification lowers it."""
        if self.plan is None or not self.plan.days:
            return None
        day = self.plan.cycle_one.days[-1] if self.plan.cycle_one else None
        if day is None or day.binding is None or day.binding.code == "label":
            return None
        return day.max_mg

    @property
    def expected_ramp_up_mg(self) -> list[Decimal]:
        return self.plan.schedule_mg if self.plan else []

    @property
    def lab_schedule(self) -> list[LabRow]:
        if self.plan is None:
            return []
        rows = []
        for t in self.plan.lab_times:
            label = {"day": t.day, "dose": _mg(t.dose_mg)}
            if t.kind == "pre":
                text = gettext("Day %(day)s (%(dose)s): pre-dose") % label
            elif t.kind == "after":
                text = gettext("Day %(day)s (%(dose)s): 6–8 h after") % label
            else:
                text = gettext("Day %(day)s: 24 h after reaching %(dose)s") % label
            rows.append(LabRow(text, t.earliest, t.latest))
        return rows


def _mg(value: Decimal) -> _Num:
    return _Num(value, "mg")


def steps_text(steps: list[Decimal]) -> str:
    return "/".join(decimal_plain(s) for s in steps) + " mg"


def _days_text(days: list[PlanDay]) -> str:
    first, last = days[0], days[-1]
    if first.cycle == last.cycle:
        if first.day == last.day:
            return f"cycle {first.cycle} day {first.day}"
        return f"cycle {first.cycle} days {first.day}–{last.day}"
    return f"cycle {first.cycle} day {first.day} to cycle {last.cycle} day {last.day}"


def _compress(values: list[Decimal]) -> str:
    """10/20/50/70/70/70 -> '10/20/50/70 mg' (a held value is shown once)."""
    out: list[Decimal] = []
    for v in values:
        if not out or v != out[-1]:
            out.append(v)
    return steps_text(out)


def steps_text_plain(values: list[Decimal]) -> str:
    """A cycle's daily doses with each run written once and its length: '10/20/50/70x25'."""
    runs: list[list[Any]] = []
    for v in values:
        if runs and runs[-1][0] == v:
            runs[-1][1] += 1
        else:
            runs.append([v, 1])
    return "/".join(decimal_plain(v) + (f"x{n}" if n > 1 else "") for v, n in runs)


class _Checker:
    def __init__(self, plan: TreatmentPlan | None, rules: LabelRules, inputs: Any) -> None:
        self.plan = plan
        self.rules = rules
        self.inputs = inputs
        self.findings: list[Finding] = []

    def add(
        self,
        code: str,
        title: Text,
        message: Text,
        *,
        rule_path: str | None = None,
        confirmed: bool = True,
        severity: str | None = None,
    ) -> None:
        entry = self.rules.finding(code)
        rule = self.rules.rule(rule_path or entry.rule_path)
        self.findings.append(
            Finding(
                code=code,
                severity=severity or entry.severity,
                title=title,
                message=message,
                source=gettext("%(source)s (label rules v%(version)s, verified %(date)s)")
                % {
                    "source": self.rules.source_title(rule.source),
                    "version": self.rules.version,
                    "date": formats.date_format(self.rules.verified_on, "SHORT_DATE_FORMAT"),
                },
                wording=rule.wording,
                rule=rule.path,
                confirmed=rule.confirmed and confirmed,
                scope=entry.scope,
                overridable=entry.overridable,
            )
        )

    def run(self) -> list[Finding]:
        self.check_partner()
        self.check_medications()
        self.check_dose()
        self.check_hepatic_renal()
        self.check_tls()
        self.check_cytopenias()
        self.add(
            "food",
            Text(gettext_noop("Food and fruit")),
            Text(
                gettext_noop(
                    "Take once daily with food; avoid grapefruit, Seville oranges and starfruit."
                )
            ),
        )
        self.findings.sort(key=lambda f: SEVERITY_ORDER[f.severity])
        return self.findings

    # --- partner and ramp-up ------------------------------------------------------------------

    def check_partner(self) -> None:
        inputs, rules = self.inputs, self.rules
        partner = rules.partners.get(inputs.regimen)
        if partner is None:
            self.add(
                "no_label_schedule",
                Text(gettext_noop("No label schedule for this partner")),
                Text(
                    gettext_noop(
                        "The label gives no VEN schedule with %(regimen)s: the dose and ramp-up "
                        "are checked only for interactions, the liver and tablets; check them "
                        "against the protocol."
                    ),
                    regimen=inputs.regimen or "this regimen",
                ),
            )
            return
        ramp = rules.ramp_ups[partner.ramp_up]
        if inputs.ramp_up not in ("", CUSTOM, LABEL_ADJUSTED, partner.ramp_up):
            self.add(
                "ramp_up_partner_mismatch",
                Text(gettext_noop("Ramp-up does not match the partner")),
                Text(
                    gettext_noop(
                        "The request plans the %(planned)s ramp-up, but with %(drug)s the label "
                        "ramp-up is %(steps)s."
                    ),
                    planned=inputs.ramp_up,
                    drug=partner.drug_text,
                    steps=steps_text(list(ramp.steps_mg)),
                ),
                rule_path=ramp.rule.path,
            )
        dose = self.plan.partner_dose if self.plan else None
        if inputs.bsa_m2 is None:
            self.add(
                "bsa_missing",
                Text(gettext_noop("%(drug)s dose not computed"), drug=partner.drug_title),
                Text(
                    gettext_noop("Weight and height are needed for the %(drug)s dose (%(dose)s)."),
                    drug=partner.drug_text,
                    dose=_Num(partner.mg_per_m2, "mg/m²"),
                ),
                rule_path=partner.rule.path,
            )
        elif dose is not None:
            self.add(
                "partner_dose",
                Text(gettext_noop("%(drug)s dose from BSA"), drug=partner.drug_title),
                Text(
                    gettext_noop(
                        "%(drug)s %(per_m2)s mg/m² × BSA %(bsa)s m² (Mosteller) = %(exact)s, "
                        "rounded to %(rounded)s (nearest %(step)s, hospital rule), %(route)s "
                        "days %(first)s–%(last)s of each cycle."
                    ),
                    drug=partner.drug_title,
                    per_m2=_Num(dose.mg_per_m2),
                    bsa=_Num(dose.bsa_m2),
                    exact=_mg(dose.exact_mg),
                    rounded=_mg(dose.rounded_mg),
                    step=_mg(dose.round_to_mg),
                    route=partner.route_text,
                    first=dose.days[0],
                    last=dose.days[1],
                ),
                rule_path=partner.rule.path,
            )

    # --- medications ----------------------------------------------------------------------------

    def _relevant(self, med: MedicationFacts) -> bool:
        return med.ongoing or med.stopped_on is not None

    def check_medications(self) -> None:
        rules = self.rules
        for med in self.inputs.medications:
            if not self._relevant(med):
                if inhibitor_rules_for(med, rules):
                    self.add(
                        "inhibitor_stop_date_missing",
                        Text(gettext_noop("Stop date of %(drug)s missing"), drug=med.name),
                        Text(
                            gettext_noop(
                                "%(drug)s is marked stopped without a date: record the stop "
                                "date so the plan knows when the previous dose resumes."
                            ),
                            drug=med.name,
                        ),
                    )
                continue
            classes = med.classes
            if set(med.table_codes) & set(rules.contraindicated_codes):
                self.add(
                    "contraindicated",
                    Text(gettext_noop("%(drug)s: contraindicated"), drug=med.name),
                    Text(
                        gettext_noop(
                            "%(drug)s is contraindicated with venetoclax (EU SmPC): stop it "
                            "before the first dose."
                        ),
                        drug=med.name,
                    ),
                )
            if classes & set(rules.inducer_classes):
                self.add(
                    "inducer",
                    Text(gettext_noop("CYP3A inducer: avoid")),
                    Text(
                        gettext_noop(
                            "%(drug)s induces CYP3A and lowers venetoclax exposure: the label "
                            "says to avoid it."
                        ),
                        drug=med.name,
                    ),
                )
            known = classes - {"unknown"}
            if not known:
                self.add(
                    "medication_unclassified",
                    Text(gettext_noop("Medication not classified")),
                    Text(
                        gettext_noop(
                            "%(drug)s is not in the classification table and its CYP3A / P-gp "
                            "class is not recorded: classify it before the next dose (strong, "
                            "moderate or P-gp inhibitors change the dose; inducers are avoided)."
                        ),
                        drug=med.name,
                    ),
                )
            elif known == {"none_known"} and not med.also_pgp:
                self.add(
                    "medication_no_interaction",
                    Text(gettext_noop("No known interaction")),
                    Text(
                        gettext_noop("%(drug)s: no relevant interaction with venetoclax known."),
                        drug=med.name,
                    ),
                    confirmed=False,
                )

    # --- dose -------------------------------------------------------------------------------------

    def check_dose(self) -> None:
        inputs, plan = self.inputs, self.plan
        unreadable = requested_steps(inputs, self.rules) is None
        if inputs.ramp_up == CUSTOM and unreadable and inputs.target_mg is not None:
            self.add(
                "ramp_up_not_computable",
                Text(gettext_noop("Custom ramp-up not readable")),
                Text(
                    gettext_noop(
                        "Write the custom ramp-up as daily doses, e.g. '10/20/50/70 mg'. "
                        "Until then the plan uses the label's ramp-up under the limits "
                        "that apply."
                    )
                ),
            )
        self.check_tablets()
        if plan is None:
            return
        # Requested days above their maximum, grouped by the limit that binds them.
        above: dict[str, list[PlanDay]] = {}
        for day in plan.days:
            if day.above_max and day.binding is not None:
                above.setdefault(day.binding.code, []).append(day)
        for code, days in above.items():
            binding = days[0].binding
            assert binding is not None
            finding = ABOVE_CODE.get(code, "dose_above_inhibitor")
            confirmed = self._limit_confirmed(binding)
            self.add(
                finding,
                Text(gettext_noop("Dose above the label maximum (%(who)s)"), who=binding.who),
                Text(
                    gettext_noop(
                        "%(when)s: the request asks %(requested)s; with %(who)s the label allows "
                        "at most %(allowed)s. The plan gives the lower dose, %(planned)s."
                    ),
                    when=_days_text(days),
                    requested=_compress([d.requested_mg for d in days]),
                    who=binding.who,
                    allowed=_compress([d.max_mg for d in days if d.max_mg is not None]),
                    planned=_compress([d.dose_mg for d in days]),
                ),
                rule_path=binding.rule_path,
                confirmed=confirmed,
            )
        # Each modification in force, with what the plan gives over the days it applies.
        for pairs in modification_spans(plan).values():
            lim = pairs[0][1]
            self.add(
                "dose_adjusted",
                Text(gettext_noop("Dose adjusted for %(who)s"), who=lim.who),
                Text(
                    gettext_noop(
                        "%(when)s: with %(who)s the label allows at most %(allowed)s; the "
                        "plan gives %(planned)s."
                    ),
                    when=_days_text([d for d, _ in pairs]),
                    who=lim.who,
                    allowed=_compress([x.max_mg for _, x in pairs]),
                    planned=_compress([d.dose_mg for d, _ in pairs]),
                ),
                rule_path=lim.rule_path,
                confirmed=self._limit_confirmed(lim),
            )
        if any(len([x for x in d.limits if x.code != "label"]) > 1 for d in plan.days):
            self.add(
                "several_modifications",
                Text(gettext_noop("Several dose modifications at once")),
                Text(
                    gettext_noop(
                        "More than one inhibitor or hepatic reduction applies on some days: the "
                        "plan gives the lowest of the adjusted doses."
                    )
                ),
            )
        self.check_inhibitor_advice()
        self.check_below_label()

    def _limit_confirmed(self, lim: Limit) -> bool:
        """An inhibitor row applied through an unconfirmed classification needs 'verify'."""
        if lim.code in ("label", "hepatic"):
            return True
        meds = [m for m in self.inputs.medications if m.name == lim.who]
        return all(self._class_confirmed(m) for m in meds)

    def _class_confirmed(self, med: MedicationFacts) -> bool:
        return med.class_confirmed

    def check_inhibitor_advice(self) -> None:
        plan, rules = self.plan, self.rules
        assert plan is not None
        inhibitors = sorted(
            {lim.who for d in plan.days for lim in d.limits if lim.code not in ("label", "hepatic")}
        )
        if inhibitors:
            self.add(
                "inhibitor_resume",
                Text(gettext_noop("When the inhibitor stops")),
                Text(
                    gettext_noop(
                        "Record the stop date of %(drugs)s: the plan resumes the previous "
                        "venetoclax dose %(days)s days after it (the later end of the label's "
                        "2–3 days)."
                    ),
                    drugs=", ".join(inhibitors),
                    days=rules.resume_after_days,
                ),
            )
        # Initiation: the ramp-up days as the label writes them with a strong inhibitor (or as
        # requested, if longer), whatever the inhibitor has already done to the doses.
        one = plan.cycle_one
        strong_ramp = max(
            (len(r.ramp_up_steps_mg) for r in rules.inhibitors if r.code in STRONG_ROWS), default=0
        )
        initiation = max(strong_ramp, len(plan.requested_steps_mg or []))
        strong_at_start = sorted(
            {
                lim.who
                for d in (one.days[:initiation] if one else [])
                for lim in d.limits
                if lim.code in STRONG_ROWS
            }
        )
        for who in strong_at_start:
            self.add(
                "strong_inhibitor_at_initiation",
                Text(gettext_noop("Strong CYP3A inhibitor at initiation")),
                Text(
                    gettext_noop(
                        "%(drug)s is a strong CYP3A inhibitor. The USPI contraindicates strong "
                        "CYP3A inhibitors at initiation and ramp-up in CLL; in AML the label gives "
                        "the reduced ramp-up the plan follows. Check the inhibitor's own label "
                        "too."
                    ),
                    drug=who,
                ),
            )
        if any(lim.code in STRONG_ROWS for d in plan.days for lim in d.limits):
            self.add(
                "eu_strong_inhibitor",
                Text(gettext_noop("EU wording with a strong CYP3A inhibitor")),
                Text(
                    gettext_noop(
                        "The EU SmPC's ramp-up wording with strong inhibitors differs from the "
                        "USPI's AML rows the plan follows: verify against the current SmPC."
                    )
                ),
            )

    def check_below_label(self) -> None:
        inputs, rules, plan = self.inputs, self.rules, self.plan
        partner = rules.partners.get(inputs.regimen)
        if partner is None or inputs.target_mg is None or plan is None:
            return
        label = rules.ramp_ups[partner.ramp_up]
        modified = any(lim.code != "label" for d in plan.days for lim in d.limits)
        if inputs.target_mg < label.target_mg and not modified:
            self.add(
                "dose_below_label",
                Text(gettext_noop("Dose below the label")),
                Text(
                    gettext_noop(
                        "%(target)s is below the label's %(label)s daily with %(drug)s, and no "
                        "interacting medication or hepatic impairment is recorded: check the "
                        "reason."
                    ),
                    target=_mg(inputs.target_mg),
                    label=_mg(label.target_mg),
                    drug=partner.drug_text,
                ),
                rule_path=label.rule.path,
            )

    def check_tablets(self) -> None:
        inputs, rules = self.inputs, self.rules
        smallest = rules.strengths_mg[-1]
        doses = set(self.plan.requested_steps_mg or []) if self.plan else set()
        if inputs.target_mg is not None:
            doses.add(inputs.target_mg)
        for dose in sorted(doses):
            if dose % smallest:
                self.add(
                    "dose_not_in_tablets",
                    Text(gettext_noop("Dose cannot be made from tablets")),
                    Text(
                        gettext_noop(
                            "%(dose)s cannot be made from %(strengths)s tablets; the plan rounds "
                            "it down."
                        ),
                        dose=_mg(dose),
                        strengths=", ".join(f"{decimal_plain(s)} mg" for s in rules.strengths_mg),
                    ),
                )

    # --- liver and kidneys --------------------------------------------------------------------

    def check_hepatic_renal(self) -> None:
        inputs, rules = self.inputs, self.rules
        if inputs.hepatic == "unknown":
            self.add(
                "hepatic_unknown",
                Text(gettext_noop("Hepatic function not recorded")),
                Text(
                    gettext_noop(
                        "The Child-Pugh class is not recorded; with severe impairment (Child-Pugh "
                        "C) the dose is halved."
                    )
                ),
            )
        crcl = inputs.labs.crcl
        if crcl is None:
            self.add(
                "renal_unknown",
                Text(gettext_noop("Creatinine clearance not recorded")),
                Text(
                    gettext_noop(
                        "Record the creatinine clearance: below %(limit)s mL/min the label has "
                        "no recommended dose."
                    ),
                    limit=_Num(rules.renal_severe_below),
                ),
            )
        elif crcl < rules.renal_severe_below:
            self.add(
                "renal_severe",
                Text(gettext_noop("Severe renal impairment")),
                Text(
                    gettext_noop(
                        "CrCl %(crcl)s mL/min, below %(limit)s: the label has no recommended dose "
                        "(not studied). Decide with the physician and monitor closely."
                    ),
                    crcl=_Num(crcl),
                    limit=_Num(rules.renal_severe_below),
                ),
            )

    # --- tumour lysis -----------------------------------------------------------------------------

    def check_tls(self) -> None:
        inputs, rules = self.inputs, self.rules
        labs, tls = inputs.labs, inputs.tls
        if labs.wbc is None:
            self.add(
                "wbc_missing",
                Text(gettext_noop("WBC not recorded")),
                Text(
                    gettext_noop(
                        "The WBC must be below %(limit)s ×10⁹/L before the first dose; record it "
                        "in the patient's profile."
                    ),
                    limit=_Num(rules.tls_max_wbc),
                ),
            )
        elif labs.wbc >= rules.tls_max_wbc:
            self.add(
                "wbc_too_high",
                Text(gettext_noop("WBC too high to start")),
                Text(
                    gettext_noop(
                        "WBC %(wbc)s ×10⁹/L: it must be below %(limit)s ×10⁹/L before the first "
                        "dose (cytoreduce first)."
                    ),
                    wbc=_Num(labs.wbc),
                    limit=_Num(rules.tls_max_wbc),
                ),
            )
        present, unknown = tls_risk_factors(inputs, rules)
        if present or unknown:
            measures = bool(tls and tls.risk_note.strip())
            self.add(
                "tls_risk_factors",
                Text(gettext_noop("Tumour-lysis risk factors")),
                Text(
                    gettext_noop(
                        "Present: %(present)s. Not recorded (counted as possible): %(unknown)s. "
                        "The label asks for increased laboratory monitoring and a lower starting "
                        "dose for these patients; record the measures in the TLS precautions."
                    ),
                    present=", ".join(present) or "none",
                    unknown=", ".join(unknown) or "none",
                ),
                severity=INFO if measures else None,
            )
        abnormal = [name for name, _value, status in labs.chemistry if status in ("high", "low")]
        if abnormal and not (tls and tls.chemistry_corrected):
            self.add(
                "tls_chemistry_uncorrected",
                Text(gettext_noop("Abnormal chemistry not corrected")),
                Text(
                    gettext_noop(
                        "Outside the reference range before treatment: %(analytes)s. Correct it "
                        "and record the correction in the TLS precautions before the first dose."
                    ),
                    analytes=", ".join(abnormal),
                ),
            )
        missing = tls_missing_english(tls)
        if missing:
            self.add(
                "tls_prophylaxis",
                Text(gettext_noop("TLS prophylaxis not confirmed")),
                Text(
                    gettext_noop(
                        "Not yet recorded: %(missing)s. Required before cycle 1 is dispensed."
                    ),
                    missing=_Joined(tls_missing_lazy(tls)),
                ),
            )

    # --- cytopenias ------------------------------------------------------------------------------

    def check_cytopenias(self) -> None:
        plan = self.plan
        if plan is None:
            return
        waiting = next((c for c in plan.cycles if c.waits_for), None)
        if waiting is not None:
            self.add(
                "cytopenia_delay",
                Text(gettext_noop("Next cycle waits for count recovery")),
                Text(
                    gettext_noop(
                        "%(why)s. Record the recovery date on the adverse event; dispensing "
                        "waits until then."
                    ),
                    why=waiting.waits_for,
                ),
            )
        for mod in plan.modifications:
            if mod.code.startswith("cytopenia"):
                self.add(
                    "cytopenia_modification",
                    Text(gettext_noop("Cycle changed after a cytopenia")),
                    Text(gettext_noop("%(detail)s."), detail=mod.detail),
                )
        # The label's examples: a first occurrence (delay), then two later ones (28 -> 21 -> 14
        # days); past them, or with no VEN day left, the physician decides.
        short = [c for c in plan.cycles if c.cytopenia_occurrences > 3 or c.ven_days <= 0]
        if short:
            self.add(
                "cytopenia_beyond_label",
                Text(gettext_noop("Cytopenias beyond the label's examples")),
                Text(
                    gettext_noop(
                        "From cycle %(cycle)s VEN would run %(days)s days: the label's examples "
                        "stop at 2 later occurrences. The physician decides whether to go on."
                    ),
                    cycle=short[0].number,
                    days=short[0].ven_days,
                ),
            )


def tls_risk_factors(inputs: Any, rules: LabelRules) -> tuple[list[str], list[str]]:
    """(present, unknown) risk factors of the label, in English."""
    labs = inputs.labs
    present: list[str] = []
    unknown: list[str] = []

    def judge(name: str, value: bool | None) -> None:
        (unknown if value is None else present if value else []).append(name)

    judge(
        "circulating blasts",
        None if labs.peripheral_blasts is None else labs.peripheral_blasts > 0,
    )
    judge(
        "high marrow burden",
        None if labs.high_marrow_burden == "unknown" else labs.high_marrow_burden == "yes",
    )
    judge(
        "elevated LDH",
        None if labs.ldh is None or labs.ldh_uln is None else labs.ldh > labs.ldh_uln,
    )
    judge(
        "reduced renal function",
        None if labs.crcl is None else labs.crcl < rules.tls_reduced_renal_below,
    )
    return present, unknown


class _Joined:
    """Items joined with commas, each in the language the whole is rendered in."""

    def __init__(self, items: list[StrOrPromise]) -> None:
        self.items = items

    def __str__(self) -> str:
        return ", ".join(str(i) for i in self.items)


def tls_missing_lazy(tls: Any) -> list[StrOrPromise]:
    if tls is None:
        return [
            gettext_lazy("the first-dose time"),
            gettext_lazy("hydration"),
            gettext_lazy("the anti-hyperuricaemic"),
            gettext_lazy("chemistry"),
        ]
    missing: list[StrOrPromise] = []
    if not tls.hydration:
        missing.append(gettext_lazy("hydration"))
    if not tls.antihyperuricaemic.strip():
        missing.append(gettext_lazy("the anti-hyperuricaemic"))
    if not tls.chemistry_corrected:
        missing.append(gettext_lazy("chemistry corrected"))
    return missing


def tls_missing_english(tls: Any) -> list[str]:
    return [english(item) for item in tls_missing_lazy(tls)]


def tls_missing(tls: Any) -> list[str]:
    """What the TLS precautions still lack, in the interface language."""
    return [str(item) for item in tls_missing_lazy(tls)]


def findings_compute(plan: TreatmentPlan | None, rules: LabelRules, inputs: Any) -> list[Finding]:
    """The findings for a plan and its inputs: pure, no query."""
    return _Checker(plan, rules, inputs).run()


def safety_check(request: Any, ctx: Any = None) -> SafetyReport:
    """The findings for the request as it stands now, with any overrides attached; ``ctx`` is
    the request's ``plan_context`` when the caller has just computed it."""
    from pharmacy.selectors import plan_context

    ctx = ctx or plan_context(request)
    report = SafetyReport(rules=ctx.rule_set, plan=ctx.plan, tls=ctx.tls)
    report.findings = findings_compute(ctx.plan, ctx.rules, ctx.inputs)
    overrides = {o.fingerprint: o for o in SafetyOverride.objects.filter(request=request)}
    for finding in report.findings:
        if finding.severity == BLOCKING:
            finding.override = overrides.get(finding.fingerprint)
    return report


__all__ = [
    "BLOCKING",
    "INFO",
    "WARNING",
    "Finding",
    "SafetyReport",
    "findings_compute",
    "inhibitor_active",
    "safety_check",
    "tls_missing",
]
