from collections.abc import Callable

from django.db import connection
from django.db.utils import DatabaseError
from django.http import HttpRequest, HttpResponse


class HealthCheckMiddleware:
    """Answers ``/healthz`` before host validation and the HTTPS redirect.

    The container health check calls it as http://127.0.0.1:8000/healthz, which is neither an
    allowed host nor HTTPS; everything else still goes through the full stack.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path != "/healthz":
            return self.get_response(request)
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except DatabaseError:
            return HttpResponse("database unavailable", status=503, content_type="text/plain")
        return HttpResponse("ok", content_type="text/plain")
