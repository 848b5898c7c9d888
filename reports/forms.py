from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Department, Hospital, User
from accounts.roles import Role
from audit.actions import AuditAction, audit_action_families
from prescriptions.models import OffLabelRequest
from regulatory.models import Pathway
from reports.selectors import ReportFilters
from reports.tables import pathway_names


class ReportFilterForm(forms.Form):
    date_from = forms.DateField(
        label=_("Created from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("Created until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    department = forms.ModelChoiceField(
        label=_("Department"), queryset=Department.objects.none(), required=False
    )
    physician = forms.ModelChoiceField(
        label=_("Physician"), queryset=User.objects.none(), required=False
    )
    pathway = forms.ChoiceField(label=_("Pathway"), required=False)
    state = forms.ChoiceField(
        label=_("State"),
        required=False,
        choices=[("", _("All states")), *OffLabelRequest.Status.choices],
    )

    def __init__(self, *args: Any, hospital: Hospital, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        department = self.fields["department"]
        physician = self.fields["physician"]
        assert isinstance(department, forms.ModelChoiceField)
        assert isinstance(physician, forms.ModelChoiceField)
        department.queryset = Department.objects.filter(hospital=hospital).order_by("name")
        physician.queryset = User.objects.filter(
            hospital=hospital, groups__name=Role.PHYSICIAN
        ).order_by("last_name", "username")
        names = pathway_names()  # by the reader's name, never the code
        self.fields["pathway"].choices = [  # type: ignore[attr-defined]
            ("", _("All pathways")),
            *(
                (code, names.get(code, code))
                for code in Pathway.objects.order_by("jurisdiction__code", "order").values_list(
                    "code", flat=True
                )
            ),
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", _("The end of the period is before its start."))
        return data

    def filters(self) -> ReportFilters:
        data = self.cleaned_data
        return ReportFilters(
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            department_id=data["department"].pk if data.get("department") else None,
            physician_id=data["physician"].pk if data.get("physician") else None,
            pathway=data.get("pathway") or "",
            state=data.get("state") or "",
        )


FAMILY_SUFFIX = ".*"


def audit_action_choices() -> list[tuple[str, Any]]:
    """Every ``AuditAction``, grouped by family: first the family itself ("request.*", every
    action of the family), then each action. Shown as codes, as the audit table shows them."""
    return [
        ("", _("All actions")),
        *(
            (
                family,
                [
                    (family + FAMILY_SUFFIX, family + FAMILY_SUFFIX),
                    *((action.value, action.value) for action in actions),
                ],
            )
            for family, actions in audit_action_families().items()
        ),
    ]


def audit_action_q(value: str) -> Q:
    """The events a cleaned ``action`` choice selects: one action exactly, or a family (its
    code alone or followed by a dot, as the prefix filter before the list matched them)."""
    if value.endswith(FAMILY_SUFFIX):
        family = value.removesuffix(FAMILY_SUFFIX)
        return Q(action=family) | Q(action__startswith=family + ".")
    return Q(action=value)


class CodeSelect(forms.Select):
    """A select whose options are codes: English identifiers, never translated, so each says
    so (``lang="en"``), as the summaries of the audit table do. "All actions" is not one."""

    def create_option(
        self,
        name: str,
        value: Any,
        label: Any,
        selected: Any,
        index: int,
        subindex: int | None = None,
        attrs: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        option: dict[str, Any] = super().create_option(
            name, value, label, selected, index, subindex, attrs
        )
        if value:
            option["attrs"]["lang"] = "en"
        return option


class AuditActionField(forms.ChoiceField):
    """The action filter. Links written before it was a list still work: ``request.approve``
    is that action; ``request`` or ``request.`` (the old prefix) is the family."""

    def to_python(self, value: Any) -> str:
        code = super().to_python(value).strip()
        if code in AuditAction.values:
            return code
        family = code.removesuffix(FAMILY_SUFFIX).removesuffix(".")
        if family in audit_action_families():
            return family + FAMILY_SUFFIX
        return code

    def bound_data(self, data: Any, initial: Any) -> Any:
        # The select shows what is filtered: an old "request" link selects "request.*".
        return self.to_python(data)


class AuditFilterForm(forms.Form):
    q = forms.CharField(label=_("Search summary"), required=False, max_length=100)
    actor = forms.CharField(label=_("Who (username)"), required=False, max_length=150)
    action = AuditActionField(
        label=_("Action"), required=False, choices=audit_action_choices, widget=CodeSelect
    )
    reference = forms.CharField(
        label=_("Request"), required=False, max_length=12, help_text=_("e.g. OL-000042")
    )
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean_reference(self) -> int | None:
        value = (self.cleaned_data.get("reference") or "").strip().upper()
        if not value:
            return None
        digits = value.removeprefix("OL-")
        if not (digits.isascii() and digits.isdigit()):
            raise forms.ValidationError(_("Write the request reference as OL-000042."))
        return int(digits)
