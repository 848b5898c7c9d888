"""The pathway panels on the request page (checklist, dossiers, outside applications), loaded by
their own tag so the request view needs no regulatory code. The selector gives the data; the
forms are built here."""

from __future__ import annotations

from typing import Any

from django import template

from offlabel.panels import panel_context
from prescriptions.models import OffLabelRequest
from regulatory.forms import application_panel_forms
from regulatory.selectors import regulatory_panels

register = template.Library()


@register.inclusion_tag("regulatory/_request_panels.html", takes_context=True)
def regulatory_request_panel(
    context: template.Context, offlabel: OffLabelRequest
) -> dict[str, Any]:
    panels = regulatory_panels(offlabel)
    return panel_context(
        context,
        offlabel,
        {**panels, **application_panel_forms(panels["choice"], panels["renewable"])},
    )
