"""The consent panel on the request page, loaded by its own tag so the request view needs no
consent code."""

from __future__ import annotations

from typing import Any

from django import template

from consent.selectors import consent_panel_context
from offlabel.panels import panel_context
from prescriptions.models import OffLabelRequest

register = template.Library()


@register.inclusion_tag("consent/_panel.html", takes_context=True)
def consent_request_panel(context: template.Context, offlabel: OffLabelRequest) -> dict[str, Any]:
    return panel_context(context, offlabel, consent_panel_context(offlabel))
