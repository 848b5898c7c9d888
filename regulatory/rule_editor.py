"""The national rules editor (issue 15): criteria and checklist items as rows of a form.

A pathway's criteria and checklist items are data (``regulatory/data/rules.json``); a steward
edits them here without JSON. Each item is one form; its rule is a formset of rows in outline
order, each with a level: a group row ("all of", "any of", "as published, but verify when")
holds the rows one level below it. Turning a rule into rows and the unchanged rows back into a
rule gives the same JSON (tested over every pathway); keys the editor does not show (an item's
"i18n" translations) travel in a hidden field, so an edit keeps them unchanged.

Before saving, a steward previews how the proposed version routes recent requests; the preview
routes with ``regulatory.routing.route`` on the unsaved version and writes nothing.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms import BaseFormSet, formset_factory
from django.http import QueryDict
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Hospital
from prescriptions.models import OffLabelRequest
from regulatory.forms import (
    GROUP_ROWS,
    NO_VALUE_OPS,
    ROW_ALL_OF,
    ROW_ALWAYS,
    ROW_ANY_OF,
    ROW_FACT,
    ROW_NEVER,
    ROW_UNCONFIRMED,
    ROW_VERIFY_WHEN,
    ChecklistItemForm,
    CriterionForm,
    PathwayVersionForm,
    PreviewForm,
    RuleRowForm,
    number_shown,
)
from regulatory.models import Pathway, PathwayVersion
from regulatory.routing import APPLIES, NOT_APPLICABLE, POSSIBLE, VERIFY, Assessment, route
from regulatory.rules import (
    CHOICE,
    FACTS,
    checklist_validate,
    criteria_validate,
    facts_for,
    rules_translations_carried,
)

CRITERIA, CHECKLIST = "criteria", "checklist"
MAX_ROWS = 200  # per list: far more than any pathway needs; a bound on a crafted POST
PREVIEW_SIZE = 20
_ITEM_KEYS = {
    CRITERIA: {"code", "text", "rule", "confirmed", "source", "wording", "note"},
    CHECKLIST: {
        "code",
        "text",
        "kind",
        "required",
        "attesters",
        "document_type",
        "rule",
        "source",
        "wording",
        "note",
    },
}
_ROW_TARGET = re.compile(r"(criteria|checklist)-([0-9]{1,4})-rule")


# --- A rule as rows, and rows as a rule ----------------------------------------------------------


def _row_kind(expr: dict[str, Any]) -> str:
    """The same precedence as ``regulatory.rules.evaluate``."""
    if "const" in expr:
        return ROW_ALWAYS if expr["const"] else ROW_NEVER
    if "unconfirmed" in expr:
        return ROW_UNCONFIRMED
    if "verify_when" in expr:
        return ROW_VERIFY_WHEN
    if "all_of" in expr:
        return ROW_ALL_OF
    if "any_of" in expr:
        return ROW_ANY_OF
    return ROW_FACT


def _known_keys(kind: str, expr: dict[str, Any]) -> set[str]:
    if kind == ROW_FACT:
        return {"fact", "op"} if expr.get("op") in NO_VALUE_OPS else {"fact", "op", "value"}
    return {
        ROW_ALL_OF: {"all_of"},
        ROW_ANY_OF: {"any_of"},
        ROW_VERIFY_WHEN: {"rule", "verify_when", "because"},
        ROW_ALWAYS: {"const", "because"},
        ROW_NEVER: {"const", "because"},
        ROW_UNCONFIRMED: {"unconfirmed"},
    }[kind]


def rule_rows(expr: dict[str, Any], level: int = 1) -> list[dict[str, Any]]:
    """A rule as the editor's rows, in outline order (a group, then the rows it holds)."""
    kind = _row_kind(expr)
    row: dict[str, Any] = {
        "level": level,
        "kind": kind,
        "extra": {k: v for k, v in expr.items() if k not in _known_keys(kind, expr)},
    }
    children: list[dict[str, Any]] = []
    if kind == ROW_FACT:
        value = expr.get("value")
        fact = FACTS.get(expr.get("fact", ""))
        row |= {"fact": expr.get("fact"), "op": expr.get("op")}
        if fact is not None and fact.kind == CHOICE:
            row["value"] = value
        else:
            row["value"] = number_shown(value)
    elif kind in (ROW_ALL_OF, ROW_ANY_OF):
        children = list(expr[kind])
    elif kind == ROW_VERIFY_WHEN:
        row["text"] = expr.get("because", "")
        children = [expr["rule"], expr["verify_when"]]
    elif kind == ROW_UNCONFIRMED:
        row["text"] = expr["unconfirmed"]
    else:
        row["text"] = expr.get("because", "")
    rows = [row]
    for child in children:
        rows += rule_rows(child, level + 1)
    return rows


class _Misplaced(Exception):
    def __init__(self, form: RuleRowForm, message: str) -> None:
        self.form, self.message = form, message


def _rule_from(rows: list[RuleRowForm]) -> dict[str, Any]:
    """The rule the rows describe; a row out of place raises ``_Misplaced`` naming it."""

    def parse(at: int) -> tuple[dict[str, Any], int]:
        form = rows[at]
        level, kind = form.cleaned_data["level"], form.cleaned_data["kind"]
        node = form.node()
        at += 1
        if kind not in GROUP_ROWS:
            if at < len(rows) and rows[at].cleaned_data["level"] > level:
                raise _Misplaced(
                    rows[at],
                    gettext(
                        "This row is indented below a row that is not a group: only "
                        "“all of”, “any of” and “verify when” rows hold rows below them."
                    ),
                )
            return node, at
        children = []
        while at < len(rows) and rows[at].cleaned_data["level"] > level:
            if rows[at].cleaned_data["level"] != level + 1:
                raise _Misplaced(
                    rows[at],
                    gettext("Indent one level at a time: this row can be at level %(level)s.")
                    % {"level": level + 1},
                )
            child, at = parse(at)
            children.append(child)
        if kind == ROW_VERIFY_WHEN:
            if len(children) != 2:
                raise _Misplaced(
                    form,
                    gettext(
                        "A “verify when” row holds exactly two rows below it: first the rule "
                        "as published, then when to verify it."
                    ),
                )
            node |= {"rule": children[0], "verify_when": children[1]}
        else:
            if not children:
                raise _Misplaced(form, gettext("A group needs at least one row below it."))
            node[kind] = children
        return node, at

    if rows[0].cleaned_data["level"] != 1:
        raise _Misplaced(rows[0], gettext("The first row of a rule is at level 1."))
    rule, at = parse(0)
    if at < len(rows):
        raise _Misplaced(
            rows[at],
            gettext(
                "A rule has one row at level 1: put these rows below an “all of” or “any of” row."
            ),
        )
    return rule


def _removed(form: forms.Form) -> bool:
    return bool(getattr(form, "cleaned_data", {}).get("DELETE"))


def _live(formset: BaseFormSet[Any]) -> list[Any]:
    """The forms kept: not ticked for removal and not an added row left blank."""
    return [f for f in formset.forms if f.cleaned_data and not _removed(f)]


# --- Initial rows --------------------------------------------------------------------------------


def _item_initial(item: dict[str, Any], group: str) -> dict[str, Any]:
    initial = {
        k: item.get(k, "") for k in ("code", "text", "source", "wording", "note", "document_type")
    }
    initial["extra"] = {k: v for k, v in item.items() if k not in _ITEM_KEYS[group]}
    if group == CRITERIA:
        confirmed = item.get("confirmed")
        initial["confirmed"] = "" if confirmed is None else "yes" if confirmed else "no"
    else:
        initial |= {
            "kind": item.get("kind", ""),
            "required": item.get("required", True),
            "attesters": item.get("attesters", []),
        }
    initial["rows"] = rule_rows(item["rule"]) if isinstance(item.get("rule"), dict) else []
    return initial


CriterionFormSet = formset_factory(CriterionForm, extra=0, can_delete=True)
ChecklistFormSet = formset_factory(ChecklistItemForm, extra=0, can_delete=True)
RuleRowFormSet = formset_factory(RuleRowForm, extra=0, can_delete=True)


# --- The editor ----------------------------------------------------------------------------------


class RulesEditor:
    """The pathway's fields, its criteria and its checklist items, each item with its rows.

    ``for_save`` False: a preview or a re-rendering, where the change note is not needed yet."""

    def __init__(
        self,
        data: QueryDict | None,
        *,
        version: PathwayVersion,
        for_save: bool = True,
        added: str = "",
    ) -> None:
        self.version = version
        self.added = added
        # The form writes what was typed into its instance: keep the current version intact.
        self.form = PathwayVersionForm(data, instance=copy.copy(version), for_save=for_save)
        self.lists: dict[str, BaseFormSet[Any]] = {
            CRITERIA: CriterionFormSet(
                data,
                prefix=CRITERIA,
                initial=None
                if data is not None
                else [_item_initial(i, CRITERIA) for i in version.criteria],
            ),
            CHECKLIST: ChecklistFormSet(
                data,
                prefix=CHECKLIST,
                initial=None
                if data is not None
                else [_item_initial(i, CHECKLIST) for i in version.checklist],
            ),
        }
        for formset in self.lists.values():
            for item in formset.forms:
                item.rows = RuleRowFormSet(
                    data,
                    prefix=f"{item.prefix}-rule",
                    initial=None if data is not None else item.initial.get("rows", []),
                )
        # With JavaScript, choosing a row's kind, fact or operator redraws the editor with the
        # matching fields (htmx); without it, "Preview the routing" or "Add a row" does.
        refresh = reverse("regulatory:rule-preview", args=[version.pathway.code])
        for form in self._all_forms():
            if isinstance(form, RuleRowForm):
                for name in ("level", "kind", "fact", "op"):
                    form.fields[name].widget.attrs |= {"hx-post": refresh, "hx-trigger": "change"}
        if added:  # the row just added takes the focus (no JavaScript needed)
            for form in self._all_forms():
                if form.prefix == added:
                    first = "fact" if isinstance(form, RuleRowForm) else "code"
                    form.fields[first].widget.attrs["autofocus"] = True
        self.list_errors: dict[str, list[str]] = {CRITERIA: [], CHECKLIST: []}
        self.lists_valid = True  # False once ``is_valid`` found a refused row or item
        self._items: dict[str, list[dict[str, Any]]] = {}

    def _all_forms(self) -> list[forms.Form]:
        found: list[forms.Form] = []
        for formset in self.lists.values():
            for item in formset.forms:
                found += [item, *item.rows.forms]
        return found

    @property
    def criteria(self) -> BaseFormSet[Any]:
        return self.lists[CRITERIA]

    @property
    def checklist(self) -> BaseFormSet[Any]:
        return self.lists[CHECKLIST]

    def is_valid(self) -> bool:
        """Every field, row and item checked, so that all the errors show at once."""
        valid = self.form.is_valid()
        for group, formset in self.lists.items():
            formset_valid = formset.is_valid()
            rows_valid = True
            for item in formset.forms:
                if not _removed(item):
                    rows_valid = item.rows.is_valid() and rows_valid
            items = self._items_of(group, formset) if formset_valid and rows_valid else None
            if items is None:
                valid = self.lists_valid = False
            else:
                self._items[group] = items
        return valid

    def _items_of(self, group: str, formset: BaseFormSet[Any]) -> list[dict[str, Any]] | None:
        """The list's items, checked by the same validation as the API and the data file;
        ``None`` when a row or an item is refused (the error is on it)."""
        validate = criteria_validate if group == CRITERIA else checklist_validate
        items: list[dict[str, Any]] = []
        seen: set[str] = set()
        ok = True
        for form in _live(formset):
            rows = _live(form.rows)
            rule = None
            if rows:
                try:
                    rule = _rule_from(rows)
                except _Misplaced as exc:
                    exc.form.add_error(None, exc.message)
                    ok = False
                    continue
            automatic = group == CRITERIA or form.cleaned_data["kind"] == "automatic"
            if automatic and rule is None:
                form.add_error(
                    None,
                    gettext("A criterion needs a rule: add a row.")
                    if group == CRITERIA
                    else gettext("An item checked from the record needs a rule: add a row."),
                )
                ok = False
                continue
            if not automatic and rule is not None:
                form.add_error(
                    None,
                    gettext(
                        "Only an item checked from the record has a rule: remove its rows or "
                        "change its kind."
                    ),
                )
                ok = False
                continue
            item = form.item(rule)
            if item["code"] in seen:
                form.add_error("code", gettext("Another item above has this code."))
                ok = False
                continue
            seen.add(item["code"])
            try:
                validate([item])
            except ValidationError as exc:
                form.add_error(None, exc.messages)
                ok = False
                continue
            items.append(item)
        if not ok:
            return None
        try:
            validate(items)  # the list as a whole: not empty
        except ValidationError as exc:
            self.list_errors[group] = exc.messages
            return None
        return items

    def add_error(self, message: str) -> None:
        self.form.add_error(None, message)

    @property
    def change_note(self) -> str:
        return str(self.form.cleaned_data.get("change_note") or "")

    def changes(self) -> dict[str, Any]:
        """The fields of the new version, once ``is_valid``. A rule's sentence the steward
        rewrote loses its translation (the hidden field brought back the old one)."""
        return self.form.changes() | {
            "criteria": rules_translations_carried(self.version.criteria, self._items[CRITERIA]),
            "checklist": rules_translations_carried(self.version.checklist, self._items[CHECKLIST]),
        }

    def proposed_version(self) -> PathwayVersion:
        """The version saving would create, unsaved (for the preview)."""
        proposed = copy.copy(self.version)
        proposed.pk = None
        proposed.version = self.version.version + 1
        for name, value in self.changes().items():
            setattr(proposed, name, value)
        return proposed


def data_with_added_row(data: QueryDict, target: str) -> tuple[QueryDict, str]:
    """The posted form with one more row in the list ``target`` ("criteria", "checklist" or an
    item's rows, e.g. "criteria-2-rule"), for browsers without JavaScript as well; returns the
    data and the new row's prefix (empty when ``target`` names no list)."""
    match = _ROW_TARGET.fullmatch(target)
    if target not in (CRITERIA, CHECKLIST) and match is None:
        return data, ""
    try:
        count = int(data.get(f"{target}-TOTAL_FORMS", ""))
    except ValueError:
        return data, ""
    if not 0 <= count < MAX_ROWS:
        return data, ""
    data = data.copy()
    data[f"{target}-TOTAL_FORMS"] = str(count + 1)
    new = f"{target}-{count}"
    if match is None:  # a new item, with one empty row when its rule is needed
        rows = 1 if target == CRITERIA else 0
        data[f"{new}-rule-TOTAL_FORMS"] = str(rows)
        data[f"{new}-rule-INITIAL_FORMS"] = "0"
        if rows:
            data[f"{new}-rule-0-level"] = "1"
            data[f"{new}-rule-0-kind"] = ROW_FACT
        if target == CRITERIA:
            data[f"{new}-confirmed"] = "no"
        else:
            data[f"{new}-kind"] = "attestation"
            data[f"{new}-required"] = "on"
        return data, new
    # A new row below the last one: inside it when the last row is a group.
    level = "1"
    for at in range(count - 1, -1, -1):
        if data.get(f"{target}-{at}-DELETE"):
            continue
        last = data.get(f"{target}-{at}-level", "1")
        opens = data.get(f"{target}-{at}-kind") in GROUP_ROWS
        level = str(int(last) + 1) if opens and last.isdigit() else last
        break
    data[f"{new}-level"] = level
    data[f"{new}-kind"] = ROW_FACT
    return data, new


# --- The preview: recent requests routed before and after ----------------------------------------

ROUTING_STATUS_LABELS = {
    APPLIES: _("applies"),
    VERIFY: _("unknown — verify"),
    POSSIBLE: _("may apply once the data are recorded"),
    NOT_APPLICABLE: _("cannot apply"),
}


@dataclass(frozen=True)
class PreviewRow:
    request: OffLabelRequest
    recommended_before: Assessment | None
    recommended_after: Assessment | None
    edited_before: Assessment | None
    edited_after: Assessment | None
    # The recommended pathways' versions, for their names in the reader's language.
    version_before: PathwayVersion | None = None
    version_after: PathwayVersion | None = None

    @property
    def changed(self) -> bool:
        def code(a: Assessment | None) -> str | None:
            return a.pathway_code if a else None

        def status(a: Assessment | None) -> str | None:
            return a.status if a else None

        return code(self.recommended_before) != code(self.recommended_after) or status(
            self.edited_before
        ) != status(self.edited_after)

    @property
    def status_before(self) -> str:
        return _status_label(self.edited_before)

    @property
    def status_after(self) -> str:
        return _status_label(self.edited_after)


def _status_label(assessment: Assessment | None) -> str:
    if assessment is None:
        return "—"
    return str(ROUTING_STATUS_LABELS.get(assessment.status, assessment.status))


@dataclass(frozen=True)
class RoutingPreview:
    rows: list[PreviewRow]

    @property
    def changed(self) -> int:
        return sum(1 for row in self.rows if row.changed)


def preview_form(data: QueryDict | None, pathway: Pathway) -> PreviewForm:
    from regulatory.selectors import hospitals_affected_by

    form = PreviewForm(data, prefix="preview")
    form.fields["hospital"].queryset = Hospital.objects.filter(  # type: ignore[attr-defined]
        pk__in=[h.pk for h in hospitals_affected_by(pathway)]
    ).order_by("name")
    return form


def routing_preview(
    *, proposed: PathwayVersion, hospital: Hospital | None = None, size: int = PREVIEW_SIZE
) -> RoutingPreview:
    """The most recent requests of the pathway's jurisdiction (of one hospital, or of every
    hospital: a steward belongs to none), each routed on today's rules and on the proposed
    version. Reads only; the proposed version is never saved."""
    pathway = proposed.pathway
    jurisdiction = pathway.jurisdiction.code
    requests = (
        OffLabelRequest.objects.kept()
        .filter(jurisdiction=jurisdiction)
        .select_related("patient", "drug", "hospital")
        .prefetch_related("attachments")
        .order_by("-created_at", "-pk")
    )
    if hospital is not None:
        requests = requests.filter(hospital=hospital)
    today = list(
        PathwayVersion.objects.filter(pathway__jurisdiction__code=jurisdiction, is_current=True)
        .select_related("pathway")
        .order_by("pathway__order")
    )
    changed = [proposed if v.pathway_id == pathway.pk else v for v in today]
    versions_today = {v.pathway.code: v for v in today}
    versions_changed = {v.pathway.code: v for v in changed}

    def version(of: dict[str, PathwayVersion], a: Assessment | None) -> PathwayVersion | None:
        return of.get(a.pathway_code) if a else None

    rows = []
    for request in requests[:size]:
        facts = facts_for(request)
        before = route(request, versions=today, facts=facts)
        after = route(request, versions=changed, facts=facts)
        rows.append(
            PreviewRow(
                request=request,
                recommended_before=before.recommended,
                recommended_after=after.recommended,
                edited_before=before.by_code(pathway.code),
                edited_after=after.by_code(pathway.code),
                version_before=version(versions_today, before.recommended),
                version_after=version(versions_changed, after.recommended),
            )
        )
    return RoutingPreview(rows)


__all__ = [
    "CHECKLIST",
    "CRITERIA",
    "PreviewRow",
    "RoutingPreview",
    "RulesEditor",
    "data_with_added_row",
    "preview_form",
    "routing_preview",
    "rule_rows",
]
