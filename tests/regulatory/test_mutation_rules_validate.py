"""The validation of rule data (regulatory/rules.py) at its edges: each test refuses one malformed
criterion or checklist item by its own message, or accepts a value exactly at a limit. Written
for the mutants of the issue 15 mutation run that survived in the validators (guards removed,
``>`` → ``>=``, limits moved by one, ``or`` → ``and``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError

from regulatory.rules import checklist_validate, criteria_validate

DATA = json.loads((Path(settings.BASE_DIR) / "regulatory" / "data" / "rules.json").read_text())
LAW_648 = next(p for p in DATA["pathways"] if p["code"] == "it_law_648")
CRITERION: dict[str, Any] = LAW_648["criteria"][0]  # listed_schedule: regimen in [...]
ITEM: dict[str, Any] = next(i for i in LAW_648["checklist"] if i["kind"] == "attestation")
DOCUMENT: dict[str, Any] = next(i for i in LAW_648["checklist"] if i["kind"] == "document")


def _refused(validate: Any, items: Any) -> str:
    with pytest.raises(ValidationError) as refused:
        validate(items)
    return " ".join(refused.value.messages)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("regimen in azacitidine", "a rule must be an object"),
        ({"verify_when": {"const": True}, "rule": {"const": True}}, "needs a because sentence"),
        ({"verify_when": {"const": True}, "rule": {"const": True}, "because": " "}, "because"),
        ({"fact": "age_years", "op": "between", "value": [18, 75]}, "unknown op 'between'"),
        ({"fact": "age_years", "op": "gt"}, "op gt needs a value"),
        ({"fact": "age_years", "op": "gt", "value": "75"}, "op gt needs a number"),
        ({"fact": "age_years", "op": "gt", "value": True}, "op gt needs a number"),
    ],
)
def test_a_malformed_rule_is_refused_by_its_own_message(rule, message):
    assert message in _refused(criteria_validate, [{**CRITERION, "rule": rule}])


def test_the_criteria_must_be_a_list_and_the_checklist_too():
    assert "The criteria must be a list of items" in _refused(criteria_validate, "criteria")
    assert "The checklist must be a list of items" in _refused(checklist_validate, "items")


def _nested_lists(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


def _nested_dicts(depth: int) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = {"k": value}
    return value


def test_nesting_is_accepted_to_its_limit_and_refused_one_level_deeper():
    # The item is depth 0, its value 1, each list or dict one more; 24 is the deepest allowed.
    criteria_validate([{**CRITERION, "extra": _nested_lists(23)}])
    criteria_validate([{**CRITERION, "extra": _nested_dicts(23)}])
    assert "nested too deeply" in _refused(
        criteria_validate, [{**CRITERION, "extra": _nested_lists(24)}]
    )
    assert "nested too deeply" in _refused(
        criteria_validate, [{**CRITERION, "extra": _nested_dicts(24)}]
    )


def test_a_criterion_text_of_2000_characters_is_accepted_and_2001_refused():
    criteria_validate([{**CRITERION, "text": "t" * 2000}])
    assert "longer than 2000 characters" in _refused(
        criteria_validate, [{**CRITERION, "text": "t" * 2001}]
    )


def test_a_code_of_60_characters_is_accepted_and_61_refused():
    criteria_validate([{**CRITERION, "code": "c" * 60}])
    assert "code must be 1-60" in _refused(criteria_validate, [{**CRITERION, "code": "c" * 61}])


def test_a_document_type_of_40_characters_is_accepted_and_41_refused():
    checklist_validate([{**DOCUMENT, "document_type": "d" * 40}])
    assert "longer than 40 characters" in _refused(
        checklist_validate, [{**DOCUMENT, "document_type": "d" * 41}]
    )


@pytest.mark.parametrize("attesters", [["nobody"], "pharmacist", ["pharmacist", "nobody"]])
def test_attesters_must_be_a_list_of_known_roles(attesters):
    assert "attesters must be a list of" in _refused(
        checklist_validate, [{**ITEM, "attesters": attesters}]
    )


def test_a_criterion_source_of_2000_characters_is_accepted_and_2001_refused():
    criteria_validate([{**CRITERION, "source": "s" * 2000}])
    assert "source is longer than 2000 characters" in _refused(
        criteria_validate, [{**CRITERION, "source": "s" * 2001}]
    )
