"""The context of a request-page panel: each app renders its own panel with an inclusion tag
(``consent_request_panel``, ``pharmacy_request_panel``, ``regulatory_request_panel``,
``followup_panel``), and an inclusion tag's context starts empty, without the page's values or
the context processors'."""

from __future__ import annotations

from typing import Any

from django import template

# What the panels' forms, links and role tests read from the page.
PAGE_KEYS = ("user", "request", "csrf_token", "perms")


def panel_context(context: template.Context, offlabel: Any, data: dict[str, Any]) -> dict[str, Any]:
    """The selector's ``data``, the request as ``offlabel``, the page's ``PAGE_KEYS`` and the
    user's roles (``accounts.context_processors.roles``)."""
    return {
        **data,
        "offlabel": offlabel,
        **{key: context.get(key) for key in PAGE_KEYS},
        "user_roles": context.get("user_roles", []),
    }
