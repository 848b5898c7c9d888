"""What the API's serializers share."""

from __future__ import annotations

import copy
from typing import Any

from rest_framework.fields import Field


class FieldsOnceMixin:
    """Introspect the model once per serializer class, not once per call.

    DRF's ``ModelSerializer.get_fields()`` maps every model field to a serializer field on each
    request (0.7 ms of the request list API in ``make bench``); this keeps the first result,
    unbound, and hands out deep copies, which is what DRF itself does with declared fields.
    Only for serializers whose fields do not depend on the request or the context."""

    _fields_once: dict[str, Field[Any, Any, Any, Any]]

    def get_fields(self) -> dict[str, Field[Any, Any, Any, Any]]:
        cls = type(self)
        if "_fields_once" not in cls.__dict__:
            cls._fields_once = super().get_fields()  # type: ignore[misc]
        return copy.deepcopy(cls._fields_once)
