from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from audit.context import current_ip
from offlabel.middleware import client_ip_address


class RequestContextMiddleware:
    """Remember the client IP for the duration of the request (read by ``audit_record``).

    The address is the one django-axes counts sign-in failures by: X-Forwarded-For is read
    only from the configured trusted proxies (``DJANGO_TRUSTED_PROXY_COUNT``).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = current_ip.set(client_ip_address(request))
        try:
            return self.get_response(request)
        finally:
            current_ip.reset(token)
