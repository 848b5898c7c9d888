"""The API's error bodies, declared once so every operation documents what it can answer.

Three shapes reach a client (see ``offlabel.exceptions.api_exception_handler``):

* input that fails validation: DRF's ``{"<field>": ["message", ...]}``, nested for lists and
  objects (``{"lines": {"1": {"quantity": ["..."]}}}``), ``non_field_errors`` for the body;
* a business rule that refuses the action: ``{"detail": "...", "extra": {...}}``, and when the
  rule concerns one input field, that field too, by its path: ``{"lines[1].lot": ["..."],
  "detail": "...", "extra": {"field": "lines[1].lot"}}``;
* anything else (403, 404, 415): ``{"detail": "..."}``.

Not signed in is a 403 too, not a 401: session authentication comes first and sends no
``WWW-Authenticate`` challenge, so DRF answers 403 (a missing or unknown token included).

Operations declare their responses with :func:`responses`, e.g.
``@extend_schema(responses=responses(PatientSerializer, 400, 404, status=201))``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils.html import escape
from django.views import defaults
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer[Any]):
    detail = serializers.CharField(help_text="What went wrong, to show to the user as is.")


class RuleErrorSerializer(ErrorSerializer):
    extra = serializers.DictField(
        required=False,
        help_text="Machine-readable context: the current status and version on a conflict, "
        "unmet requirements, the field concerned.",
    )


class ValidationErrorSerializer(serializers.Serializer[Any]):
    """Every other key is the name of an input field with the list of its errors (nested
    objects for nested fields)."""

    detail = serializers.CharField(
        required=False,
        help_text="Set when a business rule refused the input, or it was not parseable.",
    )
    extra = serializers.DictField(required=False)
    non_field_errors = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Errors of the body as a whole."
    )


ERROR_RESPONSES: dict[int, OpenApiResponse] = {
    400: OpenApiResponse(
        ValidationErrorSerializer,
        description="Invalid input: each key names a field and lists its errors; a refused "
        "business rule answers with `detail` (and the field, when it concerns one).",
    ),
    403: OpenApiResponse(
        ErrorSerializer,
        description="Not signed in (no or an unknown token), or your role may not do this.",
    ),
    404: OpenApiResponse(
        ErrorSerializer,
        description="No such record among those you may see (or no such page, or an unknown "
        "`?format=`).",
    ),
    409: OpenApiResponse(
        RuleErrorSerializer,
        description="Somebody changed the record first, or it is already in the state asked "
        "for; `extra` holds the current status and version where they matter.",
    ),
    415: OpenApiResponse(
        ErrorSerializer,
        description="The body is not JSON (multipart data for an upload), or cannot be read as "
        "the type its Content-Type names.",
    ),
    503: OpenApiResponse(
        RuleErrorSerializer,
        description="The background task service is not reachable: nothing was queued or "
        "saved; try again after the `Retry-After` seconds.",
    ),
}


def responses(ok: Any, *errors: int, status: int = 200) -> dict[int, Any]:
    """The success response of an operation and the error responses it can answer with.

    403 and 404 always: every operation needs a signed-in user (most a role), and DRF answers
    any operation 404 for an unknown ``?format=``."""
    codes = sorted({*errors, 403, 404})
    return {status: ok, **{code: ERROR_RESPONSES[code] for code in codes}}


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The project's 404 handler: an API path no route matches (``/api/v1/requests/abc/``)
    answers in JSON like every other API error; pages keep Django's HTML page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The project's 400 handler, for what Django refuses before a view answers (a body over
    ``DATA_UPLOAD_MAX_MEMORY_SIZE``, too many fields): JSON on an API path, like every other API
    error; on a page, Django's page, saying which limit the form went past."""
    from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
    from django.utils.translation import gettext

    if isinstance(exception, RequestDataTooBig):
        detail = gettext("The request body is larger than %(limit)s KB.") % {
            "limit": settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1024
        }
    elif isinstance(exception, TooManyFieldsSent):
        detail = gettext("The request sends more than %(limit)s fields.") % {
            "limit": settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        }
    else:
        detail = gettext("Bad request.")
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": detail}, status=400)
    return HttpResponseBadRequest(
        f"<!doctype html><title>400</title><h1>{escape(gettext('Bad request'))}</h1>"
        f"<p>{escape(detail)}</p>"
    )
