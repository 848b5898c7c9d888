"""Calling the API in process through its own OpenAPI schema, with schemathesis.

Shared by the schemathesis run over every operation (tests/test_api_schemathesis.py) and the
focused regression tests that check one response against the schema."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

# No 5xx; the status code, content type, headers and body are the ones the schema documents.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# The token is sent by the tests; schemathesis must not make up Authorization headers.
CONFIG = schemathesis.Config.from_dict({"generation": {"with-security-parameters": False}})


def rolled_back(app: Callable[..., Iterable[bytes]]) -> Callable[..., list[bytes]]:
    """Each call in a savepoint rolled back afterwards, so no call changes what the next one
    meets. The body is read and closed inside it (closing sends request_finished)."""

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with transaction.atomic():
            body = app(environ, start_response)
            try:
                return list(body)
            finally:
                getattr(body, "close", lambda: None)()
                transaction.set_rollback(True)

    return wsgi


@contextmanager
def in_process_requests() -> Iterator[None]:
    """As Django's test client does: the request signals must not close the test's database
    connection (it holds the test's transaction, and the seeded rows)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def api_schema_load(headers: dict[str, str]) -> Any:
    """The schema as /api/schema/ serves it to a signed-in caller (``headers`` carry a token;
    it answers nobody else), bound to the WSGI application for the calls."""
    return schemathesis.openapi.from_wsgi(
        "/api/schema/", rolled_back(get_wsgi_application()), config=CONFIG, headers=headers
    )


def token_header(user: Any) -> dict[str, str]:
    """A fresh API token (django-rest-knox keeps only its hash, so it cannot be looked up)."""
    from knox.models import AuthToken

    _instance, token = AuthToken.objects.create(user=user)
    return {"Authorization": f"Token {token}"}
