"""``{% load offlabel_i18n %}``: data in the reader's language, on every page.

The filters and tags that know no app live in the platform
(``offlabel.templatetags.offlabel_i18n``: ``tr``, ``pathway_name``, ``money``, ``money_unit``,
``quote``, ``source_marked``, ``css_string``) and are offered here as they are. Those that read
an app's choices or data are here, in the top layer, which may import every app (the platform
imports none):

- ``{{ code|label:"design" }}``: the reader's label of a stored code (a snapshot keeps codes,
  never the words of the day), so no page shows ``retrospective`` or ``strong_cyp3a_inhibitor``.
- ``{% partner_word regimen "drug" %}``: a partner drug's name or route from the label rules.
- ``{{ text|indication }}``: the product's default indication in the reader's language.

The settings' ``libraries`` entry names this module, so every template's
``{% load offlabel_i18n %}`` gets both halves.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext

from evidence.models import Design
from offlabel.i18n import localized
from offlabel.templatetags import offlabel_i18n as platform
from pharmacy.rules import label_rules_current
from prescriptions.models import Gene, Interaction, OffLabelRequest, PatientMutation, YesNoUnknown
from regulatory.models import Body

register = template.Library()
# The platform's filters and tags, under the same names.
register.filters.update(platform.register.filters)
register.tags.update(platform.register.tags)


def _choices() -> dict[str, dict[str, Any]]:
    return {
        "design": dict(Design.choices),
        "interaction": dict(Interaction.choices),
        "gene": dict(Gene.choices),
        "mutation_status": dict(PatientMutation.Status.choices),
        "yes_no": dict(YesNoUnknown.choices),
        "body": dict(Body.choices),
    }


@register.filter
def label(code: Any, kind: str) -> str:
    """The label of ``code`` among the ``kind`` choices; an unknown code is shown as it is."""
    if code is None or code == "":
        return ""
    return str(_choices().get(kind, {}).get(code, code))


@register.simple_tag
def partner_word(regimen: str, field: str) -> str:
    """A partner drug's ``drug`` or ``route`` for ``regimen`` from the current label rules, in
    the reader's language (the plan keeps the English)."""
    node = label_rules_current().data["partners"].get(regimen)
    return localized(node, field) if node else ""


@register.filter
def indication(text: str) -> str:
    """A request's indication in the reader's language when it is the product's own default
    (stored in English); an indication a person typed is shown as typed."""
    default = OffLabelRequest._meta.get_field("indication").get_default()
    return gettext("Relapsed/refractory acute myeloid leukaemia") if text == default else text
