"""The pharmacy panel on the request page, loaded by its own tag so the request view needs no
pharmacy code."""

from __future__ import annotations

from typing import Any

from django import template

from offlabel.panels import panel_context
from pharmacy.selectors import pharmacy_panel_context
from prescriptions.models import OffLabelRequest

register = template.Library()


@register.inclusion_tag("pharmacy/_request_panel.html", takes_context=True)
def pharmacy_request_panel(context: template.Context, offlabel: OffLabelRequest) -> dict[str, Any]:
    return panel_context(context, offlabel, pharmacy_panel_context(offlabel))
