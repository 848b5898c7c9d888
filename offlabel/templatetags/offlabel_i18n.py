"""Showing data in the reader's language: the filters that know no app.

``{% load offlabel_i18n %}`` loads ``reports.templatetags.offlabel_i18n`` (the settings'
``libraries`` entry): these filters and tags, plus those that read an app's choices or data
(``label``, ``partner_word``, ``indication``). The platform imports no app, so those live in the
top layer, which may import every app.

- ``{{ version|tr:"name" }}``: a data item's field in the reader's language, English when it has
  no translation (``offlabel.i18n.localized``): pathway versions, checklist items, deadline
  rules, criteria and checklist templates from the rules data file.
- ``{{ amount|money:currency }}``: money in the reader's locale ("€ 4.961,55", "€4,961.55");
  ``money_unit`` keeps a unit price's four decimals.
- ``{% quote text %}``: a verbatim quote of the law or the label, in its own language
  (``<q lang="en">``), which is never translated.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django import template
from django.core.exceptions import ObjectDoesNotExist
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from offlabel.i18n import localized, money_format

register = template.Library()


@register.filter
def tr(source: Any, field: str) -> str:
    if source is None or source == "":
        return ""
    return localized(source, field)


@register.filter
def pathway_name(request: Any) -> str:
    """The request's pathway in the reader's language: the chosen version's name, else the
    text stored on the request (an older free-text pathway), else a dash."""
    try:
        choice = request.pathway_choice
    except ObjectDoesNotExist:
        choice = None
    if choice is not None:
        return localized(choice.pathway_version, "name")
    return request.pathway or "—"


@register.filter
def money(amount: Decimal | float | int | None, currency: str = "EUR") -> str:
    return money_format(amount, currency or "")


@register.filter
def money_unit(amount: Decimal | float | int | None, currency: str = "EUR") -> str:
    return money_format(amount, currency or "", places=None)


@register.simple_tag
def quote(text: str, language: str = "en") -> SafeString:
    if not text:
        return format_html("")
    return format_html('<q lang="{}">{}</q>', language, text)


def _study_source_texts(study: Any) -> list[str]:
    """The study's own words as the review gives them (English): its outcomes' populations and
    wordings, its mutation findings, its regimens. Read from the prefetched rows."""
    texts: list[str] = []
    for outcome in study.outcomes.all():
        texts += [outcome.population, outcome.wording, outcome.label]
    for finding in study.mutation_findings.all():
        texts += [finding.wording, finding.effect]
    for regimen in study.regimens.all():
        texts.append(regimen.text)
    return sorted({t.strip() for t in texts if t and len(t.strip()) >= 4}, key=len, reverse=True)


@register.filter
def source_marked(reason: Any, study: Any) -> SafeString:
    """A ranking reason in the reader's language with the study's own English words in it (a
    subgroup as the study names it, a quotation) marked ``lang="en"``: quoted, not translated."""
    text = str(reason)
    spans = _study_source_texts(study)
    if not spans:
        return format_html("{}", text)
    pattern = re.compile("|".join(re.escape(s) for s in spans))
    parts: list[SafeString] = []
    last = 0
    for m in pattern.finditer(text):
        parts.append(format_html("{}", text[last : m.start()]))
        parts.append(format_html('<span lang="en">{}</span>', m.group(0)))
        last = m.end()
    parts.append(format_html("{}", text[last:]))
    return format_html_join("", "{}", ((p,) for p in parts))


@register.filter
def css_string(text: Any) -> SafeString:
    """``text`` for a CSS string in double quotes (a PDF's running footer): backslashes, quotes,
    line breaks and ``<`` escaped the CSS way. ``escapejs`` gives JavaScript escapes
    (``\\u002D``), which CSS prints as they are."""
    escaped = (
        str(text)
        .replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\A ")
        .replace("<", "\\3C ")
        .replace(">", "\\3E ")
    )
    return SafeString(escaped)
