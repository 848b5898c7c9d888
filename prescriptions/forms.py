from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from prescriptions.models import (
    ConcomitantMedication,
    Gene,
    Interaction,
    OffLabelRequest,
    Patient,
    PatientIdentity,
    PatientMutation,
)
from prescriptions.profile import PROFILE_FIELDS
from prescriptions.services import REQUEST_FIELDS

# Common interacting drugs, so the pharmacist's check starts from a classification (VEN USPI
# section 7 / SmPC 4.5 classes; the dose checks of a later feature hold the sourced table).
KNOWN_INTERACTIONS = {
    "posaconazole": Interaction.STRONG_CYP3A_INHIBITOR,
    "voriconazole": Interaction.STRONG_CYP3A_INHIBITOR,
    "itraconazole": Interaction.STRONG_CYP3A_INHIBITOR,
    "ketoconazole": Interaction.STRONG_CYP3A_INHIBITOR,
    "clarithromycin": Interaction.STRONG_CYP3A_INHIBITOR,
    "fluconazole": Interaction.MODERATE_CYP3A_INHIBITOR,
    "isavuconazole": Interaction.MODERATE_CYP3A_INHIBITOR,
    "erythromycin": Interaction.MODERATE_CYP3A_INHIBITOR,
    "ciprofloxacin": Interaction.MODERATE_CYP3A_INHIBITOR,
    "diltiazem": Interaction.MODERATE_CYP3A_INHIBITOR,
    "verapamil": Interaction.MODERATE_CYP3A_INHIBITOR,
    "amiodarone": Interaction.PGP_INHIBITOR,
    "carvedilol": Interaction.PGP_INHIBITOR,
    "ciclosporin": Interaction.PGP_INHIBITOR,
    "ranolazine": Interaction.PGP_INHIBITOR,
    "rifampicin": Interaction.STRONG_CYP3A_INDUCER,
    "carbamazepine": Interaction.STRONG_CYP3A_INDUCER,
    "phenytoin": Interaction.STRONG_CYP3A_INDUCER,
    "st john's wort": Interaction.STRONG_CYP3A_INDUCER,
}
MEDICATION_ROWS = 6

_ORDERED_PROFILE = list(PROFILE_FIELDS)


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
                label=_("Dose"), required=False, initial=med.dose_text if med else ""
            )

    @property
    def profile_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in _ORDERED_PROFILE]

    @property
    def mutation_fields(self) -> list[forms.BoundField]:
        return [self[f"mut_{gene.value}"] for gene in Gene]

    @property
    def medication_rows(self) -> list[list[forms.BoundField]]:
        return [
            [self[f"med_{i}_{part}"] for part in ("name", "interaction", "dose")]
            for i in range(MEDICATION_ROWS)
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for i in range(MEDICATION_ROWS):
            name = (data.get(f"med_{i}_name") or "").strip()
            known = KNOWN_INTERACTIONS.get(name.lower())
            if name and known and data.get(f"med_{i}_interaction") in ("", Interaction.UNKNOWN):
                data[f"med_{i}_interaction"] = known  # fill the class the label gives
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
                    }
                )
        return rows


class IdentityForm(forms.ModelForm[PatientIdentity]):
    class Meta:
        model = PatientIdentity
        fields = ["given_name", "family_name", "date_of_birth", "national_id"]
        widgets = {"date_of_birth": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}


class RegimenForm(forms.ModelForm[OffLabelRequest]):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = OffLabelRequest
        fields = list(REQUEST_FIELDS)
        widgets = {"clinical_rationale": forms.Textarea(attrs={"rows": 5})}

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
    reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
