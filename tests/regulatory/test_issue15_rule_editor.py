"""Issue 15, a rules editor for people: a steward edits a pathway's criteria and checklist items
as rows of a form (no JSON), previews how the change routes recent requests (writing nothing),
and saves; a "verified on" date in the future is refused on the page and the API.

The page is driven as a browser drives it: the form is read from the HTML the page sends
(fields, checked boxes, selected options) and posted back with the button pressed.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.models import AuditEvent
from offlabel.exceptions import ApplicationError
from regulatory.loader import RULES_FILE
from regulatory.models import Jurisdiction, Pathway, PathwayVersion
from regulatory.rule_editor import RulesEditor, rule_rows
from regulatory.rules import (
    BOOLEAN,
    CHECKLIST_ATTESTERS,
    CHOICE,
    FACTS,
    NUMBER,
    OPS_BY_KIND,
    checklist_validate,
    criteria_validate,
)
from regulatory.services import pathway_version_edit
from tests.factories import TEST_PASSWORD, HospitalFactory
from tests.regulatory.conftest import LISTING_648
from tests.regulatory.editor_form import autofocused, editor_data, form_of, item_index

DATA = json.loads(RULES_FILE.read_text(encoding="utf-8"))
PATHWAYS = {p["code"]: p for p in DATA["pathways"]}
LAW_648 = "it_law_648"
NOTE = "Checked against the official text on the day (invented, test)."


def _editor_page(client: Any, code: str) -> tuple[str, dict[str, Any]]:
    response = client.get(reverse("regulatory:rule-edit", args=[code]))
    assert response.status_code == 200
    html = response.content.decode()
    return html, form_of(html)


def _rows_of(data: dict[str, Any], prefix: str) -> int:
    return int(data[f"{prefix}-TOTAL_FORMS"])


def _save(client: Any, code: str, data: dict[str, Any]) -> Any:
    return client.post(reverse("regulatory:rule-edit", args=[code]), data)


def _preview(client: Any, code: str, data: dict[str, Any], **pressed: str) -> Any:
    return client.post(reverse("regulatory:rule-preview", args=[code]), {**data, **pressed})


def _row_html(page: str, prefix: str) -> str:
    """The HTML of one row of a rule, e.g. ``criteria-1-rule-2``."""
    part = page.split(f'id="{prefix}"')[1]
    ends = [part.find(m) for m in ('<fieldset class="rule-row', 'id="add-') if m in part]
    return part[: min(ends)]


def _item_html(page: str, prefix: str) -> str:
    """The HTML of one criterion or checklist item, e.g. ``criteria-1``, its rows included."""
    group, n = prefix.rsplit("-", 1)
    part = page.split(f'id="{prefix}"')[1]
    ends = [part.find(m) for m in (f'id="{group}-{int(n) + 1}"', f'id="add-{group}"') if m in part]
    return part[: min(ends)]


def _current(code: str) -> PathwayVersion:
    return PathwayVersion.objects.get(pathway__code=code, is_current=True)


# --- The round trip: every pathway of the data file, unchanged through the form ----------------


@pytest.mark.parametrize("code", list(PATHWAYS))
def test_every_pathway_goes_through_the_form_and_back_unchanged(client, rule_steward, rules, code):
    """Load → form → save: the saved version's criteria and checklist are the data file's,
    key for key; saving without any change saves nothing."""
    client.force_login(rule_steward)
    before = _current(code)
    html, data = _editor_page(client, code)
    assert "criteria_json" not in html and "checklist_json" not in html  # no raw JSON any more
    assert _rows_of(data, "criteria") == len(PATHWAYS[code]["criteria"])
    assert _rows_of(data, "checklist") == len(PATHWAYS[code]["checklist"])

    unchanged = _save(client, code, {**data, "change_note": NOTE})
    assert unchanged.status_code == 200
    assert "Nothing changed" in unchanged.content.decode()

    today = timezone.localdate().isoformat()
    saved = _save(client, code, {**data, "verified_on": today, "change_note": NOTE})
    assert saved.status_code == 302, form_of(saved.content.decode())
    new = _current(code)
    assert new.version == before.version + 1
    assert new.criteria == PATHWAYS[code]["criteria"] == before.criteria
    assert new.checklist == PATHWAYS[code]["checklist"] == before.checklist
    assert new.verified_on.isoformat() == today
    assert new.translations == before.translations  # the version's own texts in Italian


def test_a_saved_edit_keeps_the_audit_and_the_hospitals_rule_change_events(
    client, rule_steward, rules, hospital
):
    """Issue 14's behaviour through the new form: the version's audit event, one rule-change
    event in each hospital the pathway applies to (the Italian hospital here). The reworded
    criterion loses the Italian of its text only (it no longer says the same); every other
    translation stays as it was."""
    client.force_login(rule_steward)
    before = _current(LAW_648)
    _html, data = _editor_page(client, LAW_648)
    n = item_index(data, "criteria", "listed_schedule")
    data[f"criteria-{n}-text"] = "Schedule as listed (reworded, test)."
    assert _save(client, LAW_648, {**data, "change_note": NOTE}).status_code == 302
    new = _current(LAW_648)
    assert new.criteria[n]["text"] == "Schedule as listed (reworded, test)."
    italian, italian_before = new.criteria[n]["i18n"]["it"], before.criteria[n]["i18n"]["it"]
    assert "text" not in italian and italian["source"] == italian_before["source"]
    assert [c for k, c in enumerate(new.criteria) if k != n] == [
        c for k, c in enumerate(before.criteria) if k != n
    ]
    assert new.checklist == before.checklist and new.translations == before.translations
    created = AuditEvent.objects.get(action="pathway.version_created")
    assert created.actor == rule_steward
    changed = AuditEvent.objects.filter(action="pathway.national_rules_changed", hospital=hospital)
    assert changed.count() == 1 and NOTE in changed.get().summary


def test_a_rewritten_rule_sentence_loses_its_translation_and_no_other_does(
    client, rule_steward, rules
):
    """Law 648: the inclusion's "verify when" sentence is rewritten; its Italian no longer says
    the same, so it goes (the page shows the English until it is translated again). The same
    sentence in the two exclusions keeps its Italian."""
    client.force_login(rule_steward)
    before = _current(LAW_648)
    _html, data = _editor_page(client, LAW_648)
    n = item_index(data, "criteria", "inclusion")
    assert "i18n" in before.criteria[n]["rule"]
    data[f"criteria-{n}-rule-0-text"] = "verify against the current listing (reworded, test)"
    assert _save(client, LAW_648, {**data, "change_note": NOTE}).status_code == 302
    new = _current(LAW_648)
    rule = new.criteria[n]["rule"]
    assert rule["because"] == "verify against the current listing (reworded, test)"
    assert "i18n" not in rule
    assert rule["rule"] == before.criteria[n]["rule"]["rule"]  # the rows below: unchanged
    for k in range(len(new.criteria)):
        if k != n:
            assert new.criteria[k] == before.criteria[k]


def test_a_criterion_without_rows_is_refused_on_its_item(client, rule_steward, rules):
    client.force_login(rule_steward)
    _html, data = _editor_page(client, LAW_648)
    n = item_index(data, "criteria", "listed_schedule")
    data[f"criteria-{n}-rule-0-DELETE"] = "on"
    response = _save(client, LAW_648, {**data, "change_note": NOTE})
    assert response.status_code == 200
    assert "A criterion needs a rule: add a row." in _item_html(
        response.content.decode(), f"criteria-{n}"
    )
    assert _current(LAW_648).version == 1


# --- Any rule, through the rows and back (property) --------------------------------------------

_TEXT = (
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=24)
    .map(str.strip)
    .filter(bool)
)
_I18N = st.one_of(
    st.none(),
    st.dictionaries(
        st.sampled_from(["text", "source", "because", "unconfirmed"]), _TEXT, max_size=2
    ).map(lambda texts: {"it": texts}),
)


def _with_i18n(node: dict[str, Any], i18n: dict[str, Any] | None) -> dict[str, Any]:
    return node if i18n is None else {**node, "i18n": i18n}


def _facts(kind: str) -> list[str]:
    return [name for name, fact in FACTS.items() if fact.kind == kind]


def _choice_leaf(name: str) -> st.SearchStrategy[dict[str, Any]]:
    codes = FACTS[name].choice_codes()
    several = st.lists(st.sampled_from(codes), min_size=1, unique=True)  # in any order
    return st.one_of(
        st.builds(
            lambda op, v: {"fact": name, "op": op, "value": v},
            st.sampled_from(["in", "not_in"]),
            several,
        ),
        st.builds(
            lambda op, v: {"fact": name, "op": op, "value": v},
            st.sampled_from(["eq", "ne"]),
            st.sampled_from(codes),
        ),
    )


_NUMBER_VALUE = st.one_of(
    st.integers(-10_000, 10_000), st.floats(allow_nan=False, allow_infinity=False)
)
_LEAF = st.one_of(
    st.builds(
        lambda f, op, v: {"fact": f, "op": op, "value": v},
        st.sampled_from(_facts(NUMBER)),
        st.sampled_from(OPS_BY_KIND[NUMBER]),
        _NUMBER_VALUE,
    ),
    st.builds(
        lambda f, op: {"fact": f, "op": op},
        st.sampled_from(_facts(BOOLEAN)),
        st.sampled_from(OPS_BY_KIND[BOOLEAN]),
    ),
    st.sampled_from(_facts(CHOICE)).flatmap(_choice_leaf),
    st.builds(lambda c, b: {"const": c, "because": b}, st.booleans(), _TEXT),
    st.builds(lambda c: {"const": c}, st.booleans()),
    st.builds(lambda t, i: _with_i18n({"unconfirmed": t}, i), _TEXT, _I18N),
)
_RULE = st.recursive(
    _LEAF,
    lambda inner: st.one_of(
        st.builds(lambda parts: {"all_of": parts}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda parts: {"any_of": parts}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(
            lambda r, w, b, i: _with_i18n({"rule": r, "verify_when": w, "because": b}, i),
            inner,
            inner,
            _TEXT,
            _I18N,
        ),
    ),
    max_leaves=7,
)
_CODE = st.from_regex(r"[a-z][a-z0-9_-]{0,12}", fullmatch=True)


def _optional(item: dict[str, Any], draw: Any, *keys: str) -> dict[str, Any]:
    for key in keys:
        text = draw(st.one_of(st.none(), _TEXT))
        if text is not None:
            item[key] = text
    return item


@st.composite
def _criterion(draw: Any, code: str) -> dict[str, Any]:
    item = {"code": code, "text": draw(_TEXT), "rule": draw(_RULE)}
    confirmed = draw(st.sampled_from([True, False, None]))
    if confirmed is not None:
        item["confirmed"] = confirmed
    return _with_i18n(_optional(item, draw, "source", "wording", "note"), draw(_I18N))


@st.composite
def _checklist_item(draw: Any, code: str) -> dict[str, Any]:
    kind = draw(st.sampled_from(["automatic", "attestation", "document"]))
    item: dict[str, Any] = {
        "code": code,
        "text": draw(_TEXT)[:400],
        "kind": kind,
        "required": draw(st.booleans()),
    }
    if kind == "automatic":
        item["rule"] = draw(_RULE)
    if kind == "attestation":
        item["attesters"] = draw(
            st.lists(st.sampled_from(CHECKLIST_ATTESTERS), min_size=1, unique=True)
        )
    if kind == "document" and draw(st.booleans()):
        item["document_type"] = draw(st.sampled_from(["committee_opinion", "other"]))
    return _with_i18n(_optional(item, draw, "source", "wording", "note"), draw(_I18N))


@st.composite
def _items(draw: Any, of: Any) -> list[dict[str, Any]]:
    codes = draw(st.lists(_CODE, min_size=1, max_size=4, unique=True))
    return [draw(of(code)) for code in codes]


def _as_query(data: dict[str, Any]) -> Any:
    from django.http import QueryDict

    query = QueryDict(mutable=True)
    for name, value in data.items():
        query.setlist(name, value if isinstance(value, list) else [value])
    return query


@pytest.fixture
def bare_pathway(db):
    jurisdiction = Jurisdiction.objects.create(code="ZZ", name="Invented country")
    return Pathway.objects.create(jurisdiction=jurisdiction, code="zz_invented", order=1)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(criteria=_items(_criterion), checklist=_items(_checklist_item))
def test_any_valid_rule_goes_through_the_rows_and_back_unchanged(bare_pathway, criteria, checklist):
    """Invariant: for every criteria and checklist the validators accept, the form the page
    shows, posted back untouched, gives the same JSON, unknown keys ("i18n") included."""
    criteria_validate(criteria)
    checklist_validate(checklist)
    version = PathwayVersion(
        pathway=bare_pathway,
        version=1,
        name="Invented pathway",
        legal_source="Invented source",
        verified_on=timezone.localdate(),
        criteria=criteria,
        checklist=checklist,
    )
    posted = RulesEditor(_as_query(editor_data(version)), version=version, for_save=False)
    assert posted.is_valid(), [(f.prefix, f.errors) for f in posted._all_forms() if f.errors] + [
        posted.form.errors,
        posted.list_errors,
    ]
    assert posted.changes()["criteria"] == criteria
    assert posted.changes()["checklist"] == checklist


def test_the_rows_of_a_nested_rule_follow_the_outline():
    """Law 648's inclusion: "verify when" holds the rule as published (any of three, the third
    an all of three) and the condition to verify, one level deeper each."""
    inclusion = next(c for c in PATHWAYS[LAW_648]["criteria"] if c["code"] == "inclusion")
    rows = rule_rows(inclusion["rule"])
    assert [(r["level"], r["kind"]) for r in rows] == [
        (1, "verify_when"),
        (2, "any_of"),
        (3, "fact"),
        (3, "fact"),
        (3, "all_of"),
        (4, "fact"),
        (4, "fact"),
        (4, "fact"),
        (2, "fact"),
    ]
    assert rows[2] | {"extra": {}} == {
        "level": 3,
        "kind": "fact",
        "fact": "age_years",
        "op": "gt",
        "value": "75",
        "extra": {},
    }


# --- Rows added and removed, without JavaScript ------------------------------------------------


def test_a_steward_builds_a_group_of_two_conditions_row_by_row(client, rule_steward, rules):
    """gb_gmc_off_label's sufficient_evidence ("studies attached ≥ 1") becomes "all of: studies
    attached ≥ 1, phase II trials attached ≥ 1", with the "Add a row" button and the lists."""
    code = "gb_gmc_off_label"
    client.force_login(rule_steward)
    _html, data = _editor_page(client, code)
    n = item_index(data, "criteria", "sufficient_evidence")
    rows = f"criteria-{n}-rule"
    assert _rows_of(data, rows) == 1
    assert data[f"{rows}-0-fact"] == "studies_attached" and data[f"{rows}-0-value"] == "1"

    # The top row becomes a group holding the old condition, then a second one.
    data |= {f"{rows}-0-kind": "all_of", f"{rows}-0-fact": "", f"{rows}-0-op": ""}
    page = _preview(client, code, data, add=rows)
    assert page.status_code == 200
    data = form_of(page.content.decode())
    assert _rows_of(data, rows) == 2
    assert data[f"{rows}-1-level"] == "2"  # a row added below a group goes inside it
    assert autofocused(page.content.decode()) == [f"{rows}-1-fact"]
    data |= {f"{rows}-1-fact": "studies_attached", f"{rows}-1-op": "gte", f"{rows}-1-value": "1"}
    data = form_of(_preview(client, code, data, add=rows).content.decode())
    data |= {
        f"{rows}-2-fact": "phase2_trials_attached",
        f"{rows}-2-op": "gte",
        f"{rows}-2-value": "1",
    }

    saved = _save(client, code, {**data, "change_note": NOTE})
    assert saved.status_code == 302, saved.content.decode()
    criterion = _current(code).criteria[n]
    assert criterion["rule"] == {
        "all_of": [
            {"fact": "studies_attached", "op": "gte", "value": 1},
            {"fact": "phase2_trials_attached", "op": "gte", "value": 1},
        ]
    }
    assert criterion["text"] == PATHWAYS[code]["criteria"][n]["text"]


def test_the_operators_and_the_value_follow_the_chosen_fact(client, rule_steward, rules):
    """A number gets numeric operators and a number box; a yes/no fact "is yes"/"is no" and no
    value; a choice its own values as boxes to tick."""
    client.force_login(rule_steward)
    html, data = _editor_page(client, LAW_648)
    n = item_index(data, "criteria", "listed_schedule")
    row = f"criteria-{n}-rule-0"
    assert f'name="{row}-value" value="azacitidine"' in html  # a regimen's values: boxes
    assert 'type="number"' not in _row_html(html, row)

    data |= {f"{row}-fact": "age_years"}
    page = _preview(client, LAW_648, data).content.decode()
    part = _row_html(page, row)
    assert f'name="{row}-value"' in part and 'type="number"' in part
    assert 'value="lt"' in part and 'value="is_true"' not in part and 'value="in"' not in part
    assert "The patient&#x27;s age in years." in part  # the fact's description as help text

    data |= {f"{row}-fact": "consent_signed", f"{row}-op": "is_true"}
    page = _preview(client, LAW_648, data).content.decode()
    part = _row_html(page, row)
    assert f'name="{row}-value"' not in part
    assert 'value="is_true"' in part and 'value="gt"' not in part


def test_a_removed_criterion_and_a_removed_row_are_left_out(client, rule_steward, rules):
    code = "it_dm_7_9_2017"
    client.force_login(rule_steward)
    _html, data = _editor_page(client, code)
    gone = item_index(data, "criteria", "single_patient")
    evidence = item_index(data, "criteria", "evidence_level")
    rows = f"criteria-{evidence}-rule"
    assert data[f"{rows}-1-fact"] == "life_threatening_condition"
    data[f"criteria-{gone}-DELETE"] = "on"
    data[f"{rows}-1-DELETE"] = "on"  # the group keeps "phase II trials attached ≥ 1"

    assert _save(client, code, {**data, "change_note": NOTE}).status_code == 302
    new = _current(code)
    assert "single_patient" not in [c["code"] for c in new.criteria]
    assert len(new.criteria) == len(PATHWAYS[code]["criteria"]) - 1
    level = next(c for c in new.criteria if c["code"] == "evidence_level")
    assert level["rule"] == {
        "all_of": [{"fact": "phase2_trials_attached", "op": "gte", "value": 1}]
    }


def test_a_new_checklist_item_is_added_with_its_fields(client, rule_steward, rules):
    code = "gb_gmc_off_label"
    client.force_login(rule_steward)
    _html, data = _editor_page(client, code)
    n = _rows_of(data, "checklist")
    page = _preview(client, code, data, add="checklist")
    data = form_of(page.content.decode())
    assert _rows_of(data, "checklist") == n + 1
    assert data[f"checklist-{n}-kind"] == "attestation" and data[f"checklist-{n}-required"] == "on"
    data |= {
        f"checklist-{n}-code": "second_opinion",
        f"checklist-{n}-text": "A second haematologist agrees (invented, test).",
        f"checklist-{n}-attesters": ["pharmacist", "physician"],
    }
    assert _save(client, code, {**data, "change_note": NOTE}).status_code == 302
    assert _current(code).checklist[-1] == {
        "code": "second_opinion",
        "text": "A second haematologist agrees (invented, test).",
        "kind": "attestation",
        "required": True,
        "attesters": ["pharmacist", "physician"],
    }


def test_the_last_criterion_cannot_be_removed(client, rule_steward, rules):
    code = "us_fda_expanded_access"  # one criterion
    client.force_login(rule_steward)
    _html, data = _editor_page(client, code)
    data["criteria-0-DELETE"] = "on"
    response = _save(client, code, {**data, "change_note": NOTE})
    assert response.status_code == 200
    assert "The criteria are empty: a pathway needs at least one criterion." in (
        response.content.decode()
    )
    assert _current(code).version == 1


# --- Errors per row; nothing typed is lost -----------------------------------------------------


def test_a_bad_row_is_marked_and_everything_typed_is_kept(client, rule_steward, rules):
    client.force_login(rule_steward)
    _html, data = _editor_page(client, LAW_648)
    inclusion = f"criteria-{item_index(data, 'criteria', 'inclusion')}"
    schedule = f"criteria-{item_index(data, 'criteria', 'listed_schedule')}"
    assert data[f"{inclusion}-rule-2-fact"] == "age_years"
    data |= {
        f"{inclusion}-rule-2-value": "seventy-five",  # typed over "75"
        f"{inclusion}-text": "Inclusion, reworded by the steward (test).",
        f"{schedule}-rule-0-value": [],  # no regimen ticked any more
        "summary": "A summary typed before the mistake (test).",
    }
    response = _save(client, LAW_648, {**data, "change_note": NOTE})

    assert response.status_code == 200
    page = response.content.decode()
    row = _row_html(page, f"{inclusion}-rule-2")
    assert "Enter a number." in row and 'value="seventy-five"' in row
    schedule_row = _row_html(page, f"{schedule}-rule-0")
    assert "Choose at least one value." in schedule_row
    kept = form_of(page)
    assert kept[f"{inclusion}-text"] == "Inclusion, reworded by the steward (test)."
    assert kept["summary"] == "A summary typed before the mistake (test)."
    assert kept["change_note"] == NOTE
    assert "Nothing you typed has been lost" in page
    assert _current(LAW_648).version == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"rule-0-level": "2"}, "The first row of a rule is at level 1."),
        ({"rule-1-level": "4"}, "Indent one level at a time: this row can be at level 2."),
        (
            {
                "rule-0-kind": "fact",
                "rule-0-fact": "age_years",
                "rule-0-op": "lt",
                "rule-0-value": "80",
            },
            "This row is indented below a row that is not a group",
        ),
        (
            {
                "rule-0-DELETE": "on",
                "rule-1-level": "1",
                **{f"rule-{n}-level": "2" for n in (2, 3, 4)},
                **{f"rule-{n}-level": "3" for n in (5, 6, 7)},
                "rule-8-level": "1",
            },
            "A rule has one row at level 1",
        ),
        ({"rule-8-DELETE": "on"}, "A “verify when” row holds exactly two rows below it"),
        (
            {
                "rule-1-kind": "any_of",
                "rule-2-DELETE": "on",
                "rule-3-DELETE": "on",
                "rule-4-DELETE": "on",
                "rule-5-DELETE": "on",
                "rule-6-DELETE": "on",
                "rule-7-DELETE": "on",
            },
            "A group needs at least one row below it.",
        ),
        ({"rule-2-op": "in"}, "Choose an operator for age"),
        ({"rule-0-text": ""}, "Say why it must be verified."),
        ({"code": "local-inclusion"}, "reserved for hospitals"),
        ({"code": "Inclusion!"}, "Lower-case letters, digits, _ or - only."),
        ({"code": "listed_schedule"}, "Another item above has this code."),
    ],
)
def test_a_rule_out_of_shape_is_refused_on_its_row(client, rule_steward, rules, change, message):
    """Law 648's inclusion: row 0 "verify when", row 1 "any of", rows 2-7 its conditions, row 8
    the condition to verify."""
    client.force_login(rule_steward)
    _html, data = _editor_page(client, LAW_648)
    inclusion = f"criteria-{item_index(data, 'criteria', 'inclusion')}"
    data |= {f"{inclusion}-{k}": v for k, v in change.items()}
    response = _save(client, LAW_648, {**data, "change_note": NOTE})
    assert response.status_code == 200
    page = response.content.decode()
    assert message in _item_html(page, inclusion)
    assert _current(LAW_648).version == 1


# --- "Verified on" cannot be in the future ---------------------------------------------------


def test_a_verified_on_date_in_the_future_is_refused_on_the_page(client, rule_steward, rules):
    client.force_login(rule_steward)
    _html, data = _editor_page(client, LAW_648)
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    response = _save(client, LAW_648, {**data, "verified_on": tomorrow, "change_note": NOTE})
    assert response.status_code == 200
    assert "The verified on date cannot be in the future" in response.content.decode()
    assert form_of(response.content.decode())["verified_on"] == tomorrow  # kept as typed
    assert _current(LAW_648).version == 1
    today = timezone.localdate().isoformat()
    assert (
        _save(client, LAW_648, {**data, "verified_on": today, "change_note": NOTE}).status_code
        == 302
    )


def test_a_verified_on_date_in_the_future_is_refused_by_the_api(api_client, rule_steward, rules):
    api_client.force_authenticate(rule_steward)
    url = reverse("api-pathway-versions", args=[LAW_648])
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    # An edit is an electronic signature (issue 16): the steward's password comes with it.
    signed = {"change_note": NOTE, "reauth_password": TEST_PASSWORD}
    refused = api_client.post(url, {"verified_on": tomorrow, **signed}, format="json")
    assert refused.status_code == 400
    assert "cannot be in the future" in " ".join(refused.json()["verified_on"])
    assert _current(LAW_648).version == 1
    today = timezone.localdate().isoformat()
    accepted = api_client.post(url, {"verified_on": today, **signed}, format="json")
    assert accepted.status_code == 201 and _current(LAW_648).verified_on.isoformat() == today


def test_the_service_refuses_a_future_verified_on_whoever_calls_it(rule_steward, rules):
    with pytest.raises(ApplicationError, match="cannot be in the future"):
        pathway_version_edit(
            actor=rule_steward,
            pathway=Pathway.objects.get(code=LAW_648),
            changes={"verified_on": timezone.localdate() + timedelta(days=30)},
            change_note=NOTE,
        )
    assert _current(LAW_648).version == 1


# --- The preview: recent requests routed before and after, nothing written ---------------------


def _writes(queries: list[dict[str, Any]]) -> list[str]:
    """The statements that change data. The sign-in's own session row is left out: every
    request may renew its idle timeout (offlabel.middleware.SessionMiddleware), a page view as much
    as this."""
    return [
        q["sql"]
        for q in queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
        and '"django_session"' not in q["sql"]
    ]


def test_the_preview_routes_recent_requests_on_the_unsaved_change_and_writes_nothing(
    client, rule_steward, make_request
):
    """Law 648 listed with azacitidine or decitabine 5-day; the steward previews it listed with
    decitabine 5-day only: the azacitidine request would no longer go to Law 648, the
    decitabine one still would, the British one is not shown (other rules)."""
    on_azacitidine = make_request(LISTING_648, regimen="azacitidine")
    on_decitabine = make_request(LISTING_648, regimen="decitabine_5")
    british = make_request(LISTING_648, jurisdiction="GB")
    quiet = HospitalFactory.create(name="Invented Quiet Hospital", code="inv-quiet")
    law_648 = Pathway.objects.get(code=LAW_648).current_version()
    assert law_648 is not None
    client.force_login(rule_steward)
    _html, data = _editor_page(client, LAW_648)
    row = f"criteria-{item_index(data, 'criteria', 'listed_schedule')}-rule-0"
    assert data[f"{row}-value"] == ["azacitidine", "decitabine_5"]
    data[f"{row}-value"] = ["decitabine_5"]

    counts = (PathwayVersion.objects.count(), AuditEvent.objects.count())
    with CaptureQueriesContext(connection) as queries:
        response = _preview(client, LAW_648, data, action="preview")
    assert response.status_code == 200
    assert _writes(queries.captured_queries) == []
    assert (PathwayVersion.objects.count(), AuditEvent.objects.count()) == counts
    assert _current(LAW_648).criteria == law_648.criteria  # still the saved rule

    page = response.content.decode()
    table = page.split('<table class="data rule-preview">')[1].split("</table>")[0]
    rows = {r.split("</td>")[0]: r for r in table.split("<tr")[2:]}
    changed = next(r for ref, r in rows.items() if on_azacitidine.reference in ref)
    same = next(r for ref, r in rows.items() if on_decitabine.reference in ref)
    assert british.reference not in table
    assert 'class="changed"' in changed and law_648.name in changed
    assert "applies → cannot apply" in changed
    assert 'class="changed"' not in same and "applies → applies" in same
    assert "1 routed differently" in table
    assert form_of(page)[f"{row}-value"] == "decitabine_5"  # the edit is kept, unsaved

    # One hospital's requests only: an Italian hospital with none yet.
    assert f'<option value="{quiet.pk}">Invented Quiet Hospital</option>' in page
    data["preview-hospital"] = str(quiet.pk)
    only_quiet = _preview(client, LAW_648, data, action="preview").content.decode()
    assert on_azacitidine.reference not in only_quiet
    assert "No request filed under this country's rules yet" in only_quiet


def test_a_preview_of_a_bad_rule_shows_the_errors_and_no_table(client, rule_steward, rules):
    client.force_login(rule_steward)
    _html, data = _editor_page(client, LAW_648)
    row = f"criteria-{item_index(data, 'criteria', 'listed_schedule')}-rule-0"
    data[f"{row}-value"] = []
    page = _preview(client, LAW_648, data, action="preview").content.decode()
    assert "Choose at least one value." in page
    assert 'class="data rule-preview"' not in page


# --- Stewards only ------------------------------------------------------------------------------


def test_only_a_steward_opens_the_editor_or_its_preview(
    client, physician, regulatory_officer, rule_steward, rules
):
    preview = reverse("regulatory:rule-preview", args=[LAW_648])
    for user in (physician, regulatory_officer):
        client.force_login(user)
        assert client.get(reverse("regulatory:rule-edit", args=[LAW_648])).status_code == 403
        assert client.post(preview, {"action": "preview"}).status_code == 403
    client.force_login(rule_steward)
    assert client.get(preview).status_code == 405  # a preview is posted: the form travels
    assert (
        not AuditEvent.objects.filter(action__startswith="pathway.")
        .exclude(action="pathway.version_loaded")
        .exists()
    )


# --- The shared validation: a fact's type decides its operators and values -----------------------


def test_every_pathway_of_the_data_file_passes_the_editors_validation():
    for record in DATA["pathways"]:
        criteria_validate(record["criteria"])
        checklist_validate(record["checklist"])


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"fact": "regimen", "op": "gt", "value": 3}, "regimen cannot use op gt"),
        ({"fact": "age_years", "op": "eq", "value": "71"}, "age_years needs a number"),
        ({"fact": "age_years", "op": "is_true"}, "age_years cannot use op is_true"),
        ({"fact": "regimen", "op": "in", "value": ["vitamin_c"]}, "regimen takes values among"),
        ({"fact": "disease_status", "op": "eq", "value": "cured"}, "takes values among"),
        ({"fact": "consent_signed", "op": "eq", "value": True}, "cannot use op eq"),
    ],
)
def test_a_rule_that_does_not_fit_its_fact_is_refused(rule, message):
    with pytest.raises(ValidationError, match=message):
        criteria_validate([{"code": "x", "text": "A criterion", "rule": rule}])
