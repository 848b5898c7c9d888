from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """What views receive once django-htmx's middleware has run (for type checking)."""

    htmx: HtmxDetails
