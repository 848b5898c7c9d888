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

import math
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from evidence.models import TRIAL_DESIGNS
from prescriptions.models import OffLabelRequest, Patient

MET, NOT_MET, UNKNOWN = "met", "not_met", "unknown"

FACT_LABELS = {
    "regimen": _("partner regimen"),
    "age_years": _("age"),
    "prior_lines": _("number of prior lines"),
    "ecog": _("ECOG"),
    "disease_status": _("disease status"),
    "prior_hma": _("prior azacitidine or decitabine"),
    "prior_venetoclax": _("prior venetoclax"),
    "prior_hma_with_venetoclax": _(
        "prior azacitidine or decitabine given together with venetoclax"
    ),
    "fit_for_intensive_chemo": _("fitness for intensive chemotherapy"),
    "transplant_eligible": _("transplant eligibility"),
    "drug_has_marketing_authorisation": _("drug has a marketing authorisation"),
    "indication_authorised": _("indication authorised"),
    "life_threatening_condition": _("life-threatening condition"),
    "rationale_documented": _("rationale documented"),
    "studies_attached": _("studies attached"),
    "phase2_trials_attached": _("phase II trials attached"),
    "consent_signed": _("consent signed"),
    "single_named_patient": _("single named patient"),
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
    """A signed, not withdrawn consent on the current version of the form."""
    from consent.services import consent_is_signed

    return consent_is_signed(request)


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


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, list | tuple):
        return ", ".join(_show(v) for v in value)
    return str(value)


def evaluate(expr: dict[str, Any], facts: dict[str, Any]) -> Outcome:
    if "const" in expr:
        return Outcome(MET if expr["const"] else NOT_MET, expr.get("because", ""))
    if "unconfirmed" in expr:
        return Outcome(UNKNOWN, expr["unconfirmed"], verify=True)
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
            UNKNOWN, f"{published.because}; {gate.because} — {expr['because']}", verify=True
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
    return Outcome(MET if ok else NOT_MET, f"{label} {_show(value)} ({symbol} {_show(target)})")


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
