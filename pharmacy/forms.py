from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from pharmacy.models import Payer, TlsPrecautions

STRENGTH_CHOICES = [("100", "100 mg"), ("50", "50 mg"), ("10", "10 mg")]


# Browsers' date inputs send and expect ISO dates, whatever the interface language.
def date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class OverrideForm(forms.Form):
    fingerprint = forms.CharField(widget=forms.HiddenInput, max_length=64)
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 2}),
        min_length=10,
        help_text=_("The clinical reason to go ahead despite this finding (recorded and audited)."),
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
    payer = forms.ChoiceField(label=_("Payer"), choices=Payer.choices)
    note = forms.CharField(
        label=_("Note"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_(
            "Required for a partial supply (less than the plan). More than the plan is refused."
        ),
    )


class DispenseLineForm(forms.Form):
    strength_mg = forms.TypedChoiceField(
        label=_("Strength"), choices=STRENGTH_CHOICES, coerce=Decimal
    )
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1)
    lot = forms.CharField(label=_("Lot"), max_length=40)
    expiry = forms.DateField(label=_("Expiry"), widget=date_input())


DispenseLineFormSet = forms.formset_factory(DispenseLineForm, extra=0, min_num=1, max_num=6)


class PriceForm(forms.Form):
    strength_mg = forms.TypedChoiceField(
        label=_("Strength"), choices=STRENGTH_CHOICES, coerce=Decimal
    )
    price_per_unit = forms.DecimalField(
        label=_("Price per tablet"), max_digits=10, decimal_places=4, min_value=Decimal("0.0001")
    )
    currency = forms.CharField(label=_("Currency"), max_length=3, initial="EUR")
    source = forms.CharField(
        label=_("Source"),
        max_length=300,
        help_text=_("Tender, invoice or price list the figure comes from."),
    )
    valid_from = forms.DateField(label=_("Valid from"), widget=date_input())
