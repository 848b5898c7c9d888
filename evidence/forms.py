from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from evidence.models import RegimenCode, SettingTag, Study
from evidence.services import EDITABLE_FIELDS


class StudyForm(forms.ModelForm[Study]):
    settings_tags = forms.MultipleChoiceField(
        choices=SettingTag.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Settings"),
    )
    regimen_codes = forms.MultipleChoiceField(
        choices=RegimenCode.choices,
        required=True,
        widget=forms.CheckboxSelectMultiple,
        label=_("Regimens"),
    )

    class Meta:
        model = Study
        fields = list(EDITABLE_FIELDS)
        widgets = {
            "interventions_text": forms.Textarea(attrs={"rows": 2}),
            "efficacy_text": forms.Textarea(attrs={"rows": 3}),
            "safety_text": forms.Textarea(attrs={"rows": 3}),
            "source_passage": forms.Textarea(attrs={"rows": 4}),
            "orr_note": forms.Textarea(attrs={"rows": 2}),
            "notes": forms.Textarea(attrs={"rows": 2}),
        }
        help_texts = {
            "citation": _("Required: DOI, PMID or full reference. Every figure must trace to it."),
            "source_passage": _("Paste the passage (abstract or results) the figures come from."),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["citation"].required = True
        if self.instance.pk:
            self.initial["settings_tags"] = list(
                self.instance.settings.values_list("tag", flat=True)
            )
            self.initial["regimen_codes"] = list(
                self.instance.regimens.values_list("code", flat=True)
            )

    def model_fields(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in EDITABLE_FIELDS}
