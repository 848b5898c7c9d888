from __future__ import annotations

from decimal import Decimal

from django import forms

from pharmacy.models import Payer, TlsPrecautions

STRENGTH_CHOICES = [("100", "100 mg"), ("50", "50 mg"), ("10", "10 mg")]


class OverrideForm(forms.Form):
    fingerprint = forms.CharField(widget=forms.HiddenInput, max_length=64)
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        min_length=10,
        help_text="The clinical reason to go ahead despite this finding (recorded and audited).",
    )


class TlsForm(forms.ModelForm[TlsPrecautions]):
    class Meta:
        model = TlsPrecautions
        fields = [
            "first_dose_at",
            "hydration",
            "antihyperuricaemic",
            "chemistry_corrected",
            "risk_note",
        ]
        widgets = {
            "first_dose_at": forms.DateTimeInput(
                attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"
            ),
            "risk_note": forms.Textarea(attrs={"rows": 2}),
        }


class DispenseForm(forms.Form):
    cycle = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    payer = forms.ChoiceField(choices=Payer.choices)
    note = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required when the quantities differ from the computed plan.",
    )


class DispenseLineForm(forms.Form):
    strength_mg = forms.TypedChoiceField(choices=STRENGTH_CHOICES, coerce=Decimal)
    quantity = forms.IntegerField(min_value=1)
    lot = forms.CharField(max_length=40)
    expiry = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))


DispenseLineFormSet = forms.formset_factory(DispenseLineForm, extra=0, min_num=1, max_num=6)


class PriceForm(forms.Form):
    strength_mg = forms.TypedChoiceField(choices=STRENGTH_CHOICES, coerce=Decimal)
    price_per_unit = forms.DecimalField(
        label="Price per tablet", max_digits=10, decimal_places=4, min_value=Decimal("0.0001")
    )
    currency = forms.CharField(max_length=3, initial="EUR")
    source = forms.CharField(
        max_length=300, help_text="Tender, invoice or price list the figure comes from."
    )
    valid_from = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
