from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from audit.context import current_ip


class RequestContextMiddleware:
    """Remember the client IP for the duration of the request (read by ``audit_record``).

    REMOTE_ADDR is the peer; behind the hospital proxy gunicorn is given --forwarded-allow-ips
    so it is the real client.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = current_ip.set(request.META.get("REMOTE_ADDR") or None)
        try:
            return self.get_response(request)
        finally:
            current_ip.reset(token)
