"""The label rules file: every wording is the brief's, every number is in its wording, and
loading is versioned and idempotent."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from audit.models import AuditEvent
from pharmacy.models import LabelRuleSet
from pharmacy.rules import LABEL_RULES_FILE, label_rules_current, label_rules_load

DATA = json.loads(LABEL_RULES_FILE.read_text(encoding="utf-8"))
BRIEF = LABEL_RULES_FILE.parent / "venetoclax-label-brief.md"
SHARED_BRIEF = Path(__file__).resolve().parents[3] / "shared" / "domain" / "venetoclax-label.md"


def _folded(text: str) -> str:
    return " ".join(text.split())


def _rules_with_wording(node: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found = []
    if isinstance(node, dict):
        if any(k.endswith("wording") for k in node):
            found.append((path, node))
        for key, value in node.items():
            found += _rules_with_wording(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _rules_with_wording(value, f"{path}[{i}]")
    return found


def test_the_stored_brief_is_the_domain_brief():
    if SHARED_BRIEF.exists():  # beside the project on a developer's machine
        assert BRIEF.read_text(encoding="utf-8") == SHARED_BRIEF.read_text(encoding="utf-8")
    assert "day 3 50 mg, day 4 70 mg; then 70 mg daily" in BRIEF.read_text(encoding="utf-8")


def test_every_label_wording_is_quoted_from_the_brief():
    brief = _folded(BRIEF.read_text(encoding="utf-8"))
    checked = 0
    for path, rule in _rules_with_wording(DATA):
        if rule.get("source") == "hospital" or "not in the domain brief" in rule.get("wording", ""):
            assert rule.get("confirmed") is False, f"{path}: a non-label rule must be unconfirmed"
            continue
        for key in (k for k in rule if k.endswith("wording")):
            for fragment in rule[key].split(" … "):
                assert _folded(fragment.rstrip(".")) in brief, f"{path}.{key}: {fragment!r}"
                checked += 1
    assert checked >= 20


# Every numeric field of a rule and the wording that must contain it.
def _numbers(rule: dict[str, Any]) -> list[tuple[str, str]]:
    pairs = []
    for key, value in rule.items():
        if key in {"confirmed", "ramp_up_confirmed", "round_to_mg"}:
            continue
        values = value if isinstance(value, list) else [value]
        for v in values:
            if isinstance(v, int | float) and not isinstance(v, bool):
                wording = rule.get("ramp_up_wording") if key.startswith("ramp_up") else None
                pairs.append(
                    (str(v), wording or " ".join(rule[k] for k in rule if k.endswith("wording")))
                )
    return pairs


def test_every_number_of_a_rule_appears_in_its_own_wording():
    checked = 0
    for path, rule in _rules_with_wording(DATA):
        for number, wording in _numbers(rule):
            assert re.search(rf"(?<![\d.]){re.escape(number)}(?![\d])", wording), (
                f"{path}: {number} is not in {wording!r}"
            )
            checked += 1
    assert checked >= 30


def test_loading_is_idempotent_and_a_changed_file_becomes_a_new_version(db, tmp_path):
    first = label_rules_load()
    assert first.created and first.version == 1
    again = label_rules_load()
    assert not again.created and LabelRuleSet.objects.count() == 1
    assert AuditEvent.objects.filter(action="label_rules.loaded").count() == 1

    changed = json.loads(LABEL_RULES_FILE.read_text(encoding="utf-8"))
    changed["version"] = 2
    changed["inhibitors"][0]["steady_mg"] = 60  # an invented label change
    changed["inhibitors"][0]["ramp_up_steps_mg"][-1] = 60
    changed_file = tmp_path / "rules.json"
    changed_file.write_text(json.dumps(changed), encoding="utf-8")
    second = label_rules_load(path=changed_file)
    assert second.created and second.version == 2
    current = label_rules_current()
    assert current.version == 2 and current.data["inhibitors"][0]["steady_mg"] == 60
    assert LabelRuleSet.objects.get(version=1).is_current is False

    back = label_rules_load()  # the shipped file again: its version becomes current again
    assert not back.created and label_rules_current().version == 1
