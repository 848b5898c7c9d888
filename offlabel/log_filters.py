"""Filters of the logging configuration (``settings.LOGGING``)."""

from __future__ import annotations

import logging


class ForbiddenWithoutTraceback(logging.Filter):
    """A refusal (403) is a line, not a traceback: Django logs every ``PermissionDenied`` with
    the stack of the decorator that raised it, which says nothing an operator needs and buries
    the errors that matter. The path and the status stay; 5xx keep their traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
        return True
