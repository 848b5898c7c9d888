from __future__ import annotations

from datetime import date
from functools import cache
from typing import Any

from django import forms
from django.core.validators import MaxLengthValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from offlabel.dates import age_on
from offlabel.parsers import LONG_TEXT_MAX, NOTE_MAX
from prescriptions.medication_classes import classes_current, medication_classify
from prescriptions.models import (
    ConcomitantMedication,
    Gene,
    Interaction,
    OffLabelRequest,
    Patient,
    PatientIdentity,
    PatientMutation,
    YesNoUnknown,
    medication_dates_error,
)
from prescriptions.profile import PROFILE_FIELDS, TLS_CHEMISTRY_FIELDS
from prescriptions.services import REQUEST_FIELDS

# The interaction class a drug's entry in the sourced classes file gives, in this form's
# choices. The form has one "strong/moderate inducer" choice; foods are not medications.
_CLASS_TO_INTERACTION: dict[str, Interaction] = {
    "strong_cyp3a_inhibitor": Interaction.STRONG_CYP3A_INHIBITOR,
    "moderate_cyp3a_inhibitor": Interaction.MODERATE_CYP3A_INHIBITOR,
    "pgp_inhibitor": Interaction.PGP_INHIBITOR,
    "strong_cyp3a_inducer": Interaction.STRONG_CYP3A_INDUCER,
    "moderate_cyp3a_inducer": Interaction.STRONG_CYP3A_INDUCER,
    "none_known": Interaction.NONE_KNOWN,
}


@cache
def known_interactions() -> dict[str, Interaction]:
    """Every name of the classes file (INN, Italian, brand…) -> its interaction class, so the
    pharmacist's check starts from the sourced classification."""
    return {
        alias: _CLASS_TO_INTERACTION[drug.klass]
        for alias, drug in sorted(classes_current().aliases)
        if drug.klass in _CLASS_TO_INTERACTION
    }


def interaction_for_name(name: str) -> Interaction | None:
    """The class a typed name gives ("Posaconazolo 300 mg" -> strong inhibitor); None when the
    table does not know it, or when its known parts disagree (a combination: the pharmacist
    classifies it)."""
    found = {
        _CLASS_TO_INTERACTION[drug.klass]
        for drug in medication_classify(name)
        if drug.klass in _CLASS_TO_INTERACTION
    }
    return found.pop() if len(found) == 1 else None


MEDICATION_ROWS = 6
_MEDICATION_PARTS = ("name", "interaction", "dose", "started_on", "stopped_on")

_ORDERED_PROFILE = list(PROFILE_FIELDS)
# The lab statuses and the marrow-burden answer: a profile saved before they existed, or a
# value not yet back from the laboratory, is "unknown" rather than an error.
_TLS_ANSWERS = tuple(
    name
    for name in TLS_CHEMISTRY_FIELDS
    if name == "high_marrow_burden" or name.endswith("_status")
)
# Also "unknown" when not given: a profile saved before the question existed (issue 13).
_UNKNOWN_WHEN_EMPTY = (*_TLS_ANSWERS, "prior_hma_with_venetoclax")


class PatientProfileForm(forms.ModelForm[Patient]):
    """Profile, 14 mutations and up to six concomitant drugs in one form (nothing lost on error)."""

    class Meta:
        model = Patient
        fields = _ORDERED_PROFILE
        # Browsers' date inputs send and expect ISO dates, whatever the interface language.
        widgets = {
            "allo_transplant_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A transplant that has happened: the browser's picker stops at today (the model's
        # validator refuses a later date whatever the browser sends).
        self.fields["allo_transplant_date"].widget.attrs["max"] = timezone.localdate().isoformat()
        for name in _UNKNOWN_WHEN_EMPTY:
            self.fields[name].required = False  # not given: unknown
        current: dict[str, str] = {}
        meds: list[ConcomitantMedication] = []
        if self.instance.pk:
            current = {m.gene: m.status for m in self.instance.mutations.all()}
            meds = list(self.instance.medications.all())
        for gene in Gene:
            self.fields[f"mut_{gene.value}"] = forms.ChoiceField(
                label=gene.label,
                choices=PatientMutation.Status.choices,
                initial=current.get(gene.value, PatientMutation.Status.NOT_TESTED),
            )
        for i in range(MEDICATION_ROWS):
            med = meds[i] if i < len(meds) else None
            self.fields[f"med_{i}_name"] = forms.CharField(
                label=_("Drug"),
                required=False,
                max_length=120,  # the model's
                initial=med.drug_name if med else "",
                widget=forms.TextInput(attrs={"list": "known-drugs"}),
            )
            self.fields[f"med_{i}_interaction"] = forms.ChoiceField(
                label=_("Interaction class"),
                choices=Interaction.choices,
                required=False,
                initial=med.interaction if med else Interaction.UNKNOWN,
            )
            self.fields[f"med_{i}_dose"] = forms.CharField(
                label=_("Dose"),
                required=False,
                max_length=120,
                initial=med.dose_text if med else "",
            )
            # The plan dates an inhibitor's dose change from these (a start may be planned).
            for part, label in (("started_on", _("Started on")), ("stopped_on", _("Stopped on"))):
                self.fields[f"med_{i}_{part}"] = forms.DateField(
                    label=label,
                    required=False,
                    initial=getattr(med, part) if med else None,
                    widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                )

    @property
    def profile_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in _ORDERED_PROFILE if name not in TLS_CHEMISTRY_FIELDS]

    @property
    def tls_chemistry_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in TLS_CHEMISTRY_FIELDS]

    @property
    def mutation_fields(self) -> list[forms.BoundField]:
        return [self[f"mut_{gene.value}"] for gene in Gene]

    @property
    def medication_rows(self) -> list[list[forms.BoundField]]:
        return [
            [self[f"med_{i}_{part}"] for part in _MEDICATION_PARTS] for i in range(MEDICATION_ROWS)
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in _UNKNOWN_WHEN_EMPTY:
            if name in data and not data[name]:
                data[name] = YesNoUnknown.UNKNOWN
        for i in range(MEDICATION_ROWS):
            name = (data.get(f"med_{i}_name") or "").strip()
            known = interaction_for_name(name) if name else None
            if known and data.get(f"med_{i}_interaction") in ("", Interaction.UNKNOWN):
                data[f"med_{i}_interaction"] = known  # fill the class the sourced table gives
            started: date | None = data.get(f"med_{i}_started_on")
            stopped: date | None = data.get(f"med_{i}_stopped_on")
            if started and stopped and stopped < started:
                self.add_error(f"med_{i}_stopped_on", medication_dates_error())
        return data

    def profile(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in _ORDERED_PROFILE}

    def mutations(self) -> dict[str, str]:
        return {gene.value: self.cleaned_data[f"mut_{gene.value}"] for gene in Gene}

    def medications(self) -> list[dict[str, Any]]:
        rows = []
        for i in range(MEDICATION_ROWS):
            name = (self.cleaned_data.get(f"med_{i}_name") or "").strip()
            if name:
                rows.append(
                    {
                        "drug_name": name,
                        "interaction": self.cleaned_data.get(f"med_{i}_interaction")
                        or Interaction.UNKNOWN,
                        "dose_text": self.cleaned_data.get(f"med_{i}_dose") or "",
                        "started_on": self.cleaned_data.get(f"med_{i}_started_on"),
                        "stopped_on": self.cleaned_data.get(f"med_{i}_stopped_on"),
                    }
                )
        return rows


class IdentityForm(forms.ModelForm[PatientIdentity]):
    """Name and date of birth are required (the model's fields); the number when the patient
    has one. A date of birth in the future is refused by the model field's validator."""

    class Meta:
        model = PatientIdentity
        fields = ["given_name", "family_name", "date_of_birth", "national_id"]
        widgets = {"date_of_birth": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The browser's own date picker stops at today too (the server still checks).
        self.fields["date_of_birth"].widget.attrs["max"] = timezone.localdate().isoformat()


def profile_age_check(form: PatientProfileForm, identity_form: IdentityForm) -> str | None:
    """Step 1 records the age and the date of birth: an empty age is taken from the date of
    birth; an age that differs from it is kept (the prescriber may have meant the age at
    diagnosis) with a warning returned to show (both forms must be valid)."""
    born: date | None = identity_form.cleaned_data.get("date_of_birth")
    if born is None:
        return None
    age = age_on(born)
    given = form.cleaned_data.get("age_years")
    if given is None:
        form.cleaned_data["age_years"] = age
        return None
    if given != age:
        return str(
            _(
                "The age recorded (%(given)s) differs from the age the date of birth gives "
                "(%(age)s): check the profile."
            )
            % {"given": given, "age": age}
        )
    return None


class DuplicateChoiceForm(forms.Form):
    """What the user chose when step 1 offered an already recorded patient."""

    use_patient = forms.IntegerField(required=False, min_value=1)
    confirm_new = forms.BooleanField(required=False)


class RegimenForm(forms.ModelForm[OffLabelRequest]):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = OffLabelRequest
        fields = list(REQUEST_FIELDS)
        widgets = {
            "clinical_rationale": forms.Textarea(attrs={"rows": 5}),
            "lay_summary": forms.Textarea(attrs={"rows": 4}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("clinical_rationale", "lay_summary"):  # TextFields: no limit of their own
            field = self.fields[name]
            assert isinstance(field, forms.CharField)
            field.max_length = LONG_TEXT_MAX
            field.validators.append(MaxLengthValidator(LONG_TEXT_MAX))
            field.widget.attrs["maxlength"] = str(LONG_TEXT_MAX)

    def request_fields(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in REQUEST_FIELDS}


class AttachForm(forms.Form):
    study = forms.IntegerField(widget=forms.HiddenInput)
    note = forms.CharField(
        required=False,
        max_length=1000,
        widget=forms.TextInput(attrs={"placeholder": _("Why this study (optional)")}),
    )


class TransitionForm(forms.Form):
    transition = forms.CharField(widget=forms.HiddenInput)
    version = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(
        required=False, max_length=NOTE_MAX, widget=forms.Textarea(attrs={"rows": 2})
    )
