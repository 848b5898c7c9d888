"""The rule evaluator's edges (``regulatory.rules.evaluate``), written for the survivors of a
mutation run on ``regulatory/rules.py`` (issue 18's closing note): each comparison at its
boundary, which part of an ``all_of`` / ``any_of`` decides and is shown, when an unknown is
one a person verifies, and the validator's refusals of a malformed ``all_of`` and ``in``.

The Law 648 age limit is the model (``{"fact": "age_years", "op": "lt", "value": 71}``: a
patient of 71 is not under 71)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from prescriptions.models import Patient
from regulatory.rules import (
    MET,
    NOT_MET,
    UNKNOWN,
    _show,
    criteria_validate,
    evaluate,
    validate_expression,
)

AGE = "age_years"


def _age(op: str, value: Any) -> dict[str, Any]:
    return {"fact": AGE, "op": op, "value": value}


@pytest.mark.parametrize(
    ("op", "age", "result"),
    [
        ("lt", 70, MET),
        ("lt", 71, NOT_MET),  # the boundary: 71 is not under 71
        ("lte", 71, MET),
        ("lte", 72, NOT_MET),
        ("gt", 71, NOT_MET),  # the boundary: 71 is not over 71
        ("gt", 72, MET),
        ("gte", 71, MET),
        ("gte", 70, NOT_MET),
        ("eq", 71, MET),
        ("ne", 71, NOT_MET),
    ],
)
def test_each_comparison_at_its_boundary(op, age, result):
    assert evaluate(_age(op, 71), {AGE: age}).result == result


def test_in_and_not_in_and_the_words_that_say_so():
    regimens = ["azacitidine", "decitabine_5"]
    inside = evaluate({"fact": "regimen", "op": "in", "value": regimens}, {"regimen": "ldac"})
    assert inside.result == NOT_MET
    assert "(one of" in inside.because and "not one of" not in inside.because
    outside = evaluate({"fact": "regimen", "op": "not_in", "value": regimens}, {"regimen": "ldac"})
    assert outside.result == MET
    assert "(not one of" in outside.because
    assert (
        evaluate(
            {"fact": "regimen", "op": "not_in", "value": regimens}, {"regimen": "azacitidine"}
        ).result
        == NOT_MET
    )


def test_a_missing_fact_is_unknown_not_verify():
    outcome = evaluate(_age("lt", 71), {})
    assert outcome.result == UNKNOWN and not outcome.verify


def test_a_value_is_shown_with_its_choice_label_or_as_it_is():
    assert _show("x") == "x"  # no fact: the value itself
    assert _show(True) == "yes" and _show(False) == "no"
    status = Patient.DiseaseStatus.choices[0]
    outcome = evaluate(
        {"fact": "disease_status", "op": "eq", "value": status[0]},
        {"disease_status": status[0]},
    )
    assert str(status[1]) in outcome.because and f"{status[0]} (" not in outcome.because


UNCONFIRMED = {"unconfirmed": "the official text is not yet confirmed"}
YES = {"const": True, "because": "yes because"}
NO = {"const": False, "because": "no because"}
MISSING = _age("lt", 71)  # evaluated without the age: unknown, recorded by the prescriber


def test_all_of_shows_what_failed_before_what_is_unknown():
    outcome = evaluate({"all_of": [YES, MISSING, NO]}, {})
    assert outcome.result == NOT_MET
    assert outcome.because == "no because"
    assert not outcome.verify  # decided: nothing for a person to verify


def test_all_of_unknown_by_an_unconfirmed_text_is_to_verify():
    outcome = evaluate({"all_of": [YES, UNCONFIRMED]}, {})
    assert outcome.result == UNKNOWN and outcome.verify
    assert outcome.because == "the official text is not yet confirmed"
    # An unknown datum as well: the prescriber records it first, so it is not "verify".
    mixed = evaluate({"all_of": [UNCONFIRMED, MISSING]}, {})
    assert mixed.result == UNKNOWN and not mixed.verify


def test_all_of_decided_no_is_never_to_verify():
    outcome = evaluate({"all_of": [NO, UNCONFIRMED]}, {})
    assert outcome.result == NOT_MET and not outcome.verify


def test_any_of_shows_the_part_that_is_met():
    outcome = evaluate({"any_of": [MISSING, YES, NO]}, {})
    assert outcome.result == MET and outcome.because == "yes because"
    assert not outcome.verify


def test_any_of_unknown_by_an_unconfirmed_text_is_to_verify():
    outcome = evaluate({"any_of": [NO, UNCONFIRMED]}, {})
    assert outcome.result == UNKNOWN and outcome.verify
    assert "the official text is not yet confirmed" in outcome.because
    neither = evaluate({"any_of": [NO, NO]}, {})
    assert neither.result == NOT_MET and not neither.verify


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ({"all_of": []}, "needs a non-empty list"),
        ({"any_of": "x"}, "needs a non-empty list"),
        ({"fact": "regimen", "op": "in", "value": "azacitidine"}, "needs a list of values"),
        ({"fact": "regimen", "op": "not_in", "value": "azacitidine"}, "needs a list of values"),
    ],
)
def test_a_malformed_group_or_list_is_refused(expression, message):
    with pytest.raises(ValidationError) as refused:
        validate_expression(expression, where="c1")
    assert message in " ".join(refused.value.messages)


def test_a_well_formed_group_and_list_are_accepted():
    validate_expression(
        {"all_of": [YES, {"fact": "regimen", "op": "in", "value": ["ldac"]}]}, where="c1"
    )


@pytest.mark.parametrize("text", [None, "", "   "])
def test_a_criterion_needs_its_text(text):
    """What the criterion says is what the officer and the dossier read: it is required (the
    source is not)."""
    criterion = {"code": "c1", "rule": YES, "text": text}
    if text is None:
        del criterion["text"]
    with pytest.raises(ValidationError) as refused:
        criteria_validate([criterion])
    assert "c1: text must be a non-empty text." in " ".join(refused.value.messages)
    criteria_validate([{"code": "c1", "rule": YES, "text": "Listed regimen"}])  # no source: fine
