"""Forms of the request panel and the registry filters. They only capture values: the
services validate against the treatment dates and the rules, and say why they refuse."""

from __future__ import annotations

from django import forms

from followup.models import (
    AeOutcome,
    CtcaeTerm,
    DeathCause,
    EndReason,
    Mrd,
    Relation,
    Response,
)
from followup.selectors import RegistryFilters
from prescriptions.models import OffLabelRequest


def _date(label: str, *, required: bool = True, help_text: str = "") -> forms.DateField:
    return forms.DateField(
        label=label,
        required=required,
        help_text=help_text,
        widget=forms.DateInput(attrs={"type": "date"}),
    )


class ResponseAssessmentForm(forms.Form):
    assessed_on = _date("Date of assessment")
    response = forms.ChoiceField(choices=Response.choices)
    mrd = forms.ChoiceField(label="MRD", choices=Mrd.choices, initial=Mrd.NOT_ASSESSED)
    method = forms.CharField(required=False, max_length=200, label="Method")
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class AdverseEventForm(forms.Form):
    term = forms.ChoiceField(label="CTCAE v5 term", choices=CtcaeTerm.choices)
    term_other = forms.CharField(required=False, max_length=200, label="Other term (specify)")
    grade = forms.TypedChoiceField(
        choices=[(g, str(g)) for g in range(1, 6)], coerce=int, label="Grade"
    )
    serious = forms.BooleanField(required=False, label="Serious")
    onset_on = _date("Onset")
    resolved_on = _date("Resolved", required=False)
    outcome = forms.ChoiceField(choices=AeOutcome.choices)
    relation = forms.ChoiceField(label="Relation to VEN", choices=Relation.choices)
    aware_on = _date(
        "Aware since",
        required=False,
        help_text="Serious events: the reporting deadline runs from this day (today if empty).",
    )
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class AdverseEventUpdateForm(forms.Form):
    grade = forms.TypedChoiceField(choices=[(g, str(g)) for g in range(1, 6)], coerce=int)
    serious = forms.BooleanField(required=False)
    outcome = forms.ChoiceField(choices=AeOutcome.choices)
    resolved_on = _date("Resolved", required=False)
    relation = forms.ChoiceField(label="Relation to VEN", choices=Relation.choices)


class FollowUpForm(forms.Form):
    transplant_on = _date("Allogeneic transplant after VEN", required=False)
    treatment_end_on = _date("End of treatment", required=False)
    treatment_end_reason = forms.ChoiceField(
        choices=[("", "—"), *EndReason.choices], required=False, label="Reason"
    )
    treatment_end_note = forms.CharField(required=False, max_length=300, label="Note on the end")
    death_on = _date("Date of death", required=False)
    death_cause = forms.ChoiceField(
        choices=[("", "—"), *DeathCause.choices], required=False, label="Cause of death"
    )
    last_contact_on = _date(
        "Last contact (alive)", required=False, help_text="Survival is censored here."
    )


class PvResolveForm(forms.Form):
    report_reference = forms.CharField(max_length=120, label="Report reference")
    reported_on = _date("Reported on", required=False)


class RenewalReportForm(forms.Form):
    conclusion = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Your summary of efficacy and safety; printed as written.",
    )


class RegistryFilterForm(forms.Form):
    regimen = forms.ChoiceField(
        choices=[("", "All regimens"), *OffLabelRequest.Regimen.choices], required=False
    )
    started_from = _date("Started from", required=False)
    started_to = _date("Started until", required=False)

    def filters(self) -> RegistryFilters:
        if not self.is_valid():
            return RegistryFilters()
        data = self.cleaned_data
        return RegistryFilters(
            regimen=data.get("regimen") or "",
            started_from=data.get("started_from"),
            started_to=data.get("started_to"),
        )
