"""Date helpers shared by the apps."""

from __future__ import annotations

from datetime import date, datetime, time

from django.utils import timezone


def local_midnight(day: date) -> datetime:
    """The start of ``day`` in the hospital's time zone: the lower bound of a day filter."""
    return timezone.make_aware(datetime.combine(day, time.min))
