"""English dates as a European hospital writes them: ISO dates and a 24-hour clock, never
Django's American month/day/year. Italian uses Django's own formats (25/10/2024 14:30)."""

SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
