from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from prescriptions.models import DrugPrice


@admin.register(DrugPrice)
class DrugPriceAdmin(admin.ModelAdmin[DrugPrice]):
    """Purchase prices used for the dossier cost estimate, each with its source."""

    list_display = [
        "drug",
        "strength_mg",
        "price_per_unit",
        "currency",
        "source",
        "valid_from",
        "hospital",
    ]
    list_filter = ["hospital", "drug"]
    exclude = ["entered_by"]

    def save_model(self, request: HttpRequest, obj: DrugPrice, form: Any, change: bool) -> None:
        if not change:
            obj.entered_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)
