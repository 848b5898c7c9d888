"""The Italian reporting deadline for suspected adverse reactions, as data with its source.

A later change of the law is a new migration that adds version 2 and makes it current;
reminders already raised keep the hours and source they copied."""

from datetime import date

from django.db import migrations

SOURCE = (
    "DM 30 April 2015 (Ministero della Salute, GU n. 143 of 23-6-2015), art. 22: healthcare "
    "professionals report suspected adverse reactions to the national pharmacovigilance network "
    "within 2 days of becoming aware of them; within 36 hours for biological medicinal products "
    "(vaccines included)."
)
NETWORK = (
    "the national pharmacovigilance network (AIFA RNF, via the local pharmacovigilance officer)"
)
NOTE = "Verify against the current text: article number and details not yet confirmed by a person."

ROWS = [
    {
        "biological": False,
        "hours": 48,
        "text": "Report a suspected adverse reaction within 2 days of becoming aware of it.",
    },
    {
        "biological": True,
        "hours": 36,
        "text": "Report a suspected adverse reaction to a biological medicinal product within "
        "36 hours of becoming aware of it.",
    },
]


def add_deadlines(apps, schema_editor):
    ReportingDeadline = apps.get_model("followup", "ReportingDeadline")
    for row in ROWS:
        ReportingDeadline.objects.update_or_create(
            country="IT",
            biological=row["biological"],
            version=1,
            defaults={
                "hours": row["hours"],
                "text": row["text"],
                "network": NETWORK,
                "source": SOURCE,
                "verified_on": date(2026, 11, 24),
                "confirmed": False,
                "unconfirmed_note": NOTE,
                "is_current": True,
            },
        )


def remove_deadlines(apps, schema_editor):
    apps.get_model("followup", "ReportingDeadline").objects.filter(country="IT", version=1).delete()


class Migration(migrations.Migration):
    dependencies = [("followup", "0001_initial")]

    operations = [migrations.RunPython(add_deadlines, remove_deadlines)]
