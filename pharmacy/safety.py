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

from django.utils import formats
from django.utils.translation import gettext, gettext_lazy, gettext_noop
from django_stubs_ext import StrOrPromise

from offlabel.i18n import Bilingual
from pharmacy.models import LabelRuleSet, SafetyOverride, TlsPrecautions
from pharmacy.plan import ramp_up_for, tablet_strengths
from pharmacy.rules import label_rules_current, source_name
from prescriptions.models import ConcomitantMedication, Interaction, OffLabelRequest, Patient
from prescriptions.selectors import decimal_plain

INFO, WARNING, BLOCKING = "info", "warning", "blocking"
SEVERITY_ORDER = {BLOCKING: 0, WARNING: 1, INFO: 2}
STRONG = {"posaconazole", "strong_cyp3a"}
# A dose cap: (cap in mg, rule code, what imposes it, rule).
Cap = tuple[Decimal, str, StrOrPromise, dict[str, Any]]


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
    confirmed: bool = True
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


def _mg(value: Decimal) -> _Num:
    return _Num(value, "mg")


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
        title: Text,
        message: Text,
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
                source=gettext("%(source)s (label rules v%(version)s, verified %(date)s)")
                % {
                    "source": source_name(self.rules, rule["source"]),
                    "version": self.rules.version,
                    "date": formats.date_format(self.rules.verified_on, "SHORT_DATE_FORMAT"),
                },
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
            Text(gettext_noop("Food and fruit")),
            Text(
                gettext_noop(
                    "Take once daily with food; avoid grapefruit, Seville oranges and starfruit."
                )
            ),
            food,
        )
        self.report.findings.sort(key=lambda f: SEVERITY_ORDER[f.severity])
        return self.report

    def check_partner(self, partner: dict[str, Any] | None) -> None:
        if partner is None:
            self.add(
                "no_label_schedule",
                WARNING,
                Text(gettext_noop("No label schedule for this partner")),
                Text(
                    gettext_noop(
                        "The label gives no VEN schedule with %(regimen)s: the dose and ramp-up "
                        "are checked only for interactions and tablets; check them against the "
                        "protocol."
                    ),
                    regimen=self.request.get_regimen_display()
                    if self.request.regimen
                    else gettext_lazy("this regimen"),
                ),
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
                Text(gettext_noop("Ramp-up does not match the partner")),
                Text(
                    gettext_noop(
                        "The request plans the %(planned)s, but with %(drug)s the label ramp-up "
                        "is %(steps)s."
                    ),
                    planned=self.request.get_ramp_up_display(),
                    drug=partner["drug"],
                    steps=_steps([Decimal(s) for s in ramp["steps_mg"]]),
                ),
                ramp,
            )
        bsa = self.patient.bsa_m2
        if bsa is None:
            self.add(
                "bsa_missing",
                WARNING,
                Text(gettext_noop("%(drug)s dose not computed"), drug=partner["drug"].capitalize()),
                Text(
                    gettext_noop("Weight and height are needed for the %(drug)s dose (%(dose)s)."),
                    drug=partner["drug"],
                    dose=_Num(Decimal(str(partner["mg_per_m2"])), "mg/m²"),
                ),
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
            Text(gettext_noop("%(drug)s dose from BSA"), drug=partner["drug"].capitalize()),
            Text(
                gettext_noop(
                    "%(drug)s %(per_m2)s mg/m² × BSA %(bsa)s m² (Mosteller) = %(exact)s, rounded "
                    "to %(rounded)s (nearest %(step)s, hospital rule), %(route)s days "
                    "%(first)s–%(last)s of each cycle."
                ),
                drug=partner["drug"].capitalize(),
                per_m2=_Num(per_m2),
                bsa=_Num(bsa),
                exact=_mg(exact),
                rounded=_mg(rounded),
                step=_mg(step),
                route=partner["route"],
                first=first,
                last=last,
            ),
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

    def check_interactions(self, partner: dict[str, Any] | None) -> list[Cap]:
        """Per-medication dose caps: (cap mg, code, who, rule)."""
        base = self.report.label_target_mg or self.request.ven_target_dose_mg
        caps: list[Cap] = []
        strong: list[ConcomitantMedication] = []
        for med in self.medications:
            name = med.drug_name.lower()
            for banned in self.data["contraindicated_drugs"]:
                if any(n in name for n in banned["match_names"]):
                    self.add(
                        f"contraindicated_{banned['code']}",
                        banned["severity"],
                        Text(gettext_noop("%(drug)s: contraindicated"), drug=banned["title"]),
                        Text(
                            gettext_noop(
                                "%(drug)s is contraindicated with venetoclax (EU SmPC): stop it "
                                "before the first dose."
                            ),
                            drug=med.drug_name,
                        ),
                        banned,
                    )
            if med.interaction == Interaction.STRONG_CYP3A_INDUCER:
                self.add(
                    "cyp3a_inducer",
                    self.data["inducers"]["severity"],
                    Text(gettext_noop("CYP3A inducer")),
                    Text(
                        gettext_noop(
                            "%(drug)s induces CYP3A and lowers venetoclax exposure: avoid it."
                        ),
                        drug=med.drug_name,
                    ),
                    self.data["inducers"],
                )
            rule = self._inhibitor_rule(med)
            if rule is None:
                if med.interaction == Interaction.UNKNOWN:
                    self.add(
                        "medication_unclassified",
                        WARNING,
                        Text(gettext_noop("Medication not classified")),
                        Text(
                            gettext_noop(
                                "%(drug)s: its CYP3A / P-gp class is not recorded; classify it "
                                "before the first dose (strong, moderate or P-gp inhibitors "
                                "change the dose)."
                            ),
                            drug=med.drug_name,
                        ),
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
                Text(gettext_noop("When the inhibitor stops")),
                Text(
                    gettext_noop(
                        "Resume the previous venetoclax dose 2–3 days after %(drugs)s stops."
                    ),
                    drugs=", ".join(sorted({str(who) for _cap, _code, who, _rule in caps})),
                ),
                self.data["inhibitor_advice"],
            )
        for med in strong:
            self.add(
                "strong_inhibitor_at_initiation",
                self.data["initiation_contraindication"]["severity"],
                Text(gettext_noop("Strong CYP3A inhibitor at initiation")),
                Text(
                    gettext_noop(
                        "%(drug)s is a strong CYP3A inhibitor. The USPI contraindicates strong "
                        "CYP3A inhibitors at initiation and ramp-up in CLL; in AML the label gives "
                        "a reduced dose and ramp-up (see below). Check the inhibitor's own label "
                        "too."
                    ),
                    drug=med.drug_name,
                ),
                self.data["initiation_contraindication"],
            )
        return caps

    def check_hepatic(self, caps: list[Cap]) -> None:
        rule = self.data["hepatic"]
        function = self.patient.hepatic_function
        base = self.report.label_target_mg or self.request.ven_target_dose_mg
        if function == Patient.Hepatic.SEVERE and base is not None:
            cap = base * (100 - Decimal(rule["severe_reduce_by_percent"])) / 100
            caps.append((cap, "hepatic_severe", gettext_lazy("severe hepatic impairment"), rule))
        elif function == Patient.Hepatic.UNKNOWN:
            self.add(
                "hepatic_unknown",
                WARNING,
                Text(gettext_noop("Hepatic function not recorded")),
                Text(
                    gettext_noop(
                        "Hepatic function is not recorded; with severe impairment (Child-Pugh C) "
                        "the dose is reduced by 50%%."
                    )
                ),
                rule,
            )

    def check_dose(self, partner: dict[str, Any] | None, caps: list[Cap]) -> None:
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
                    Text(gettext_noop("Dose too high with %(who)s"), who=who),
                    Text(
                        gettext_noop(
                            "With %(who)s the label dose is at most %(cap)s daily; "
                            "%(target)s is planned."
                        ),
                        who=who,
                        cap=_mg(cap),
                        target=_mg(target),
                    ),
                    rule,
                )
            else:
                self.add(
                    f"dose_adjusted_{code}",
                    INFO,
                    Text(gettext_noop("Dose adjusted for %(who)s"), who=who),
                    Text(
                        gettext_noop(
                            "%(target)s planned, within the label's %(cap)s with %(who)s."
                        ),
                        target=_mg(target),
                        cap=_mg(cap),
                        who=who,
                    ),
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
                Text(gettext_noop("Dose above the label")),
                Text(
                    gettext_noop("%(target)s is above the label's %(label)s daily with %(drug)s."),
                    target=_mg(target),
                    label=_mg(label),
                    drug=partner["drug"],
                ),
                ramp_rule,
            )
        elif target < label:
            self.add(
                "dose_below_label",
                WARNING,
                Text(gettext_noop("Dose below the label")),
                Text(
                    gettext_noop(
                        "%(target)s is below the label's %(label)s daily with %(drug)s, and no "
                        "interacting medication or hepatic impairment is recorded: check the "
                        "reason."
                    ),
                    target=_mg(target),
                    label=_mg(label),
                    drug=partner["drug"],
                ),
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
                    Text(gettext_noop("Ramp-up differs from the label")),
                    Text(
                        gettext_noop(
                            "The request plans %(planned)s; the label ramp-up with %(drug)s is "
                            "%(expected)s."
                        ),
                        planned=_steps(planned.steps_mg),
                        drug=partner["drug"],
                        expected=_steps(self.report.expected_ramp_up_mg),
                    ),
                    ramp,
                )
        if self.request.ramp_up == OffLabelRequest.RampUp.CUSTOM and planned is None:
            self.add(
                "ramp_up_not_computable",
                WARNING,
                Text(gettext_noop("Custom ramp-up not computable")),
                Text(
                    gettext_noop(
                        "Write the custom ramp-up as daily doses, e.g. '10/20/50/70 mg', so that "
                        "the tablets and the laboratory times can be computed."
                    )
                ),
                self.data["tls"],
                wording_key="labs_wording",
            )
        if strong:
            rule = min(strong, key=lambda r: r["max_dose_mg"])
            expected = [Decimal(s) for s in rule["ramp_up_steps_mg"]]
            self.report.expected_ramp_up_mg = expected
            if planned is None or planned.steps_mg != expected:
                written = (
                    _steps(planned.steps_mg) if planned else gettext_lazy("no computable ramp-up")
                )
                self.add(
                    "ramp_up_with_inhibitor",
                    WARNING,
                    Text(gettext_noop("Ramp-up with a strong CYP3A inhibitor")),
                    Text(
                        gettext_noop(
                            "With %(inhibitor)s the AML ramp-up is %(expected)s (days "
                            "1–%(days)s); the request plans %(written)s. Verify against the "
                            "current label."
                        ),
                        inhibitor=rule["title"].split(" (")[0].lower(),
                        expected=_steps(expected),
                        days=len(expected),
                        written=written,
                    ),
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
                    Text(gettext_noop("Dose cannot be made from tablets")),
                    Text(
                        gettext_noop("%(dose)s cannot be made from %(strengths)s tablets."),
                        dose=_mg(dose),
                        strengths=", ".join(
                            f"{decimal_plain(s)} mg" for s in tablet_strengths(self.rules)
                        ),
                    ),
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
                Text(gettext_noop("WBC not recorded")),
                Text(
                    gettext_noop(
                        "The WBC must be below %(limit)s ×10⁹/L before the first dose; record it "
                        "in the patient's profile."
                    ),
                    limit=_Num(limit),
                ),
                rule,
                wording_key="wbc_wording",
            )
        elif wbc >= limit:
            self.add(
                "wbc_too_high",
                BLOCKING,
                Text(gettext_noop("WBC too high to start")),
                Text(
                    gettext_noop(
                        "WBC %(wbc)s ×10⁹/L: it must be below %(limit)s ×10⁹/L before the first "
                        "dose (cytoreduce first)."
                    ),
                    wbc=_Num(wbc),
                    limit=_Num(limit),
                ),
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
                Text(gettext_noop("TLS prophylaxis not confirmed")),
                Text(
                    gettext_noop(
                        "Not yet recorded: %(missing)s. Required before cycle 1 is dispensed."
                    ),
                    missing=_Joined(tls_missing_lazy(tls)),
                ),
                rule,
                wording_key="prophylaxis_wording",
            )
        if tls is not None:
            self.report.lab_schedule = lab_schedule(self.request, tls.first_dose_at, self.rules)


class _Joined:
    """Items joined with commas, each in the language the whole is rendered in."""

    def __init__(self, items: list[StrOrPromise]) -> None:
        self.items = items

    def __str__(self) -> str:
        return ", ".join(str(i) for i in self.items)


def tls_missing_lazy(tls: TlsPrecautions | None) -> list[StrOrPromise]:
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


def tls_missing(tls: TlsPrecautions | None) -> list[str]:
    """What the TLS precautions still lack, in the interface language."""
    return [str(item) for item in tls_missing_lazy(tls)]


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
        label = {"day": day, "dose": _mg(dose)}
        times.append(LabTime(gettext("Day %(day)s (%(dose)s): pre-dose") % label, taken, taken))
        times.append(
            LabTime(
                gettext("Day %(day)s (%(dose)s): 6–8 h after") % label,
                taken + early,
                taken + late,
            )
        )
    if steps:
        final = first_dose_at + timedelta(days=len(steps) - 1) + after_final
        times.append(
            LabTime(
                gettext("Day %(day)s: 24 h after reaching %(dose)s")
                % {"day": len(steps) + 1, "dose": _mg(steps[-1])},
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
