"""Forms of the request panel and the registry filters. They only capture values: the
services validate against the treatment dates and the rules, and say why they refuse."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

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
from offlabel.parsers import LONG_TEXT_MAX, NOTE_MAX
from prescriptions.models import OffLabelRequest


def _date(
    label: StrOrPromise, *, required: bool = True, help_text: StrOrPromise = ""
) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=required,
        help_text=help_text,
        # Browsers' date inputs send and expect ISO dates, whatever the interface language.
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


_RECOVERY_HELP = _(
    "Grade 4 neutropenia or thrombocytopenia: the day the count was back to grade 2 or lower "
    "(the treatment plan resumes the next cycle from it)."
)


class ResponseAssessmentForm(forms.Form):
    assessed_on = _date(_("Date of assessment"))
    response = forms.ChoiceField(label=_("Response"), choices=Response.choices)
    mrd = forms.ChoiceField(label="MRD", choices=Mrd.choices, initial=Mrd.NOT_ASSESSED)
    method = forms.CharField(required=False, max_length=200, label=_("Method"))
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


def _term_label(code: str, name: StrOrPromise) -> str:
    """``Febrile neutropenia (grades 3–5)``: the grades CTCAE v5.0 defines, so an impossible
    grade is seen before it is refused; a range not yet checked against the table says so."""
    from followup.ctcae import ctcae_grades

    entry = ctcae_grades().terms.get(code)
    if entry is None:
        return str(name)
    grades = (
        gettext("grade %(grades)s") if len(entry.grades) == 1 else gettext("grades %(grades)s")
    ) % {"grades": entry.grades_text}
    if not entry.confirmed:
        grades = gettext("%(grades)s, verify") % {"grades": grades}
    return f"{name} ({grades})"


_term_label_lazy = lazy(_term_label, str)


def ctcae_term_choices() -> list[tuple[str, StrOrPromise]]:
    return [(code, _term_label_lazy(code, name)) for code, name in CtcaeTerm.choices]


class AdverseEventForm(forms.Form):
    term = forms.ChoiceField(label=_("CTCAE v5 term"), choices=ctcae_term_choices)
    term_other = forms.CharField(required=False, max_length=200, label=_("Other term (specify)"))
    grade = forms.TypedChoiceField(
        choices=[(g, str(g)) for g in range(1, 6)], coerce=int, label=_("Grade")
    )
    serious = forms.BooleanField(required=False, label=_("Serious"))
    onset_on = _date(_("Onset"))
    resolved_on = _date(_("Resolved"), required=False)
    recovered_to_grade_2_on = _date(
        _("Recovered to grade ≤ 2 on"), required=False, help_text=_RECOVERY_HELP
    )
    outcome = forms.ChoiceField(label=_("Outcome"), choices=AeOutcome.choices)
    relation = forms.ChoiceField(label=_("Relation to VEN"), choices=Relation.choices)
    aware_on = _date(
        _("Aware since"),
        required=False,
        help_text=_(
            "Suspected adverse reactions (possibly related or stronger): the reporting deadline "
            "runs from this day (today if empty)."
        ),
    )
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class AdverseEventUpdateForm(forms.Form):
    grade = forms.TypedChoiceField(
        label=_("Grade"), choices=[(g, str(g)) for g in range(1, 6)], coerce=int
    )
    serious = forms.BooleanField(label=_("Serious"), required=False)
    outcome = forms.ChoiceField(label=_("Outcome"), choices=AeOutcome.choices)
    resolved_on = _date(_("Resolved"), required=False)
    recovered_to_grade_2_on = _date(
        _("Recovered to grade ≤ 2 on"), required=False, help_text=_RECOVERY_HELP
    )
    relation = forms.ChoiceField(label=_("Relation to VEN"), choices=Relation.choices)


class FollowUpForm(forms.Form):
    transplant_on = _date(_("Allogeneic transplant after VEN"), required=False)
    treatment_end_on = _date(_("End of treatment"), required=False)
    treatment_end_reason = forms.ChoiceField(
        choices=[("", "—"), *EndReason.choices], required=False, label=_("Reason")
    )
    treatment_end_note = forms.CharField(required=False, max_length=300, label=_("Note on the end"))
    death_on = _date(_("Date of death"), required=False)
    death_cause = forms.ChoiceField(
        choices=[("", "—"), *DeathCause.choices], required=False, label=_("Cause of death")
    )
    last_contact_on = _date(
        _("Last contact (alive)"), required=False, help_text=_("Survival is censored here.")
    )


class PvResolveForm(forms.Form):
    report_reference = forms.CharField(max_length=120, label=_("Report reference"))
    reported_on = _date(_("Reported on"), required=False)


class RenewalReportForm(forms.Form):
    conclusion = forms.CharField(
        label=_("Conclusion"),
        max_length=LONG_TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Your summary of efficacy and safety; printed as written."),
    )


class RegistryFilterForm(forms.Form):
    regimen = forms.ChoiceField(
        label=_("Regimen"),
        choices=[("", _("All regimens")), *OffLabelRequest.Regimen.choices],
        required=False,
    )
    started_from = _date(_("Started from"), required=False)
    started_to = _date(_("Started until"), required=False)

    def filters(self) -> RegistryFilters:
        if not self.is_valid():
            return RegistryFilters()
        data = self.cleaned_data
        return RegistryFilters(
            regimen=data.get("regimen") or "",
            started_from=data.get("started_from"),
            started_to=data.get("started_to"),
        )


def followup_panel_forms(record: Any) -> dict[str, Any]:
    """The forms of the request page's follow-up panel (``record``: the follow-up record, or
    None)."""
    return {
        "fu_assessment_form": ResponseAssessmentForm(auto_id="fu-ra-%s"),
        "fu_event_form": AdverseEventForm(auto_id="fu-ae-%s"),
        "fu_record_form": FollowUpForm(
            initial={name: getattr(record, name) for name in FollowUpForm.base_fields}
            if record
            else None,
            auto_id="fu-rec-%s",
        ),
        "fu_resolve_form": PvResolveForm(auto_id="fu-pv-%s"),
        "fu_report_form": RenewalReportForm(auto_id="fu-rr-%s"),
    }
