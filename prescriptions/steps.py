"""The steps of the request form, in order: the request's own pages and the pathway step (which
the regulatory app serves) show them alike, so they are named once, outside any view module."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

STEPS = [
    ("patient", gettext_lazy("Patient")),
    ("regimen", gettext_lazy("Regimen")),
    ("evidence", gettext_lazy("Evidence")),
    ("pathway", gettext_lazy("Pathway")),
    ("review", gettext_lazy("Review and submit")),
]
