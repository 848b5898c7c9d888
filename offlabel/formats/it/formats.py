"""Italian: Django's formats (25/10/2024, 25/10/2024 14:30), except that a date rendered into a
form field is ISO. Browsers' date inputs need ISO values, and a form without an explicit
widget format would otherwise render 25/10/2024 into one and show it empty. Typed Italian
dates (25/10/2024) are still accepted."""

from django.conf.locale.it.formats import DATE_INPUT_FORMATS as _DATE_INPUT
from django.conf.locale.it.formats import DATETIME_INPUT_FORMATS as _DATETIME_INPUT

DATE_INPUT_FORMATS = ["%Y-%m-%d", *(f for f in _DATE_INPUT if f != "%Y-%m-%d")]
DATETIME_INPUT_FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    *(f for f in _DATETIME_INPUT if f not in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")),
]

# "1 Maggio 2024", "1 Maggio 2024 14:30": Django's own, without the weekday and leading zero.
DATE_FORMAT = "j F Y"
DATETIME_FORMAT = "j F Y H:i"
