from __future__ import annotations

import json
import math
import re
from datetime import date
from typing import Any

from django import forms
from django.core.validators import RegexValidator
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from accounts.models import Hospital
from regulatory.models import (
    ATTESTER_LABELS,
    Application,
    Body,
    ChecklistItem,
    LocalChecklistItem,
    PathwayChoice,
    PathwayVersion,
)
from regulatory.rules import (
    BOOLEAN,
    FACTS,
    LOCAL_CODE_PREFIX,
    NUMBER,
    OP_LABELS,
    OPS_BY_KIND,
    Fact,
    verified_on_validate,
)
from regulatory.services import APPLICATION_STEPS


# Browsers' date inputs send and expect ISO dates, whatever the interface language.
def date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class PathwayChoiceForm(forms.Form):
    pathway = forms.CharField(widget=forms.HiddenInput)
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when you do not follow the recommendation."),
    )


class AttestForm(forms.Form):
    note = forms.CharField(label=_("Note"), required=False, max_length=1000)


class UploadForm(forms.Form):
    document = forms.FileField(label=_("Document"), help_text=_("PDF only, at most 10 MB."))


class ApplicationCreateForm(forms.Form):
    body = forms.ChoiceField(
        label=_("Body"), choices=[c for c in Body.choices if c[0] != Body.NONE]
    )
    prepared_at = forms.DateField(label=_("Prepared on"), widget=date_input())
    protocol_number = forms.CharField(label=_("Protocol number"), required=False, max_length=80)
    renewal_of = forms.ModelChoiceField(
        label=_("Renewal of"),
        queryset=Application.objects.none(),
        required=False,
        help_text=_("For a renewal: the granted authorisation it continues."),
    )

    def __init__(
        self, *args: Any, renewable: QuerySet[Application] | None = None, **kwargs: Any
    ) -> None:
        """``renewable``: the granted applications of the request a renewal may continue."""
        super().__init__(*args, **kwargs)
        if renewable is not None:
            renewal_of = self.fields["renewal_of"]
            assert isinstance(renewal_of, forms.ModelChoiceField)
            renewal_of.queryset = renewable


APPLICATION_STEP_CHOICES = [(name, step.label) for name, step in APPLICATION_STEPS.items()]


class ApplicationStepForm(forms.Form):
    step = forms.ChoiceField(label=_("Step"), choices=APPLICATION_STEP_CHOICES)
    on = forms.DateField(label=_("Date"), widget=date_input())
    protocol_number = forms.CharField(label=_("Protocol number"), required=False, max_length=80)
    valid_until = forms.DateField(
        label=_("Valid until"),
        required=False,
        widget=date_input(),
        help_text=_("For a grant: valid until."),
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=1000)


def application_panel_forms(
    choice: PathwayChoice | None, renewable: QuerySet[Application]
) -> dict[str, forms.Form]:
    """The request page's forms to record an application (its body proposed from the chosen
    pathway; a renewal continues one of the ``renewable`` grants) and an application's step."""
    application_form = ApplicationCreateForm(
        initial={"body": choice.pathway_version.authorising_body} if choice else None,
        renewable=renewable,
    )
    return {"application_form": application_form, "step_form": ApplicationStepForm()}


class PathwayVersionForm(forms.ModelForm[PathwayVersion]):
    """A national rules steward edits a pathway; saving creates a new version. Its criteria
    and checklist items are edited as rows (``regulatory.rule_editor``), not here."""

    change_note = forms.CharField(
        label=_("Change note"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("What changed, and on which official source."),
    )

    class Meta:
        model = PathwayVersion
        fields = [
            "name",
            "summary",
            "legal_source",
            "verified_on",
            "confirmed",
            "unconfirmed_note",
            "reimbursement",
            "authorising_body",
            "needs_outside_authorisation",
        ]
        widgets = {
            "verified_on": date_input(),
            "summary": forms.Textarea(attrs={"rows": 2}),
            "legal_source": forms.Textarea(attrs={"rows": 2}),
            "unconfirmed_note": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args: Any, for_save: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A preview needs no change note: nothing is saved.
        self.fields["change_note"].required = for_save

    def clean_verified_on(self) -> date:
        verified_on: date = self.cleaned_data["verified_on"]
        verified_on_validate(verified_on)
        return verified_on

    def changes(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


# --- The rows of the rules editor (issue 15) ----------------------------------------------------
# A criterion or a checklist item is one form; its rule is a formset of condition rows in outline
# order (``regulatory.rule_editor`` turns a rule into rows and rows back into the rule).

MAX_LEVEL = 12
ROW_FACT, ROW_ALL_OF, ROW_ANY_OF, ROW_VERIFY_WHEN = "fact", "all_of", "any_of", "verify_when"
ROW_ALWAYS, ROW_NEVER, ROW_UNCONFIRMED = "always", "never", "unconfirmed"
ROW_KINDS = [
    (ROW_FACT, _("Condition on a fact")),
    (ROW_ALL_OF, _("All of the rows below")),
    (ROW_ANY_OF, _("Any of the rows below")),
    (ROW_VERIFY_WHEN, _("As published, but verify when")),
    (ROW_ALWAYS, _("Always met")),
    (ROW_NEVER, _("Never met")),
    (ROW_UNCONFIRMED, _("Unconfirmed: always verify")),
]
GROUP_ROWS = frozenset({ROW_ALL_OF, ROW_ANY_OF, ROW_VERIFY_WHEN})
TEXT_ROWS = frozenset({ROW_VERIFY_WHEN, ROW_ALWAYS, ROW_NEVER, ROW_UNCONFIRMED})
NO_VALUE_OPS = frozenset({"is_true", "is_false"})
LIST_OPS = frozenset({"in", "not_in"})
_INTEGER = re.compile(r"[-+]?[0-9]+")


class ExtraKeysField(forms.CharField):
    """The keys of an item or a rule the editor does not show (an item's translations, its
    "i18n"), carried through the page as JSON so that an edit keeps them unchanged."""

    widget = forms.HiddenInput

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, strip=False, **kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, dict):
            return json.dumps(value, ensure_ascii=False, sort_keys=True) if value else ""
        return value

    def clean(self, value: Any) -> dict[str, Any]:
        raw = super().clean(value)
        if not raw:
            return {}

        def no_constants(token: str) -> Any:
            raise ValueError(token)

        try:
            parsed = json.loads(raw, parse_constant=no_constants)
        except (ValueError, RecursionError):
            parsed = None
        if not isinstance(parsed, dict):
            raise forms.ValidationError(
                _("The hidden data of this row is damaged: reload the page and edit again.")
            )
        return parsed


class TextField(forms.CharField):
    """A text area's text with the line breaks the data file uses: browsers send CRLF."""

    def to_python(self, value: Any) -> str:
        return str(super().to_python(value)).replace("\r\n", "\n")


def chosen_first(chosen: Any, choices: Any) -> list[tuple[Any, Any]]:
    """The choices with those chosen first, in the order they were chosen: the boxes are sent
    in page order, so a list keeps its order through the form (a rule's list is data)."""
    choices = list(choices)
    labels = dict(choices)
    order = [c for c in dict.fromkeys(chosen or []) if c in labels]
    return [(c, labels[c]) for c in order] + [(c, label) for c, label in choices if c not in order]


def _chosen_list(form: forms.Form, name: str) -> list[str]:
    """A multiple choice's values as typed (a bound form) or as loaded."""
    if form.is_bound:
        getlist = getattr(form.data, "getlist", None)
        if getlist is None:  # a plain dict (a form built in code)
            value = form.data.get(form.add_prefix(name))
            return [str(v) for v in value] if isinstance(value, list | tuple) else []
        return [str(v) for v in getlist(form.add_prefix(name))]
    value = form.initial.get(name)
    return [str(v) for v in value] if isinstance(value, list | tuple) else []


def number_shown(value: Any) -> str:
    """A rule's number as typed in the form: 71, not 71.0; a decimal as Python writes it, so
    that reading it back gives the same number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "" if value is None else str(value)
    return str(value) if isinstance(value, int) else repr(value)


def number_parsed(raw: str) -> int | float:
    raw = raw.strip()
    if _INTEGER.fullmatch(raw):
        return int(raw)
    try:
        number = float(raw)
    except ValueError:
        raise forms.ValidationError(_("Enter a number.")) from None
    if not math.isfinite(number):
        raise forms.ValidationError(_("Enter a number."))
    return number


class RuleRowForm(forms.Form):
    """One row of a rule: a condition on a fact, a group of the rows one level below it, or a
    fixed outcome. The fact's type decides the operators offered and the value's widget."""

    level = forms.TypedChoiceField(
        label=_("Level"),
        coerce=int,
        choices=[(n, str(n)) for n in range(1, MAX_LEVEL + 1)],
        initial=1,
    )
    kind = forms.ChoiceField(label=_("Row"), choices=ROW_KINDS, initial=ROW_FACT)
    fact = forms.ChoiceField(label=_("Fact"), required=False)
    op = forms.ChoiceField(label=_("Operator"), required=False)
    value = forms.CharField(label=_("Value"), required=False)
    text = TextField(
        label=_("Reason shown"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    extra = ExtraKeysField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.row_kind = self._chosen("kind") or ROW_FACT
        self.level_shown = self._chosen("level") or "1"
        self.fact_chosen: Fact | None = FACTS.get(self._chosen("fact") or "")
        op = self._chosen("op") or ""
        fact_field, op_field = self.fields["fact"], self.fields["op"]
        assert isinstance(fact_field, forms.ChoiceField)
        assert isinstance(op_field, forms.ChoiceField)
        fact_field.choices = [("", "---------")] + [(f.name, f.label) for f in FACTS.values()]
        ops = OPS_BY_KIND[self.fact_chosen.kind] if self.fact_chosen else tuple(OP_LABELS)
        op_field.choices = [("", "---------")] + [(o, OP_LABELS[o]) for o in ops]
        if self.fact_chosen is not None:
            self.fields["fact"].help_text = self.fact_chosen.description
        self.value_kind = self._value_field(self.fact_chosen, op)
        self.fields["text"].label = (
            _("What is unconfirmed (shown with “verify”)")
            if self.row_kind == ROW_UNCONFIRMED
            else _("Why it must be verified")
            if self.row_kind == ROW_VERIFY_WHEN
            else _("Reason shown")
        )

    def _chosen(self, name: str) -> str | None:
        """The field's value as typed (a bound form) or as loaded."""
        if self.is_bound:
            value = self.data.get(self.add_prefix(name))
        else:
            value = self.initial.get(name, self.fields[name].initial)
        return None if value is None else str(value)

    def _value_field(self, fact: Fact | None, op: str) -> str:
        """Set the value field for the fact and operator; returns the kind of widget."""
        if fact is None or fact.kind == NUMBER:
            self.fields["value"] = forms.CharField(
                label=_("Value"),
                required=False,
                widget=forms.NumberInput(attrs={"step": "any"}),
            )
            return "number" if fact else "text"
        if fact.kind == BOOLEAN:
            return "none"
        if op in LIST_OPS:
            self.fields["value"] = forms.MultipleChoiceField(
                label=_("Values"),
                required=False,
                choices=chosen_first(_chosen_list(self, "value"), fact.choices),
                widget=forms.CheckboxSelectMultiple,
            )
            return "multiple"
        self.fields["value"] = forms.ChoiceField(
            label=_("Value"), required=False, choices=[("", "---------"), *fact.choices]
        )
        return "choice"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind")
        if kind == ROW_FACT:
            self._clean_condition(data)
        elif kind in (ROW_VERIFY_WHEN, ROW_UNCONFIRMED) and not (data.get("text") or "").strip():
            self.add_error(
                "text",
                _("Say why it must be verified.")
                if kind == ROW_VERIFY_WHEN
                else _("Say what is unconfirmed."),
            )
        return data

    def _clean_condition(self, data: dict[str, Any]) -> None:
        fact = FACTS.get(data.get("fact") or "")
        if fact is None:
            self.add_error("fact", _("Choose a fact."))
            return
        op = data.get("op") or ""
        if op not in OPS_BY_KIND[fact.kind]:
            self.add_error(
                "op",
                _("Choose an operator for %(fact)s: %(ops)s.")
                % {
                    "fact": fact.label,
                    "ops": ", ".join(str(OP_LABELS[o]) for o in OPS_BY_KIND[fact.kind]),
                },
            )
            return
        value = data.get("value")
        if op in NO_VALUE_OPS:
            data["value"] = None
        elif fact.kind == NUMBER:
            if not str(value or "").strip():
                self.add_error("value", _("Enter a number."))
                return
            try:
                data["value"] = number_parsed(str(value))
            except forms.ValidationError as exc:
                self.add_error("value", exc)
        elif op in LIST_OPS and not value:
            self.add_error("value", _("Choose at least one value."))
        elif op not in LIST_OPS and not value:
            self.add_error("value", _("Choose a value."))

    @property
    def shows_condition(self) -> bool:
        return self.row_kind == ROW_FACT

    @property
    def shows_text(self) -> bool:
        return self.row_kind in TEXT_ROWS

    def node(self) -> dict[str, Any]:
        """This row's part of the rule, without the rows below it."""
        data = self.cleaned_data
        kind = data["kind"]
        known: dict[str, Any]
        if kind == ROW_FACT:
            known = {"fact": data["fact"], "op": data["op"]}
            if data["op"] not in NO_VALUE_OPS:
                known["value"] = data["value"]
        elif kind in (ROW_ALWAYS, ROW_NEVER):
            known = {"const": kind == ROW_ALWAYS}
            if data["text"]:
                known["because"] = data["text"]
        elif kind == ROW_UNCONFIRMED:
            known = {"unconfirmed": data["text"]}
        elif kind == ROW_VERIFY_WHEN:
            known = {"because": data["text"]}
        else:
            known = {}
        return {**data["extra"], **known}


CONFIRMED_CHOICES = [
    ("yes", _("Yes: confirmed against the official text")),
    ("no", _("No: verify against the official text")),
    ("", _("As the pathway")),
]


class _ItemForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=60,
        validators=[
            RegexValidator(
                r"^[a-z0-9_-]+\Z",
                _("Lower-case letters, digits, _ or - only."),
            )
        ],
        help_text=_("Cited by requests and the audit trail; keep it when you only reword."),
    )
    source = TextField(label=_("Source"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    wording = TextField(
        label=_("Wording of the source (quoted)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    note = TextField(
        label=_("Interpretation note"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    extra = ExtraKeysField()

    @property
    def has_translations(self) -> list[str]:
        """The languages the item carries translations into (kept as they are by an edit)."""
        raw = self["extra"].value()
        try:
            extra = json.loads(raw) if isinstance(raw, str) and raw else {}
        except ValueError:
            return []
        i18n = extra.get("i18n") if isinstance(extra, dict) else None
        return sorted(i18n) if isinstance(i18n, dict) else []

    def clean_code(self) -> str:
        code: str = self.cleaned_data["code"]
        if code.startswith(LOCAL_CODE_PREFIX):
            raise forms.ValidationError(
                _("Codes starting with %(prefix)s are reserved for hospitals' own items.")
                % {"prefix": LOCAL_CODE_PREFIX}
            )
        return code

    def _optional_texts(self) -> dict[str, str]:
        return {
            k: self.cleaned_data[k] for k in ("source", "wording", "note") if self.cleaned_data[k]
        }


class CriterionForm(_ItemForm):
    text = TextField(
        label=_("Criterion"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    confirmed = forms.ChoiceField(
        label=_("Confirmed"), choices=CONFIRMED_CHOICES, required=False, initial="no"
    )
    field_order = ["code", "text", "confirmed", "source", "wording", "note"]

    def item(self, rule: dict[str, Any] | None) -> dict[str, Any]:
        known: dict[str, Any] = {
            "code": self.cleaned_data["code"],
            "text": self.cleaned_data["text"],
            **self._optional_texts(),
        }
        if self.cleaned_data["confirmed"]:
            known["confirmed"] = self.cleaned_data["confirmed"] == "yes"
        if rule is not None:
            known["rule"] = rule
        return {**self.cleaned_data["extra"], **known}


class ChecklistItemForm(_ItemForm):
    text = TextField(
        label=_("Requirement"), max_length=400, widget=forms.Textarea(attrs={"rows": 2})
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=ChecklistItem.Kind.choices)
    required = forms.BooleanField(label=_("Required before approval"), required=False)
    attesters = forms.MultipleChoiceField(
        label=_("Attested by"),
        required=False,
        choices=list(ATTESTER_LABELS.items()),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("For an attestation: who may attest it."),
    )
    document_type = forms.CharField(
        label=_("Document type"),
        required=False,
        max_length=40,
        help_text=_("For a document: a short code of its kind, e.g. committee_opinion."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["attesters"].choices = chosen_first(  # type: ignore[attr-defined]
            _chosen_list(self, "attesters"), ATTESTER_LABELS.items()
        )

    field_order = [
        "code",
        "text",
        "kind",
        "required",
        "attesters",
        "document_type",
        "source",
        "wording",
        "note",
    ]

    def item(self, rule: dict[str, Any] | None) -> dict[str, Any]:
        data = self.cleaned_data
        known: dict[str, Any] = {
            "code": data["code"],
            "text": data["text"],
            "kind": data["kind"],
            "required": data["required"],
            **self._optional_texts(),
        }
        if data["kind"] == ChecklistItem.Kind.ATTESTATION or data["attesters"]:
            known["attesters"] = data["attesters"]
        if data["document_type"]:
            known["document_type"] = data["document_type"]
        if rule is not None:
            known["rule"] = rule
        return {**data["extra"], **known}


class PreviewForm(forms.Form):
    """Whose recent requests the preview routes: a steward belongs to no hospital."""

    hospital = forms.ModelChoiceField(
        label=_("Requests of"),
        queryset=Hospital.objects.none(),
        required=False,
        empty_label=_("All hospitals"),
    )


class LocalChecklistItemForm(forms.Form):
    """A hospital's own, stricter checklist item for one pathway (issue 14)."""

    text = forms.CharField(
        label=_("Requirement"),
        max_length=400,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Added to your hospital's checklists for this pathway, always required."),
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=LocalChecklistItem.Kind.choices)
    attesters = forms.MultipleChoiceField(
        label=_("Attested by"),
        required=False,
        choices=list(ATTESTER_LABELS.items()),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("For an attestation: who may attest it."),
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=300,
        help_text=_("Why your hospital requires it: the local policy or decision, with its date."),
    )
