"""The sign-in page's provider button: shown only while single sign-on is on."""

from __future__ import annotations

from django import template
from django.conf import settings

register = template.Library()


@register.simple_tag
def oidc_sign_in() -> dict[str, object]:
    """``{% oidc_sign_in as sso %}``: ``sso.enabled`` and ``sso.provider_name``."""
    return {
        "enabled": bool(getattr(settings, "OFFLABEL_OIDC_ENABLED", False)),
        "provider_name": getattr(settings, "OFFLABEL_OIDC_PROVIDER_NAME", ""),
    }
