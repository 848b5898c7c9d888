"""The label rules data file: load it as a new version when it changes, read the current one.

The file carries the translations of the texts a page shows ("i18n": the sources' titles, the
partner drugs and routes, the payer sources); the label's own words ("wording") are quoted as
written. A translation is not a rule: a file whose rules are unchanged and whose translations
changed updates the current version in place, so no treatment plan changes version for it.
"""

from __future__ import annotations

import contextlib
import itertools
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from audit.actions import AuditAction
from audit.services import audit_record
from offlabel.i18n import Bilingual, TranslationsInvalid, localized, translations_check
from offlabel.sourced_data import SourcedFile, SourcedVersions, content_hash, untranslated
from pharmacy.models import LabelRuleSet, SafetySummary

LABEL_RULES_FILE = Path(settings.BASE_DIR) / "pharmacy" / "data" / "label_rules.json"


@dataclass(frozen=True)
class LoadReport:
    version: int
    created: bool

    def __str__(self) -> str:
        state = "loaded as a new version" if self.created else "unchanged"
        return f"label rules v{self.version}: {state}"


def _digest(data: dict[str, Any]) -> str:
    """The rules, without their translations: a new translation makes no new version."""
    return content_hash(untranslated(data))


@transaction.atomic
def label_rules_load(*, path: Path = LABEL_RULES_FILE) -> LoadReport:
    """Idempotent: an unchanged file adds nothing; a changed one becomes the current version."""
    source = SourcedFile.read(path)
    data = source.data
    label_rules_parse(data)  # a malformed file is refused here, never at a patient's plan
    digest = _digest(data)
    versions = SourcedVersions(LabelRuleSet.objects)
    existing = versions.with_hash(digest)
    if existing is not None:
        if existing.data != data:  # the same rules, with new translations
            existing.data = data
            existing.save(update_fields=["data"])
            audit_record(
                actor=None,
                action=AuditAction.LABEL_RULES_TRANSLATIONS_LOADED,
                target=existing,
                summary=f"{existing}: translations loaded from the data file "
                f"v{source.version} (the rules are unchanged)",
            )
        if not existing.is_current:
            versions.make_current(existing)
            _summaries_refresh()
        return LoadReport(existing.version, created=False)
    rule_set, _previous = versions.add_current(
        dataset_version=source.version,
        verified_on=date.fromisoformat(data["verified_on"]),
        data=data,
        data_hash=digest,
        change_note=f"Loaded from the label rules data file v{source.version}",
    )
    audit_record(
        actor=None,
        action=AuditAction.LABEL_RULES_LOADED,
        target=rule_set,
        summary=f"{rule_set} loaded from the data file v{source.version}",
    )
    _summaries_refresh()
    return LoadReport(rule_set.version, created=True)


def _summaries_refresh() -> None:
    """New rules: the stored counts of open blocking findings are recomputed."""
    # Local: pharmacy.services reads the current rules from this module (one app, no cycle
    # between apps).
    from pharmacy.services import safety_summary_refresh

    for summary in SafetySummary.objects.select_related("request__patient"):
        safety_summary_refresh(summary.request)


def label_rules_current() -> LabelRuleSet:
    """The current version; the shipped data file is loaded on first use of a fresh database."""
    current = LabelRuleSet.objects.filter(is_current=True).first()
    if current is not None:
        return current
    with contextlib.suppress(IntegrityError):  # another process loaded it first
        label_rules_load()
    return LabelRuleSet.objects.get(is_current=True)


def tablet_strengths(rules: LabelRuleSet) -> tuple[Decimal, ...]:
    return tuple(Decimal(s) for s in sorted(rules.data["tablets"]["strengths_mg"], reverse=True))


def source_name(rules: LabelRuleSet, key: str) -> str:
    """A source's title in the reader's language (the key itself when unknown)."""
    english = rules.data["sources"].get(key, key)
    titles = {
        lang: texts.get("sources") or {} for lang, texts in (rules.data.get("i18n") or {}).items()
    }
    return localized({key: english, "i18n": titles}, key)


# --- Typed rules ------------------------------------------------------------------------------
# The data file parsed once per version into frozen objects, and validated: a rule the checks
# cite must exist, every number must be a number, every finding code must have a severity.
# A file that fails is refused when it is loaded, not when a patient's plan is computed.

SEVERITIES = ("blocking", "warning", "info")
SCOPES = ("initiation", "every_cycle")


class RulesInvalid(ValueError):
    """The label rules data file is malformed; the message names the place."""


@dataclass(frozen=True)
class Rule:
    """One sourced label fact: where it comes from, its words, whether the source is
    confirmed. ``path`` names it in the data file (``inhibitors.posaconazole``)."""

    path: str
    source: str
    wording: str
    confirmed: bool
    raw: dict[str, Any]


@dataclass(frozen=True)
class RampUpRule:
    code: str
    steps_mg: tuple[Decimal, ...]
    target_mg: Decimal
    rule: Rule


@dataclass(frozen=True)
class PartnerRule:
    code: str
    drug: str  # English, as the record keeps it
    ramp_up: str
    mg_per_m2: Decimal
    route: str
    days: tuple[int, int]
    round_to_mg: Decimal
    rule: Rule

    @property
    def drug_text(self) -> Bilingual:
        """The drug's name in the reader's language (``azacitidina``), its English kept for the
        record (a finding's fingerprint is made of English)."""
        return Bilingual.of(self.drug, localized(self.rule.raw, "drug"))

    @property
    def drug_title(self) -> Bilingual:
        """``drug_text`` with a capital, to begin a sentence or a title."""
        return Bilingual.of(self.drug.capitalize(), localized(self.rule.raw, "drug").capitalize())

    @property
    def route_text(self) -> Bilingual:
        return Bilingual.of(self.route, localized(self.rule.raw, "route"))


@dataclass(frozen=True)
class InhibitorRule:
    """A row of the label's dose modifications with inhibitors: a fixed ramp-up and steady
    dose (posaconazole, other strong CYP3A), or a reduction of every step (moderate, P-gp)."""

    code: str
    title: str
    match_drug_codes: tuple[str, ...]
    match_classes: tuple[str, ...]
    match_also_pgp: bool
    ramp_up_steps_mg: tuple[Decimal, ...]
    steady_mg: Decimal | None
    reduce_by_percent: Decimal | None
    rule: Rule

    def max_for_day(self, ramp_day: int, base_mg: Decimal) -> Decimal:
        """The most this rule allows on day ``ramp_day`` (1-based, counted from the first dose)
        where the unmodified schedule gives ``base_mg``."""
        if self.reduce_by_percent is not None:
            return base_mg * (100 - self.reduce_by_percent) / 100
        assert self.steady_mg is not None
        if ramp_day <= len(self.ramp_up_steps_mg):
            return self.ramp_up_steps_mg[ramp_day - 1]
        return self.steady_mg


@dataclass(frozen=True)
class FindingRule:
    code: str
    severity: str
    rule_path: str
    scope: str
    overridable: bool


@dataclass(frozen=True)
class CytopeniaRule:
    after_responses: tuple[str, ...]
    terms: tuple[str, ...]
    grade: int
    lasting_days: int
    recovered_grade: int
    shorten_days: int
    rule: Rule


@dataclass(frozen=True)
class LabelRules:
    version: int
    verified_on: date
    sources: dict[str, str]
    strengths_mg: tuple[Decimal, ...]  # largest first
    ramp_ups: dict[str, RampUpRule]
    partners: dict[str, PartnerRule]
    inhibitors: tuple[InhibitorRule, ...]
    resume_after_days: int  # the later end of the label's 2-3 days: the safer one
    hepatic_severe: tuple[str, ...]
    hepatic_reduce_by_percent: Decimal
    renal_severe_below: Decimal
    tls_max_wbc: Decimal
    tls_labs_hours_after_new_dose: tuple[int, int]
    tls_labs_hours_after_final_dose: int
    tls_reduced_renal_below: Decimal
    cytopenia: CytopeniaRule
    early_window_days_default: int
    inducer_classes: tuple[str, ...]
    contraindicated_codes: tuple[str, ...]
    food_classes: tuple[str, ...]
    findings: dict[str, FindingRule]
    rules: dict[str, Rule]  # every sourced rule by its path
    # The sources' titles in other languages: {"it": {"uspi": "…"}}.
    source_translations: dict[str, dict[str, str]]

    def rule(self, path: str) -> Rule:
        return self.rules[path]

    def source_title(self, key: str) -> str:
        """A source's title in the reader's language."""
        english = self.sources.get(key, key)
        return localized({key: english, "i18n": self.source_translations}, key)

    def finding(self, code: str) -> FindingRule:
        return self.findings[code]

    def inhibitor(self, code: str) -> InhibitorRule:
        return next(r for r in self.inhibitors if r.code == code)


def _need(node: dict[str, Any], key: str, where: str) -> Any:
    if not isinstance(node, dict) or key not in node:
        raise RulesInvalid(f"{where}: '{key}' is missing")
    return node[key]


def _dec(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise RulesInvalid(f"{where}: {value!r} is not a number")
    try:
        number = Decimal(str(value))
    except ArithmeticError as exc:
        raise RulesInvalid(f"{where}: {value!r} is not a number") from exc
    if not number.is_finite() or number < 0:
        raise RulesInvalid(f"{where}: {value!r} is not a non-negative number")
    return number


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RulesInvalid(f"{where}: {value!r} is not a non-negative whole number")
    return value


def _rule(node: Any, path: str, sources: dict[str, str], wording_key: str = "wording") -> Rule:
    source = _need(node, "source", path)
    if source not in sources:
        raise RulesInvalid(f"{path}: source '{source}' is not among the sources")
    wording = _need(node, wording_key, path)
    if not isinstance(wording, str) or not wording.strip():
        raise RulesInvalid(f"{path}: the wording is empty")
    confirmed = node.get("confirmed", True)
    if not isinstance(confirmed, bool):
        raise RulesInvalid(f"{path}: 'confirmed' must be true or false")
    return Rule(path, source, wording, confirmed, node)


def _steps(values: Any, where: str) -> tuple[Decimal, ...]:
    if not isinstance(values, list) or not values:
        raise RulesInvalid(f"{where}: needs a non-empty list of doses")
    steps = tuple(_dec(v, where) for v in values)
    if any(b < a for a, b in itertools.pairwise(steps)):
        raise RulesInvalid(f"{where}: ramp-up steps must not decrease")
    return steps


def _translations_validate(data: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Every text of the file a page shows has a faithful translation (``offlabel.i18n``): the
    sources' titles, the partners' drugs and routes, the inhibitors' titles, the payer sources.
    Returns the sources' titles by language."""

    # A part that is missing or of the wrong shape is named by label_rules_parse's own checks.
    def part(key: str, kind: type) -> Any:
        value = data.get(key)
        return value if isinstance(value, kind) else kind()

    try:
        sources = part("sources", dict)
        titles = (data.get("i18n") or {}).get("it", {}).get("sources")
        if sources:
            translations_check(
                sources, list(sources), where="sources", translations={"it": titles or {}}
            )
        for code, node in part("partners", dict).items():
            translations_check(node, ("drug", "route"), where=f"partners.{code}")
        for node in part("inhibitors", list):
            translations_check(node, ("title",), where=f"inhibitors.{node.get('code')}")
        for code, node in part("payer_by_pathway", dict).items():
            translations_check(node, ("source",), where=f"payer_by_pathway.{code}")
    except TranslationsInvalid as exc:
        raise RulesInvalid(str(exc)) from None
    return {
        lang: dict(texts.get("sources") or {}) for lang, texts in (data.get("i18n") or {}).items()
    }


def label_rules_parse(data: dict[str, Any], version: int = 0) -> LabelRules:
    """Typed, validated rules from the data file's JSON; raises RulesInvalid naming the place."""
    source_translations = _translations_validate(data)
    sources = _need(data, "sources", "file")
    rules: dict[str, Rule] = {}

    def keep(rule: Rule) -> Rule:
        rules[rule.path] = rule
        return rule

    tablets = _need(data, "tablets", "file")
    strengths = tuple(
        sorted(
            (_dec(s, "tablets.strengths_mg") for s in _need(tablets, "strengths_mg", "tablets")),
            reverse=True,
        )
    )
    if not strengths or any(s <= 0 for s in strengths):
        raise RulesInvalid("tablets.strengths_mg: needs positive strengths")
    keep(_rule(tablets, "tablets", sources))
    ramp_ups = {}
    for code, node in _need(data, "ramp_ups", "file").items():
        where = f"ramp_ups.{code}"
        ramp_ups[code] = RampUpRule(
            code,
            _steps(_need(node, "steps_mg", where), where),
            _dec(_need(node, "target_mg", where), where),
            keep(_rule(node, where, sources)),
        )
    partners = {}
    for code, node in _need(data, "partners", "file").items():
        where = f"partners.{code}"
        ramp = _need(node, "ramp_up", where)
        if ramp not in ramp_ups:
            raise RulesInvalid(f"{where}: ramp-up '{ramp}' is not defined")
        first, last = (_int(v, where) for v in _need(node, "days", where))
        partners[code] = PartnerRule(
            code,
            str(_need(node, "drug", where)),
            ramp,
            _dec(_need(node, "mg_per_m2", where), where),
            str(_need(node, "route", where)),
            (first, last),
            _dec(_need(node, "round_to_mg", where), where),
            keep(_rule(node, where, sources)),
        )
    inhibitors = []
    for node in _need(data, "inhibitors", "file"):
        code = _need(node, "code", "inhibitors[]")
        where = f"inhibitors.{code}"
        reduce = node.get("reduce_by_percent")
        steady = node.get("steady_mg")
        if (reduce is None) == (steady is None):
            raise RulesInvalid(
                f"{where}: give either steady_mg with a ramp-up or reduce_by_percent"
            )
        if reduce is not None and not 0 < _dec(reduce, where) < 100:
            raise RulesInvalid(f"{where}: reduce_by_percent must be between 0 and 100")
        steps = _steps(node["ramp_up_steps_mg"], where) if steady is not None else ()
        if steady is not None and steps[-1] != _dec(steady, where):
            raise RulesInvalid(f"{where}: the last ramp-up step must be the steady dose")
        inhibitors.append(
            InhibitorRule(
                code,
                str(_need(node, "title", where)),
                tuple(node.get("match_drug_codes", [])),
                tuple(node.get("match_classes", [])),
                bool(node.get("match_also_pgp", False)),
                steps,
                _dec(steady, where) if steady is not None else None,
                _dec(reduce, where) if reduce is not None else None,
                keep(_rule(node, where, sources)),
            )
        )
    if len({r.code for r in inhibitors}) != len(inhibitors):
        raise RulesInvalid("inhibitors: codes must be unique")
    for path in (
        "inhibitor_advice",
        "initiation_contraindication",
        "inducers",
        "contraindicated",
        "food",
        "classification",
        "hepatic",
        "renal",
        "tls_reduced_renal",
        "cytopenia",
        "dispensing",
        "several_inhibitors",
        "eu_strong",
        "rounding",
    ):
        keep(_rule(_need(data, path, "file"), path, sources))
    for part in ("wbc", "prophylaxis", "labs", "risk"):
        keep(_rule(_need(data, "tls", "file"), f"tls.{part}", sources, f"{part}_wording"))
    advice = data["inhibitor_advice"]
    resume = _int(_need(advice, "plan_resume_after_days", "inhibitor_advice"), "inhibitor_advice")
    if resume != max(_need(advice, "resume_after_days", "inhibitor_advice")):
        raise RulesInvalid("inhibitor_advice: the plan must resume at the later, safer day")
    tls = data["tls"]
    early, late = (_int(h, "tls") for h in _need(tls, "labs_hours_after_new_dose", "tls"))
    cyto = data["cytopenia"]
    cytopenia = CytopeniaRule(
        tuple(_need(cyto, "after_responses", "cytopenia")),
        tuple(_need(cyto, "terms", "cytopenia")),
        _int(_need(cyto, "grade", "cytopenia"), "cytopenia"),
        _int(_need(cyto, "lasting_days", "cytopenia"), "cytopenia"),
        _int(_need(cyto, "recovered_grade", "cytopenia"), "cytopenia"),
        _int(_need(cyto, "shorten_days", "cytopenia"), "cytopenia"),
        rules["cytopenia"],
    )
    findings = {}
    catalogue = _need(_need(data, "findings", "file"), "codes", "findings")
    for code, node in catalogue.items():
        where = f"findings.{code}"
        severity, scope = _need(node, "severity", where), _need(node, "scope", where)
        if severity not in SEVERITIES:
            raise RulesInvalid(f"{where}: severity '{severity}' is not one of {SEVERITIES}")
        if scope not in SCOPES:
            raise RulesInvalid(f"{where}: scope '{scope}' is not one of {SCOPES}")
        path = _need(node, "rule", where)
        if path not in rules and not any(p.startswith(f"{path}.") for p in rules):
            raise RulesInvalid(f"{where}: rule '{path}' is not in the file")
        findings[code] = FindingRule(
            code, severity, path, scope, bool(_need(node, "overridable", where))
        )
    return LabelRules(
        version=version,
        verified_on=date.fromisoformat(_need(data, "verified_on", "file")),
        sources=dict(sources),
        strengths_mg=strengths,
        ramp_ups=ramp_ups,
        partners=partners,
        inhibitors=tuple(inhibitors),
        resume_after_days=resume,
        hepatic_severe=tuple(_need(data["hepatic"], "severe_classes", "hepatic")),
        hepatic_reduce_by_percent=_dec(
            _need(data["hepatic"], "severe_reduce_by_percent", "hepatic"), "hepatic"
        ),
        renal_severe_below=_dec(_need(data["renal"], "severe_below_ml_min", "renal"), "renal"),
        tls_max_wbc=_dec(_need(tls, "max_wbc_10e9_l", "tls"), "tls"),
        tls_labs_hours_after_new_dose=(early, late),
        tls_labs_hours_after_final_dose=_int(
            _need(tls, "labs_hours_after_final_dose", "tls"), "tls"
        ),
        tls_reduced_renal_below=_dec(
            _need(data["tls_reduced_renal"], "below_ml_min", "tls_reduced_renal"),
            "tls_reduced_renal",
        ),
        cytopenia=cytopenia,
        early_window_days_default=_int(
            _need(data["dispensing"], "early_window_days_default", "dispensing"), "dispensing"
        ),
        inducer_classes=tuple(_need(data["inducers"], "match_classes", "inducers")),
        contraindicated_codes=tuple(
            _need(data["contraindicated"], "match_drug_codes", "contraindicated")
        ),
        food_classes=tuple(_need(data["food"], "match_classes", "food")),
        findings=findings,
        rules=rules,
        source_translations=source_translations,
    )


_PARSED: dict[str, LabelRules] = {}


def label_rules_typed(rule_set: LabelRuleSet) -> LabelRules:
    """The typed rules of a stored version (parsed once per process and version, and again
    when the version's translations were updated in place)."""
    key = f"{rule_set.pk}:{content_hash(rule_set.data)}"
    parsed = _PARSED.get(key)
    if parsed is None:
        parsed = _PARSED[key] = label_rules_parse(rule_set.data, rule_set.version)
    return parsed
