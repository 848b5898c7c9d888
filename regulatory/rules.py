"""Evaluate rule expressions from the data file against the facts of one request.

An expression is data: ``{"fact": "age_years", "op": "lt", "value": 71}``, ``{"all_of": [...]}``,
``{"any_of": [...]}``, ``{"const": false, "because": "..."}``, ``{"unconfirmed": "..."}`` (the
official text is not known: always unknown, to verify) or ``{"rule": <expr>, "verify_when": <expr>,
"because": "..."}`` (a published rule that an amendment of unconfirmed text may have changed for
the patients ``verify_when`` picks out: for them "not met" becomes "unknown — verify", never
"cannot apply"). The result is met, not met or unknown, with the sentence that decided it
("age 67 (< 71)", or "unknown: age is missing").
This module knows how to read a request; which facts matter and the thresholds are the data's.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from evidence.models import TRIAL_DESIGNS
from offlabel.i18n import localized
from prescriptions.models import OffLabelRequest, Patient
from prescriptions.workflow import requirement_met

MET, NOT_MET, UNKNOWN = "met", "not_met", "unknown"

NUMBER, BOOLEAN, CHOICE = "number", "boolean", "choice"


@dataclass(frozen=True)
class Fact:
    """A fact a rule can test: its type decides the operators and the value a rule may use."""

    name: str
    label: Any  # lazy translation
    kind: str  # NUMBER, BOOLEAN or CHOICE
    description: Any  # how the fact is read from a request, for the rules editor's help text
    choices: tuple[tuple[str, Any], ...] = ()  # CHOICE: the codes a value may name

    def choice_codes(self) -> tuple[str, ...]:
        return tuple(code for code, _label in self.choices)


# The facts registry: what ``facts_for`` reads from a request, one entry per fact.
FACTS: dict[str, Fact] = {
    fact.name: fact
    for fact in (
        Fact(
            "regimen",
            _("partner regimen"),
            CHOICE,
            _("The partner regimen chosen on the request."),
            tuple(OffLabelRequest.Regimen.choices),
        ),
        Fact("age_years", _("age"), NUMBER, _("The patient's age in years.")),
        Fact(
            "prior_lines",
            _("number of prior lines"),
            NUMBER,
            _("The number of prior lines of therapy in the clinical profile."),
        ),
        Fact("ecog", _("ECOG"), NUMBER, _("The ECOG performance status, 0 to 4.")),
        Fact(
            "disease_status",
            _("disease status"),
            CHOICE,
            _("The disease status in the clinical profile."),
            tuple(Patient.DiseaseStatus.choices),
        ),
        Fact(
            "prior_hma",
            _("prior azacitidine or decitabine"),
            BOOLEAN,
            _("Yes when the patient received azacitidine or decitabine before."),
        ),
        Fact(
            "prior_venetoclax",
            _("prior venetoclax"),
            BOOLEAN,
            _("Yes when the patient received venetoclax before."),
        ),
        Fact(
            "prior_hma_with_venetoclax",
            _("prior azacitidine or decitabine given together with venetoclax"),
            BOOLEAN,
            _(
                "Yes when a prior azacitidine or decitabine was given together with "
                "venetoclax; no when either was never given."
            ),
        ),
        Fact(
            "fit_for_intensive_chemo",
            _("fitness for intensive chemotherapy"),
            BOOLEAN,
            _("Yes when the patient is judged fit for intensive chemotherapy."),
        ),
        Fact(
            "transplant_eligible",
            _("transplant eligibility"),
            BOOLEAN,
            _("Yes when the patient is eligible for a transplant."),
        ),
        Fact(
            "drug_has_marketing_authorisation",
            _("drug has a marketing authorisation"),
            BOOLEAN,
            _("Yes when the requested drug has a marketing authorisation."),
        ),
        Fact(
            "indication_authorised",
            _("indication authorised"),
            BOOLEAN,
            _("Always no: every request here is for an indication outside the label."),
        ),
        Fact(
            "life_threatening_condition",
            _("life-threatening condition"),
            BOOLEAN,
            _("Always yes: AML, the indication this product serves, is life-threatening."),
        ),
        Fact(
            "rationale_documented",
            _("rationale documented"),
            BOOLEAN,
            _("Yes when the request's clinical rationale has at least 20 characters."),
        ),
        Fact(
            "studies_attached",
            _("studies attached"),
            NUMBER,
            _("The number of studies attached to the request."),
        ),
        Fact(
            "phase2_trials_attached",
            _("phase II trials attached"),
            NUMBER,
            _("The number of attached studies that are phase II or phase Ib/II trials."),
        ),
        Fact(
            "consent_signed",
            _("consent signed"),
            BOOLEAN,
            _("Yes when a signed, not withdrawn consent on the current form is recorded."),
        ),
        Fact(
            "single_named_patient",
            _("single named patient"),
            BOOLEAN,
            _("Always yes: each request is for one named patient."),
        ),
    )
}
FACT_LABELS = {name: fact.label for name, fact in FACTS.items()}
# Which operators apply to a fact of each type (the editor offers only these; a rule that
# uses another is refused when it is saved or loaded).
OPS_BY_KIND: dict[str, tuple[str, ...]] = {
    NUMBER: ("eq", "ne", "lt", "lte", "gt", "gte"),
    BOOLEAN: ("is_true", "is_false"),
    CHOICE: ("in", "not_in", "eq", "ne"),
}
OP_LABELS = {
    "eq": _("equals"),
    "ne": _("does not equal"),
    "lt": _("is less than"),
    "lte": _("is at most"),
    "gt": _("is more than"),
    "gte": _("is at least"),
    "in": _("is one of"),
    "not_in": _("is none of"),
    "is_true": _("is yes"),
    "is_false": _("is no"),
}
_OPS = {
    "eq": ("=", lambda a, b: a == b),
    "ne": ("≠", lambda a, b: a != b),
    "lt": ("<", lambda a, b: a < b),
    "lte": ("≤", lambda a, b: a <= b),
    "gt": (">", lambda a, b: a > b),
    "gte": ("≥", lambda a, b: a >= b),
    "in": ("in", lambda a, b: a in b),
    "not_in": ("not in", lambda a, b: a not in b),
    "is_true": ("", lambda a, b: a is True),
    "is_false": ("", lambda a, b: a is False),
}
_YES_NO = {"yes": True, "no": False}


def consent_signed(request: OffLabelRequest) -> bool:
    """A signed, not withdrawn consent on the current version of the form: asked of the
    requirement the consent app registers (``KeyError`` if none did: never taken as met)."""
    return requirement_met("consent_signed", request)


def _hma_with_venetoclax(patient: Patient) -> bool | None:
    """Whether a prior HMA was given together with venetoclax. "No" follows from no prior HMA or
    no prior venetoclax; a recorded "yes" wins over a contradicting answer (it only ever leads
    to "verify", never to a refusal)."""
    answer = _YES_NO.get(patient.prior_hma_with_venetoclax)
    if answer is not None:
        return answer
    if patient.prior_hma == "no" or patient.prior_venetoclax == "no":
        return False
    return None


def facts_for(request: OffLabelRequest) -> dict[str, Any]:
    patient = request.patient
    snapshots = [a.snapshot for a in request.attachments.all()]
    return {
        "regimen": request.regimen or None,
        "age_years": patient.age_years,
        "prior_lines": patient.prior_lines,
        "ecog": patient.ecog,
        "disease_status": patient.disease_status or None,
        "prior_hma": _YES_NO.get(patient.prior_hma),
        "prior_venetoclax": _YES_NO.get(patient.prior_venetoclax),
        "prior_hma_with_venetoclax": _hma_with_venetoclax(patient),
        "fit_for_intensive_chemo": _YES_NO.get(patient.fit_for_intensive_chemo),
        "transplant_eligible": _YES_NO.get(patient.transplant_eligible),
        "drug_has_marketing_authorisation": request.drug.has_marketing_authorisation,
        "indication_authorised": False,  # every request here is off-label by definition
        # AML, the indication this product serves, is life-threatening.
        "life_threatening_condition": True,
        "rationale_documented": len(request.clinical_rationale.strip()) >= 20,
        "studies_attached": len(snapshots),
        "phase2_trials_attached": sum(1 for s in snapshots if s.get("design") in TRIAL_DESIGNS),
        "consent_signed": consent_signed(request),
        "single_named_patient": True,
    }


@dataclass(frozen=True)
class Outcome:
    result: str  # met / not_met / unknown
    because: str
    # Unknown because the official text is unconfirmed (a person verifies it), not because a
    # datum is missing (the prescriber records it).
    verify: bool = False


def _show(value: Any, fact: Fact | None = None) -> str:
    """A fact's value as a reader reads it: yes/no, a choice's label (never its code)."""
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, list | tuple):
        return ", ".join(_show(v, fact) for v in value)
    if fact is not None and fact.choices:
        return str(dict(fact.choices).get(value, value))
    return str(value)


def evaluate(expr: dict[str, Any], facts: dict[str, Any]) -> Outcome:
    if "const" in expr:
        return Outcome(MET if expr["const"] else NOT_MET, localized(expr, "because"))
    if "unconfirmed" in expr:  # the data's sentence, in the reader's language ("i18n")
        return Outcome(UNKNOWN, localized(expr, "unconfirmed"), verify=True)
    if "verify_when" in expr:
        published = evaluate(expr["rule"], facts)
        if published.result != NOT_MET:
            return published
        gate = evaluate(expr["verify_when"], facts)
        if gate.result == NOT_MET:
            return published
        if gate.result == UNKNOWN:  # record the datum that decides whether to verify
            return Outcome(UNKNOWN, f"{published.because}; {gate.because}")
        return Outcome(
            UNKNOWN,
            f"{published.because}; {gate.because} — {localized(expr, 'because')}",
            verify=True,
        )
    if "all_of" in expr or "any_of" in expr:
        parts = [evaluate(e, facts) for e in (expr.get("all_of") or expr.get("any_of") or [])]
        results = {p.result for p in parts}
        unknowns = [p for p in parts if p.result == UNKNOWN]
        verify = bool(unknowns) and all(p.verify for p in unknowns)
        if "all_of" in expr:
            decisive = [p for p in parts if p.result == NOT_MET] or [
                p for p in parts if p.result == UNKNOWN
            ]
            result = NOT_MET if NOT_MET in results else UNKNOWN if UNKNOWN in results else MET
            shown = decisive if decisive else parts
            return Outcome(
                result, "; ".join(p.because for p in shown), verify and result == UNKNOWN
            )
        decisive = [p for p in parts if p.result == MET] or [
            p for p in parts if p.result == UNKNOWN
        ]
        result = MET if MET in results else UNKNOWN if UNKNOWN in results else NOT_MET
        shown = decisive[:1] if result == MET else (decisive or parts)
        joiner = (
            "; "
            if result == MET
            else gettext(" / neither: ")
            if result == NOT_MET
            else gettext("; or ")
        )
        return Outcome(result, joiner.join(p.because for p in shown), verify and result == UNKNOWN)
    name, op = expr["fact"], expr["op"]
    label = FACT_LABELS.get(name, name)
    value = facts.get(name)
    if value is None:
        return Outcome(UNKNOWN, gettext("unknown: %(fact)s is not recorded") % {"fact": label})
    symbol, test = _OPS[op]
    target = expr.get("value")
    ok = bool(test(value, target))
    if op in ("is_true", "is_false"):
        return Outcome(MET if ok else NOT_MET, f"{label}: {_show(value)}")
    if op in ("in", "not_in"):
        symbol = gettext("one of") if op == "in" else gettext("not one of")
    fact = FACTS.get(name)
    return Outcome(
        MET if ok else NOT_MET,
        f"{label} {_show(value, fact)} ({symbol} {_show(target, fact)})",
    )


def validate_expression(expr: Any, *, where: str) -> None:
    """Refuse a malformed rule with a message a regulatory officer can act on."""
    from django.core.exceptions import ValidationError

    if not isinstance(expr, dict):
        raise ValidationError(gettext("%(where)s: a rule must be an object.") % {"where": where})
    if "const" in expr:
        if not isinstance(expr["const"], bool):
            raise ValidationError(
                gettext("%(where)s: const must be true or false.") % {"where": where}
            )
        return
    if "unconfirmed" in expr:
        if not isinstance(expr["unconfirmed"], str) or not expr["unconfirmed"].strip():
            raise ValidationError(
                gettext("%(where)s: unconfirmed needs the sentence to show.") % {"where": where}
            )
        return
    if "verify_when" in expr:
        if not isinstance(expr.get("because"), str) or not expr["because"].strip():
            raise ValidationError(
                gettext("%(where)s: verify_when needs a because sentence.") % {"where": where}
            )
        validate_expression(expr.get("rule"), where=where)
        validate_expression(expr["verify_when"], where=where)
        return
    for key in ("all_of", "any_of"):
        if key in expr:
            if not isinstance(expr[key], list) or not expr[key]:
                raise ValidationError(
                    gettext("%(where)s: %(key)s needs a non-empty list.")
                    % {"where": where, "key": key}
                )
            for sub in expr[key]:
                validate_expression(sub, where=where)
            return
    if expr.get("fact") not in FACT_LABELS:
        raise ValidationError(
            gettext("%(where)s: unknown fact %(fact)s; known: %(known)s.")
            % {
                "where": where,
                "fact": repr(expr.get("fact")),
                "known": ", ".join(sorted(FACT_LABELS)),
            }
        )
    if expr.get("op") not in _OPS:
        raise ValidationError(
            gettext("%(where)s: unknown op %(op)s; known: %(known)s.")
            % {"where": where, "op": repr(expr.get("op")), "known": ", ".join(_OPS)}
        )
    if expr["op"] not in ("is_true", "is_false") and "value" not in expr:
        raise ValidationError(
            gettext("%(where)s: op %(op)s needs a value.") % {"where": where, "op": expr["op"]}
        )
    # A value of the wrong type would raise when a request is routed (a 500 on its page).
    value = expr.get("value")
    if expr["op"] in ("in", "not_in") and not isinstance(value, list):
        raise ValidationError(
            gettext("%(where)s: op %(op)s needs a list of values.")
            % {"where": where, "op": expr["op"]}
        )
    if expr["op"] in ("lt", "lte", "gt", "gte") and (
        isinstance(value, bool) or not isinstance(value, int | float)
    ):
        raise ValidationError(
            gettext("%(where)s: op %(op)s needs a number.") % {"where": where, "op": expr["op"]}
        )
    _fact_type_check(expr, where=where)


def _fact_type_check(expr: dict[str, Any], *, where: str) -> None:
    """The fact's type decides the operators and values a rule may use: a number is compared
    with a number, a yes/no fact is tested for yes or no, a choice is compared with its codes.
    A mismatch would never hold ("regimen > 3") or fail at routing time."""
    from django.core.exceptions import ValidationError

    fact, op, value = FACTS[expr["fact"]], expr["op"], expr.get("value")
    if op not in OPS_BY_KIND[fact.kind]:
        raise ValidationError(
            gettext("%(where)s: %(fact)s cannot use op %(op)s; it can use %(known)s.")
            % {
                "where": where,
                "fact": fact.name,
                "op": op,
                "known": ", ".join(OPS_BY_KIND[fact.kind]),
            }
        )
    if fact.kind == NUMBER and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise ValidationError(
            gettext("%(where)s: %(fact)s needs a number.") % {"where": where, "fact": fact.name}
        )
    if fact.kind == CHOICE:
        values = value if op in ("in", "not_in") else [value]
        known = fact.choice_codes()
        if not values or any(v not in known for v in values):
            raise ValidationError(
                gettext("%(where)s: %(fact)s takes values among %(known)s.")
                % {"where": where, "fact": fact.name, "known": ", ".join(known)}
            )


# --- Validating the rules a steward saves (issue 14) ---------------------------------------------
# A checklist or criteria list is parsed here, once, for the page, the API and the service: an
# empty list, an item without text, a duplicate code or a value the database cannot store is a
# message naming the item, never a 500 when the checklist is built later.

CHECKLIST_KINDS = ("automatic", "attestation", "document")
CHECKLIST_ATTESTERS = ("physician", "pharmacist", "committee_secretary")
LOCAL_CODE_PREFIX = "local-"  # reserved for a hospital's own items (LocalChecklistItem)
_MAX_DEPTH = 24
_CODE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-")


def _json_storable(value: Any, *, where: str, depth: int = 0) -> None:
    """What PostgreSQL's jsonb refuses (NaN, infinities, NUL characters) or what would exhaust
    the evaluator's recursion (nesting deeper than any rule needs)."""
    from django.core.exceptions import ValidationError

    if depth > _MAX_DEPTH:
        raise ValidationError(gettext("%(where)s: nested too deeply.") % {"where": where})
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationError(
            gettext("%(where)s: numbers must be finite (no NaN or Infinity).") % {"where": where}
        )
    if isinstance(value, str) and "\x00" in value:
        raise ValidationError(
            gettext("%(where)s: text contains a NUL character.") % {"where": where}
        )
    if isinstance(value, dict):
        for key, sub in value.items():
            _json_storable(key, where=where, depth=depth + 1)
            _json_storable(sub, where=where, depth=depth + 1)
    elif isinstance(value, list):
        for sub in value:
            _json_storable(sub, where=where, depth=depth + 1)


def _text(item: dict[str, Any], key: str, *, where: str, limit: int, required: bool) -> None:
    from django.core.exceptions import ValidationError

    value = item.get(key)
    if value is None and not required:
        return
    if not isinstance(value, str) or (required and not value.strip()):
        raise ValidationError(
            gettext("%(where)s: %(key)s must be a non-empty text.") % {"where": where, "key": key}
        )
    if len(value) > limit:
        raise ValidationError(
            gettext("%(where)s: %(key)s is longer than %(limit)s characters.")
            % {"where": where, "key": key, "limit": limit}
        )


def _items_with_codes(items: Any, *, not_a_list: str, empty: str) -> list[dict[str, Any]]:
    from django.core.exceptions import ValidationError

    if not isinstance(items, list):
        raise ValidationError(not_a_list)
    if not items:
        raise ValidationError(empty)
    seen: set[str] = set()
    for position, item in enumerate(items, start=1):
        where = gettext("item %(n)s") % {"n": position}
        if not isinstance(item, dict):
            raise ValidationError(gettext("%(where)s: must be an object.") % {"where": where})
        code = item.get("code")
        if (
            not isinstance(code, str)
            or not code
            or len(code) > 60
            or not set(code) <= _CODE_CHARS
            or code.startswith(LOCAL_CODE_PREFIX)
        ):
            raise ValidationError(
                gettext(
                    "%(where)s: code must be 1-60 lower-case letters, digits, _ or - "
                    "(not starting with %(prefix)s)."
                )
                % {"where": where, "prefix": LOCAL_CODE_PREFIX}
            )
        if code in seen:
            raise ValidationError(gettext("%(code)s: the code is repeated.") % {"code": code})
        seen.add(code)
        _json_storable(item, where=code)
    return items


def checklist_validate(items: Any) -> None:
    """A pathway's checklist item templates, as ``ChecklistItem`` rows will hold them."""
    from django.core.exceptions import ValidationError

    for item in _items_with_codes(
        items,
        not_a_list=gettext("The checklist must be a list of items."),
        empty=gettext("The checklist is empty: a pathway needs at least one item."),
    ):
        code = item["code"]
        _text(item, "text", where=code, limit=400, required=True)
        _text(item, "source", where=code, limit=300, required=False)
        _text(item, "document_type", where=code, limit=40, required=False)
        kind = item.get("kind")
        if kind not in CHECKLIST_KINDS:
            raise ValidationError(
                gettext("%(code)s: kind must be automatic, attestation or document.")
                % {"code": code}
            )
        if "required" in item and not isinstance(item["required"], bool):
            raise ValidationError(
                gettext("%(code)s: required must be true or false.") % {"code": code}
            )
        attesters = item.get("attesters", [])
        if not isinstance(attesters, list) or not all(a in CHECKLIST_ATTESTERS for a in attesters):
            raise ValidationError(
                gettext("%(code)s: attesters must be a list of %(known)s.")
                % {"code": code, "known": ", ".join(CHECKLIST_ATTESTERS)}
            )
        if kind == "attestation" and not attesters:
            raise ValidationError(
                gettext("%(code)s: an attestation names who attests it (attesters).")
                % {"code": code}
            )
        if kind == "automatic":
            validate_expression(item.get("rule"), where=code)


def criteria_validate(items: Any) -> None:
    """A pathway's routing criteria: each with a code, a text and a valid rule."""
    from django.core.exceptions import ValidationError

    for item in _items_with_codes(
        items,
        not_a_list=gettext("The criteria must be a list of items."),
        empty=gettext("The criteria are empty: a pathway needs at least one criterion."),
    ):
        code = item["code"]
        validate_expression(item.get("rule"), where=code)  # the rule first: it matters most
        _text(item, "text", where=code, limit=2000, required=True)
        _text(item, "source", where=code, limit=2000, required=False)
        if "confirmed" in item and not isinstance(item["confirmed"], bool):
            raise ValidationError(
                gettext("%(code)s: confirmed must be true or false.") % {"code": code}
            )


def verified_on_validate(value: date) -> None:
    """A rule cannot have been checked against the official text on a day still to come: a
    future "verified on" would keep the rule looking freshly verified for longer than it is."""
    from django.core.exceptions import ValidationError
    from django.utils import timezone
    from django.utils.formats import date_format

    today = timezone.localdate()
    if value > today:
        raise ValidationError(
            gettext("The verified on date cannot be in the future (today is %(today)s).")
            % {"today": date_format(today, "DATE_FORMAT")},
            code="future",
        )


# --- Translations inside rules (issue 15) ---------------------------------------------------------
# A rule's sentences ("because", "unconfirmed") carry their translations beside them
# ({"because": "…", "i18n": {"it": {"because": "…"}}}). A translation is kept only beside the
# English it was written for: a sentence a steward rewrites shows in English until translated.


def _rule_nodes(expr: Any) -> list[dict[str, Any]]:
    if isinstance(expr, dict):
        return [expr, *(n for v in expr.values() for n in _rule_nodes(v))]
    if isinstance(expr, list):
        return [n for v in expr for n in _rule_nodes(v)]
    return []


_Translated = tuple[str, str, str, str]


def _translated(field: str, english: Any, language: str, text: Any) -> _Translated:
    return (field, json.dumps(english), language, json.dumps(text))


def _translated_texts(rules: list[Any]) -> set[_Translated]:
    """(field, English, language, translation) of every translation in ``rules``."""
    found = set()
    for node in (n for rule in rules for n in _rule_nodes(rule)):
        i18n = node.get("i18n")
        for language, texts in i18n.items() if isinstance(i18n, dict) else ():
            for field, text in texts.items() if isinstance(texts, dict) else ():
                found.add(_translated(field, node.get(field), language, text))
    return found


def _rule_pruned(expr: Any, known: set[_Translated]) -> Any:
    if isinstance(expr, list):
        return [_rule_pruned(v, known) for v in expr]
    if not isinstance(expr, dict):
        return expr
    pruned = {k: _rule_pruned(v, known) for k, v in expr.items() if k != "i18n"}
    i18n = expr.get("i18n")
    if not isinstance(i18n, dict):
        if "i18n" in expr:
            pruned["i18n"] = i18n
        return pruned
    kept: dict[str, Any] = {}
    for language, texts in i18n.items():
        if not isinstance(texts, dict):
            kept[language] = texts
            continue
        still = {
            f: t for f, t in texts.items() if _translated(f, expr.get(f), language, t) in known
        }
        if still or not texts:
            kept[language] = still
    if kept or not i18n:
        pruned["i18n"] = kept
    return pruned


def rules_translations_carried(
    before: list[dict[str, Any]], after: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """``after`` (criteria or checklist items) with each rule's translations kept only where
    the same English sentence had the same translation in ``before`` (wherever it was)."""
    known = _translated_texts([i.get("rule") for i in before if isinstance(i, dict)])
    return [
        {**item, "rule": _rule_pruned(item["rule"], known)}
        if isinstance(item, dict) and isinstance(item.get("rule"), dict)
        else item
        for item in after
    ]
