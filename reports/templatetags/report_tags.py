import base64
from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key, "")


@register.filter
def svg_img(svg: str, alt: str = "") -> SafeString:
    """An SVG chart as an <img> with a data: URI. Its own styles stay inside the image, so the
    page's Content Security Policy needs no 'unsafe-inline' for them."""
    if not svg:
        return mark_safe("")
    encoded = base64.b64encode(svg.encode()).decode()
    return format_html('<img src="data:image/svg+xml;base64,{}" alt="{}">', encoded, alt)
