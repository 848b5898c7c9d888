"""Request bodies the API reads: JSON within a size and a depth, and, only where a file is
uploaded, flat multipart forms.

* A JSON body larger than ``API_MAX_JSON_BYTES`` (1 MB) is refused before it is parsed, and one
  nested deeper than ``API_MAX_JSON_DEPTH`` (20) after: both a 400 ``{"detail": ...}``. A
  2 MB rationale made a dossier take over a minute; ``[[[[...`` ten thousand deep made Python's
  parser raise ``RecursionError``, a 500.
* The API's write endpoints read JSON only (``DEFAULT_PARSER_CLASSES``). A form cannot express
  nested fields (``medications[0]drug_name``, ``mutations.FLT3``): DRF used to drop the keys it
  could not map and answer 200, as if the change had been made. A form body now gets a 415.
* An upload endpoint takes ``FlatMultiPartParser``: its keys are plain names (no ``[`` or
  ``.``), and when the view lists ``multipart_fields`` any other key is a 400 naming it.
* Django's own limits (``DATA_UPLOAD_MAX_MEMORY_SIZE``, ``DATA_UPLOAD_MAX_NUMBER_FIELDS``)
  raise ``RequestDataTooBig``/``TooManyFieldsSent``, which DRF does not turn into a response
  (a 500, or Django's HTML 400 page): here they are a 400 in JSON like every API error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.utils.translation import gettext
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.utils import json

NESTED_KEY = re.compile(r"[\[\].]")

# How long free text may be, in characters, on every form and serializer that takes it: a
# rationale or a summary fits on a page; a note fits in a paragraph. A 2 MB rationale made a
# dossier take over a minute to render.
LONG_TEXT_MAX = 5000  # clinical rationale, lay summary, renewal conclusion
NOTE_MAX = 2000  # notes, descriptions, reasons
NAME_MAX = 200  # names, short labels


def _encoding(context: Mapping[str, Any]) -> str:
    """The body's charset; only text codecs (a ``bz2_codec`` body would inflate after the
    size check), as DRF's own parsers do."""
    encoding = str(context.get("encoding") or settings.DEFAULT_CHARSET)
    try:
        "".encode(encoding)
    except (LookupError, UnicodeError):
        raise ParseError(
            gettext("Unsupported charset %(charset)s.") % {"charset": repr(encoding)}
        ) from None
    return encoding


def max_json_bytes() -> int:
    return int(getattr(settings, "API_MAX_JSON_BYTES", 1024 * 1024))


def max_json_depth() -> int:
    return int(getattr(settings, "API_MAX_JSON_DEPTH", 20))


def _depth(value: Any) -> int:
    """How deeply arrays and objects nest in ``value`` (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


class LimitedJSONParser(JSONParser):
    """DRF's JSON parser, refusing a body over ``API_MAX_JSON_BYTES`` or nested deeper than
    ``API_MAX_JSON_DEPTH``."""

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        encoding = _encoding(parser_context or {})
        limit = max_json_bytes()
        try:
            body = stream.read(limit + 1) if stream is not None else b""
        except RequestDataTooBig:
            body = b"x" * (limit + 1)
        if len(body) > limit:
            raise ParseError(
                gettext("The request body is larger than %(limit)s KB.") % {"limit": limit // 1024}
            )
        try:
            text = body.decode(encoding)
            parse_constant = json.strict_constant if self.strict else None
            data = json.loads(text, parse_constant=parse_constant)
        except RecursionError:
            data = None
            depth = max_json_depth() + 1
        except ValueError as exc:
            raise ParseError(gettext("JSON parse error - %(error)s") % {"error": exc}) from None
        else:
            depth = _depth(data)
        if depth > max_json_depth():
            raise ParseError(
                gettext("The JSON body nests deeper than %(limit)s levels.")
                % {"limit": max_json_depth()}
            )
        return data


class FlatMultiPartParser(MultiPartParser):
    """Multipart forms for file uploads: flat keys only, and only the view's
    ``multipart_fields`` when it names them."""

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        try:
            parsed = super().parse(stream, media_type, parser_context)
        except (RequestDataTooBig, TooManyFieldsSent) as exc:
            raise ParseError(str(exc)) from None
        view = (parser_context or {}).get("view")
        allowed = getattr(view, "multipart_fields", None)
        keys = [*parsed.data.keys(), *parsed.files.keys()]
        for key in keys:
            if NESTED_KEY.search(key) or (allowed is not None and key not in allowed):
                raise ParseError(
                    gettext("%(key)s is not a field of this form: send %(fields)s.")
                    % {
                        "key": repr(key),
                        "fields": ", ".join(sorted(allowed)) if allowed else gettext("plain names"),
                    }
                )
        return parsed
