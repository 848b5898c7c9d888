"""One application error, turned into a 400 by one DRF handler (HackSoft styleguide)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler


class ApplicationError(Exception):
    """A business rule refused the action; ``message`` is shown to the user as is."""

    def __init__(self, message: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class ConflictError(ApplicationError):
    """Somebody else changed the record first."""


class NotVisible(ApplicationError):
    """The record does not exist for this user (another hospital's, or not theirs): a 404."""


class ServiceUnavailable(ApplicationError):
    """A service the action needs (the task queue) is down: a 503 with ``Retry-After``
    (``extra["retry_after"]`` seconds); nothing was saved."""


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        exc = drf_exceptions.ValidationError(as_serializer_error(exc))
    if isinstance(exc, PermissionDenied):
        exc = drf_exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, drf_exceptions.PermissionDenied):
        from offlabel.hospital_records import names_record_of_another_hospital

        # Another hospital's record is refused as one that does not exist (issue 15).
        if names_record_of_another_hospital(context.get("request")):
            return Response({"detail": "Not found."}, status=404)
    if isinstance(exc, NotVisible):
        return Response({"detail": "Not found."}, status=404)
    if isinstance(exc, ConflictError):
        return Response(_rule_error_body(exc), status=409)
    if isinstance(exc, ServiceUnavailable):
        retry_after = str(exc.extra.get("retry_after", 60))
        return Response(_rule_error_body(exc), status=503, headers={"Retry-After": retry_after})
    if isinstance(exc, ApplicationError):
        return Response(_rule_error_body(exc), status=400)
    return exception_handler(exc, context)


def _rule_error_body(exc: ApplicationError) -> dict[str, Any]:
    """``detail`` and ``extra``; a rule about input fields also names them the way DRF's
    validation errors do (``{"<field>": ["message"]}``), so a client shows both the same way."""
    body: dict[str, Any] = {}
    if isinstance(exc.extra.get("field"), str):
        body[exc.extra["field"]] = [exc.message]
    fields = exc.extra.get("fields")
    if isinstance(fields, dict):
        body.update({str(k): v if isinstance(v, list) else [v] for k, v in fields.items()})
    body.pop("detail", None)
    body.pop("extra", None)
    return {**body, "detail": exc.message, "extra": exc.extra}
