"""The follow-up panel on the request page, loaded by its own tag so the request view needs no
follow-up code."""

from __future__ import annotations

from typing import Any

from django import template

from followup.views import followup_panel_context
from offlabel.panels import panel_context
from prescriptions.models import OffLabelRequest

register = template.Library()


@register.inclusion_tag("followup/_panel.html", takes_context=True)
def followup_panel(context: template.Context, offlabel: OffLabelRequest) -> dict[str, Any]:
    return panel_context(context, offlabel, followup_panel_context(offlabel, context.get("user")))
