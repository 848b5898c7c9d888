"""Date helpers shared by the apps: the hospital's day boundaries, and the one rule that a date
which records something that has happened (a birth, a transplant, a diagnosis, a laboratory
result) cannot be in the future."""

from __future__ import annotations

from datetime import date, datetime, time

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

FUTURE_DATE_MESSAGE = _("This date is in the future.")


def local_midnight(day: date) -> datetime:
    """The start of ``day`` in the hospital's time zone: the lower bound of a day filter."""
    return timezone.make_aware(datetime.combine(day, time.min))


def date_is_future(value: date | None) -> bool:
    """After today in the hospital's time zone (a date typed at 23:30 is not tomorrow)."""
    return value is not None and value > timezone.localdate()


def date_not_in_future(value: date | None) -> None:
    """A validator for dates of things that have happened: on the model field it also holds in
    every ModelForm and ModelSerializer built from it, so the page and the API refuse alike."""
    if date_is_future(value):
        raise ValidationError(FUTURE_DATE_MESSAGE, code="future_date")


def age_on(born: date, on: date | None = None) -> int:
    """Completed years on ``on`` (default: today), as a person counts their age."""
    on = on or timezone.localdate()
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))
