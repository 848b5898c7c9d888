"""The current request's client IP, so services can stamp audit events without views passing it."""

from __future__ import annotations

from contextvars import ContextVar

current_ip: ContextVar[str | None] = ContextVar("current_ip", default=None)
