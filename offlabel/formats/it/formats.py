"""Italian: Django's formats (25/10/2024, 25/10/2024 14:30), except that a date rendered into a
form field is ISO. Browsers' date inputs need ISO values, and a form without an explicit
widget format would otherwise render 25/10/2024 into one and show it empty. Typed Italian
dates (25/10/2024) are still accepted."""

from django.conf.locale.it.formats import DATE_INPUT_FORMATS as _DATE_INPUT
from django.conf.locale.it.formats import DATETIME_INPUT_FORMATS as _DATETIME_INPUT
from django.utils.translation import gettext_noop

DATE_INPUT_FORMATS = ["%Y-%m-%d", *(f for f in _DATE_INPUT if f != "%Y-%m-%d")]
DATETIME_INPUT_FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    *(f for f in _DATETIME_INPUT if f not in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")),
]

# "1 Maggio 2024", "1 Maggio 2024 14:30": Django's own, without the weekday and leading zero.
DATE_FORMAT = "j F Y"
DATETIME_FORMAT = "j F Y H:i"

# Italian writes the months in lower case ("24 novembre 2026"); Django's own catalogue gives
# them capitals. The project's catalogue, which takes precedence (LOCALE_PATHS), translates them
# again: the names are marked here so that makemessages keeps them.
MONTH_NAMES = (
    gettext_noop("January"),
    gettext_noop("February"),
    gettext_noop("March"),
    gettext_noop("April"),
    gettext_noop("May"),
    gettext_noop("June"),
    gettext_noop("July"),
    gettext_noop("August"),
    gettext_noop("September"),
    gettext_noop("October"),
    gettext_noop("November"),
    gettext_noop("December"),
)
