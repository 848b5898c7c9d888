"""Safety checks of a request against the current label rules (data with sources).

Every finding has a severity (info, warning, blocking), the rule version and the source
wording it comes from. Blocking findings stop approval and the first dispensation until a
pharmacist overrides them with a reason; an override holds for the finding as worded, so a
changed dose or medication list needs a new decision.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pharmacy.models import LabelRuleSet, SafetyOverride, TlsPrecautions
from pharmacy.plan import ramp_up_for, tablet_strengths
from pharmacy.rules import label_rules_current, source_name
from prescriptions.models import ConcomitantMedication, Interaction, OffLabelRequest, Patient
from prescriptions.selectors import decimal_plain

INFO, WARNING, BLOCKING = "info", "warning", "blocking"
SEVERITY_ORDER = {BLOCKING: 0, WARNING: 1, INFO: 2}
STRONG = {"posaconazole", "strong_cyp3a"}


@dataclass
class Finding:
    code: str
    severity: str
    title: str
    message: str
    source: str
    wording: str
    confirmed: bool = True
    override: SafetyOverride | None = None

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(f"{self.code}\n{self.message}".encode()).hexdigest()

    @property
    def open(self) -> bool:
        """A blocking finding nobody has decided on yet."""
        return self.severity == BLOCKING and self.override is None

    def as_data(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "title": self.title,
            "message": self.message,
            "source": self.source,
            "wording": self.wording,
            "confirmed": self.confirmed,
            "fingerprint": self.fingerprint,
            "overridden": self.override is not None,
        }


@dataclass
class PartnerDose:
    drug: str
    mg_per_m2: Decimal
    bsa_m2: Decimal
    exact_mg: Decimal
    rounded_mg: Decimal
    round_to_mg: Decimal
    days: tuple[int, int]
    route: str


@dataclass
class LabTime:
    label: str
    earliest: datetime
    latest: datetime


@dataclass
class SafetyReport:
    rules: LabelRuleSet
    findings: list[Finding] = field(default_factory=list)
    label_target_mg: Decimal | None = None
    max_dose_mg: Decimal | None = None
    expected_ramp_up_mg: list[Decimal] = field(default_factory=list)
    partner_dose: PartnerDose | None = None
    tls: TlsPrecautions | None = None
    lab_schedule: list[LabTime] = field(default_factory=list)

    @property
    def open_blocking(self) -> list[Finding]:
        return [f for f in self.findings if f.open]

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for f in self.findings if f.severity == s) for s in SEVERITY_ORDER}


def _mg(value: Decimal) -> str:
    return f"{decimal_plain(value)} mg"


def _steps(steps: list[Decimal]) -> str:
    return "/".join(decimal_plain(s) for s in steps) + " mg"


class _Checker:
    def __init__(self, request: OffLabelRequest, rules: LabelRuleSet) -> None:
        self.request = request
        self.patient: Patient = request.patient
        self.rules = rules
        self.data: dict[str, Any] = rules.data
        self.report = SafetyReport(rules=rules)
        self.medications = [m for m in self.patient.medications.all() if m.ongoing]

    def add(
        self,
        code: str,
        severity: str,
        title: str,
        message: str,
        rule: dict[str, Any],
        *,
        wording_key: str = "wording",
        confirmed: bool | None = None,
    ) -> None:
        self.report.findings.append(
            Finding(
                code=code,
                severity=severity,
                title=title,
                message=message,
                source=f"{source_name(self.rules, rule['source'])} (label rules "
                f"v{self.rules.version}, verified {self.rules.verified_on:%Y-%m-%d})",
                wording=rule[wording_key],
                confirmed=rule.get("confirmed", True) if confirmed is None else confirmed,
            )
        )

    # --- the checks -----------------------------------------------------------------------

    def run(self) -> SafetyReport:
        partner = self.data["partners"].get(self.request.regimen)
        self.check_partner(partner)
        caps = self.check_interactions(partner)
        self.check_hepatic(caps)
        self.check_dose(partner, caps)
        self.check_ramp_up(partner)
        self.check_tablets()
        self.check_tls()
        food = self.data["food"]
        self.add(
            "food",
            INFO,
            "Food and fruit",
            "Take once daily with food; avoid grapefruit, Seville oranges and starfruit.",
            food,
        )
        self.report.findings.sort(key=lambda f: SEVERITY_ORDER[f.severity])
        return self.report

    def check_partner(self, partner: dict[str, Any] | None) -> None:
        if partner is None:
            self.add(
                "no_label_schedule",
                WARNING,
                "No label schedule for this partner",
                f"The label gives no VEN schedule with "
                f"{self.request.get_regimen_display() or 'this regimen'}: the dose and ramp-up "
                "are checked only for interactions and tablets; check them against the protocol.",
                self.data["ramp_ups"]["hma_3_day"],
            )
            return
        ramp = self.data["ramp_ups"][partner["ramp_up"]]
        self.report.label_target_mg = Decimal(ramp["target_mg"])
        planned = self.request.ramp_up
        if planned and planned != OffLabelRequest.RampUp.CUSTOM and planned != partner["ramp_up"]:
            self.add(
                "ramp_up_partner_mismatch",
                WARNING,
                "Ramp-up does not match the partner",
                f"The request plans the {self.request.get_ramp_up_display()}, but with "
                f"{partner['drug']} the label ramp-up is "
                f"{_steps([Decimal(s) for s in ramp['steps_mg']])}.",
                ramp,
            )
        bsa = self.patient.bsa_m2
        if bsa is None:
            self.add(
                "bsa_missing",
                WARNING,
                f"{partner['drug'].capitalize()} dose not computed",
                f"Weight and height are needed for the {partner['drug']} dose "
                f"({partner['mg_per_m2']} mg/m²).",
                partner,
            )
            return
        per_m2 = Decimal(partner["mg_per_m2"])
        step = Decimal(partner["round_to_mg"])
        exact = (per_m2 * bsa).quantize(Decimal("0.01"))
        rounded = ((exact / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step).normalize()
        first, last = partner["days"]
        self.report.partner_dose = PartnerDose(
            partner["drug"], per_m2, bsa, exact, rounded, step, (first, last), partner["route"]
        )
        self.add(
            "partner_dose",
            INFO,
            f"{partner['drug'].capitalize()} dose from BSA",
            f"{partner['drug'].capitalize()} {decimal_plain(per_m2)} mg/m² × BSA "
            f"{decimal_plain(bsa)} m² (Mosteller) = {decimal_plain(exact)} mg, rounded to "
            f"{_mg(rounded)} (nearest {_mg(step)}, hospital rule), {partner['route']} "
            f"days {first}–{last} of each cycle.",
            partner,
        )

    def _inhibitor_rule(self, med: ConcomitantMedication) -> dict[str, Any] | None:
        name = med.drug_name.lower()
        for rule in self.data["inhibitors"]:
            if any(n in name for n in rule.get("match_names", [])):
                return rule
            if rule.get("match_interaction") == med.interaction:
                return rule
            if rule.get("match_pgp_flag") and med.also_pgp_inhibitor:
                return rule
        return None

    def check_interactions(
        self, partner: dict[str, Any] | None
    ) -> list[tuple[Decimal, str, str, dict[str, Any]]]:
        """Per-medication dose caps: (cap mg, code, who, rule)."""
        base = self.report.label_target_mg or self.request.ven_target_dose_mg
        caps: list[tuple[Decimal, str, str, dict[str, Any]]] = []
        strong: list[ConcomitantMedication] = []
        for med in self.medications:
            name = med.drug_name.lower()
            for banned in self.data["contraindicated_drugs"]:
                if any(n in name for n in banned["match_names"]):
                    self.add(
                        f"contraindicated_{banned['code']}",
                        banned["severity"],
                        f"{banned['title']}: contraindicated",
                        f"{med.drug_name} is contraindicated with venetoclax (EU SmPC): stop it "
                        "before the first dose.",
                        banned,
                    )
            if med.interaction == Interaction.STRONG_CYP3A_INDUCER:
                self.add(
                    "cyp3a_inducer",
                    self.data["inducers"]["severity"],
                    "CYP3A inducer",
                    f"{med.drug_name} induces CYP3A and lowers venetoclax exposure: avoid it.",
                    self.data["inducers"],
                )
            rule = self._inhibitor_rule(med)
            if rule is None:
                if med.interaction == Interaction.UNKNOWN:
                    self.add(
                        "medication_unclassified",
                        WARNING,
                        "Medication not classified",
                        f"{med.drug_name}: its CYP3A / P-gp class is not recorded; classify it "
                        "before the first dose (strong, moderate or P-gp inhibitors change the "
                        "dose).",
                        self.data["inhibitors"][0],
                    )
                continue
            if "max_dose_mg" in rule:
                cap = Decimal(rule["max_dose_mg"])
            elif base is not None:
                cap = base * (100 - Decimal(rule["reduce_by_percent"])) / 100
            else:
                continue
            caps.append((cap, rule["code"], med.drug_name, rule))
            if rule["code"] in STRONG:
                strong.append(med)
        if caps:
            self.add(
                "inhibitor_resume",
                INFO,
                "When the inhibitor stops",
                "Resume the previous venetoclax dose 2–3 days after "
                + ", ".join(sorted({who for _, _, who, _ in caps}))
                + " stops.",
                self.data["inhibitor_advice"],
            )
        for med in strong:
            self.add(
                "strong_inhibitor_at_initiation",
                self.data["initiation_contraindication"]["severity"],
                "Strong CYP3A inhibitor at initiation",
                f"{med.drug_name} is a strong CYP3A inhibitor. The USPI contraindicates strong "
                "CYP3A inhibitors at initiation and ramp-up in CLL; in AML the label gives a "
                "reduced dose and ramp-up (see below). Check the inhibitor's own label too.",
                self.data["initiation_contraindication"],
            )
        return caps

    def check_hepatic(self, caps: list[tuple[Decimal, str, str, dict[str, Any]]]) -> None:
        rule = self.data["hepatic"]
        function = self.patient.hepatic_function
        base = self.report.label_target_mg or self.request.ven_target_dose_mg
        if function == Patient.Hepatic.SEVERE and base is not None:
            cap = base * (100 - Decimal(rule["severe_reduce_by_percent"])) / 100
            caps.append((cap, "hepatic_severe", "severe hepatic impairment", rule))
        elif function == Patient.Hepatic.UNKNOWN:
            self.add(
                "hepatic_unknown",
                WARNING,
                "Hepatic function not recorded",
                "Hepatic function is not recorded; with severe impairment (Child-Pugh C) the "
                "dose is reduced by 50%.",
                rule,
            )

    def check_dose(
        self, partner: dict[str, Any] | None, caps: list[tuple[Decimal, str, str, dict[str, Any]]]
    ) -> None:
        target = self.request.ven_target_dose_mg
        if caps:
            self.report.max_dose_mg = min(cap for cap, *_ in caps)
        if target is None:
            return
        for cap, code, who, rule in caps:
            if target > cap:
                self.add(
                    f"dose_above_{code}",
                    BLOCKING,
                    f"Dose too high with {who}",
                    f"With {who} the label dose is at most {_mg(cap)} daily; "
                    f"{_mg(target)} is planned.",
                    rule,
                )
            else:
                self.add(
                    f"dose_adjusted_{code}",
                    INFO,
                    f"Dose adjusted for {who}",
                    f"{_mg(target)} planned, within the label's {_mg(cap)} with {who}.",
                    rule,
                )
        label = self.report.label_target_mg
        if partner is None or label is None or caps:
            return
        ramp_rule = self.data["ramp_ups"][partner["ramp_up"]]
        if target > label:
            self.add(
                "dose_above_label",
                BLOCKING,
                "Dose above the label",
                f"{_mg(target)} is above the label's {_mg(label)} daily with {partner['drug']}.",
                ramp_rule,
            )
        elif target < label:
            self.add(
                "dose_below_label",
                WARNING,
                "Dose below the label",
                f"{_mg(target)} is below the label's {_mg(label)} daily with {partner['drug']}, "
                "and no interacting medication or hepatic impairment is recorded: check the "
                "reason.",
                ramp_rule,
            )

    def check_ramp_up(self, partner: dict[str, Any] | None) -> None:
        planned = ramp_up_for(self.request, self.rules)
        strong = [
            r
            for med in self.medications
            if (r := self._inhibitor_rule(med)) is not None and r["code"] in STRONG
        ]
        if not strong and partner is not None:
            ramp = self.data["ramp_ups"][partner["ramp_up"]]
            self.report.expected_ramp_up_mg = [Decimal(s) for s in ramp["steps_mg"]]
            if planned is not None and planned.steps_mg != self.report.expected_ramp_up_mg:
                self.add(
                    "ramp_up_differs",
                    WARNING,
                    "Ramp-up differs from the label",
                    f"The request plans {_steps(planned.steps_mg)}; the label ramp-up with "
                    f"{partner['drug']} is {_steps(self.report.expected_ramp_up_mg)}.",
                    ramp,
                )
        if self.request.ramp_up == OffLabelRequest.RampUp.CUSTOM and planned is None:
            self.add(
                "ramp_up_not_computable",
                WARNING,
                "Custom ramp-up not computable",
                "Write the custom ramp-up as daily doses, e.g. '10/20/50/70 mg', so that the "
                "tablets and the laboratory times can be computed.",
                self.data["tls"],
                wording_key="labs_wording",
            )
        if strong:
            rule = min(strong, key=lambda r: r["max_dose_mg"])
            expected = [Decimal(s) for s in rule["ramp_up_steps_mg"]]
            self.report.expected_ramp_up_mg = expected
            if planned is None or planned.steps_mg != expected:
                written = _steps(planned.steps_mg) if planned else "no computable ramp-up"
                self.add(
                    "ramp_up_with_inhibitor",
                    WARNING,
                    "Ramp-up with a strong CYP3A inhibitor",
                    f"With {rule['title'].split(' (')[0].lower()} the AML ramp-up is "
                    f"{_steps(expected)} (days 1–{len(expected)}); the request plans {written}. "
                    "Verify against the current label.",
                    rule,
                    wording_key="ramp_up_wording",
                    confirmed=rule["ramp_up_confirmed"],
                )

    def check_tablets(self) -> None:
        smallest = min(tablet_strengths(self.rules))
        planned = ramp_up_for(self.request, self.rules)
        doses = set(planned.steps_mg if planned else [])
        if self.request.ven_target_dose_mg is not None:
            doses.add(self.request.ven_target_dose_mg)
        for dose in sorted(doses):
            if dose % smallest:
                self.add(
                    "dose_not_in_tablets",
                    BLOCKING,
                    "Dose cannot be made from tablets",
                    f"{_mg(dose)} cannot be made from "
                    + ", ".join(_mg(s) for s in tablet_strengths(self.rules))
                    + " tablets.",
                    self.data["tablets"],
                )

    def check_tls(self) -> None:
        rule = self.data["tls"]
        limit = Decimal(rule["max_wbc_10e9_l"])
        wbc = self.patient.wbc_10e9_l
        if wbc is None:
            self.add(
                "wbc_missing",
                BLOCKING,
                "WBC not recorded",
                f"The WBC must be below {decimal_plain(limit)} ×10⁹/L before the first dose; "
                "record it in the patient's profile.",
                rule,
                wording_key="wbc_wording",
            )
        elif wbc >= limit:
            self.add(
                "wbc_too_high",
                BLOCKING,
                "WBC too high to start",
                f"WBC {decimal_plain(wbc)} ×10⁹/L: it must be below {decimal_plain(limit)} "
                "×10⁹/L before the first dose (cytoreduce first).",
                rule,
                wording_key="wbc_wording",
            )
        tls = TlsPrecautions.objects.filter(request=self.request).first()
        self.report.tls = tls
        missing = tls_missing(tls)
        if missing:
            self.add(
                "tls_prophylaxis",
                WARNING,
                "TLS prophylaxis not confirmed",
                "Not yet recorded: " + ", ".join(missing) + ". Required before cycle 1 is "
                "dispensed.",
                rule,
                wording_key="prophylaxis_wording",
            )
        if tls is not None:
            self.report.lab_schedule = lab_schedule(self.request, tls.first_dose_at, self.rules)


def tls_missing(tls: TlsPrecautions | None) -> list[str]:
    if tls is None:
        return ["the first-dose time", "hydration", "the anti-hyperuricaemic", "chemistry"]
    missing = []
    if not tls.hydration:
        missing.append("hydration")
    if not tls.antihyperuricaemic.strip():
        missing.append("the anti-hyperuricaemic")
    if not tls.chemistry_corrected:
        missing.append("chemistry corrected")
    return missing


def lab_schedule(
    request: OffLabelRequest, first_dose_at: datetime, rules: LabelRuleSet | None = None
) -> list[LabTime]:
    """Blood chemistry for TLS: before and 6-8 h after each new dose of the ramp-up, and 24 h
    after reaching the final dose (label wording in the rules). Day n's dose is taken at the
    same clock time as day 1's."""
    rules = rules or label_rules_current()
    tls = rules.data["tls"]
    early, late = (timedelta(hours=h) for h in tls["labs_hours_after_new_dose"])
    after_final = timedelta(hours=tls["labs_hours_after_final_dose"])
    ramp_up = ramp_up_for(request, rules)
    target = request.ven_target_dose_mg
    steps = list(ramp_up.steps_mg) if ramp_up else ([target] if target is not None else [])
    if target is not None and steps:
        steps = [min(s, target) for s in steps[:-1]] + [target]
    times: list[LabTime] = []
    for day, dose in enumerate(steps, start=1):
        taken = first_dose_at + timedelta(days=day - 1)
        times.append(LabTime(f"Day {day} ({_mg(dose)}): pre-dose", taken, taken))
        times.append(LabTime(f"Day {day} ({_mg(dose)}): 6–8 h after", taken + early, taken + late))
    if steps:
        final = first_dose_at + timedelta(days=len(steps) - 1) + after_final
        times.append(
            LabTime(
                f"Day {len(steps) + 1}: 24 h after reaching {_mg(steps[-1])}",
                final,
                final,
            )
        )
    return times


def safety_check(request: OffLabelRequest) -> SafetyReport:
    """The findings for the request as it stands now, with any overrides attached."""
    report = _Checker(request, label_rules_current()).run()
    overrides = {o.fingerprint: o for o in SafetyOverride.objects.filter(request=request)}
    for finding in report.findings:
        if finding.severity == BLOCKING:
            finding.override = overrides.get(finding.fingerprint)
    return report
