from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from regulatory.models import (
    ATTESTER_LABELS,
    Application,
    Body,
    LocalChecklistItem,
    PathwayVersion,
)
from regulatory.services import APPLICATION_STEP_LABELS


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


APPLICATION_STEPS = list(APPLICATION_STEP_LABELS.items())


class ApplicationStepForm(forms.Form):
    step = forms.ChoiceField(label=_("Step"), choices=APPLICATION_STEPS)
    on = forms.DateField(label=_("Date"), widget=date_input())
    protocol_number = forms.CharField(label=_("Protocol number"), required=False, max_length=80)
    valid_until = forms.DateField(
        label=_("Valid until"),
        required=False,
        widget=date_input(),
        help_text=_("For a grant: valid until."),
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=1000)


class PathwayVersionForm(forms.ModelForm[PathwayVersion]):
    """A national rules steward edits a pathway; saving creates a new version."""

    criteria_json = forms.CharField(
        label=_("Criteria (JSON)"), widget=forms.Textarea(attrs={"rows": 14})
    )
    checklist_json = forms.CharField(
        label=_("Checklist items (JSON)"), widget=forms.Textarea(attrs={"rows": 14})
    )
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
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["criteria_json"] = json.dumps(
                self.instance.criteria, indent=2, ensure_ascii=False
            )
            self.initial["checklist_json"] = json.dumps(
                self.instance.checklist, indent=2, ensure_ascii=False
            )

    def _json_list(self, name: str) -> Any:
        """The field's JSON, parsed strictly: NaN and Infinity are not JSON (and PostgreSQL's
        jsonb refuses them); absurd nesting is refused as a message, not a RecursionError."""

        def no_constants(token: str) -> Any:
            raise ValueError(token)

        try:
            return json.loads(self.cleaned_data[name], parse_constant=no_constants)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(_("Not valid JSON: %(error)s") % {"error": exc}) from None
        except ValueError as exc:
            raise forms.ValidationError(
                _("Not valid JSON: %(token)s is not a number.") % {"token": exc}
            ) from None
        except RecursionError:
            raise forms.ValidationError(_("Not valid JSON: nested too deeply.")) from None

    def clean_criteria_json(self) -> list[Any]:
        from regulatory.rules import criteria_validate

        criteria = self._json_list("criteria_json")
        criteria_validate(criteria)
        return list(criteria)

    def clean_checklist_json(self) -> list[Any]:
        from regulatory.rules import checklist_validate

        items = self._json_list("checklist_json")
        checklist_validate(items)
        return list(items)

    def changes(self) -> dict[str, Any]:
        data = {name: self.cleaned_data[name] for name in self.Meta.fields}
        data["criteria"] = self.cleaned_data["criteria_json"]
        data["checklist"] = self.cleaned_data["checklist_json"]
        return data


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
