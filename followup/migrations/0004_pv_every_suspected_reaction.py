"""Every suspected adverse reaction, serious or not, raises a reporting reminder.

- Version 2 of the Italian deadlines, worded as the project's domain brief states the rule
  ("every suspected adverse drug reaction, serious or not"); version 1 stays for the reminders
  that copied it. Still unconfirmed: no person has checked it against the text in the GU.
- ``message_params``: what a reminder's sentence is made of, so a page shows it in the
  reader's language. Reminders raised before are filled in from their event, deadline and
  hospital as they are now (the English ``message`` they were raised with is kept as is).
"""

from datetime import date

from django.db import migrations, models

SOURCE = (
    "DM 30 April 2015 (GU n. 143 of 23-6-2015), art. 22, as the domain brief "
    '(regulatory-pathways.md) states it: "healthcare professionals report every suspected '
    "adverse drug reaction, serious or not, within 2 days of becoming aware of it (36 hours for "
    'biological medicines)"'
)
assert len(SOURCE) <= 400
NETWORK = (
    "the national pharmacovigilance network (AIFA RNF, via the local pharmacovigilance officer)"
)
NOTE = (
    "Verify against the current text: taken from the domain brief, not yet checked by a person "
    "against the decree in the Gazzetta Ufficiale."
)
ROWS = [
    {
        "biological": False,
        "hours": 48,
        "text": "Report every suspected adverse reaction, serious or not, within 2 days of "
        "becoming aware of it.",
    },
    {
        "biological": True,
        "hours": 36,
        "text": "Report every suspected adverse reaction to a biological medicinal product, "
        "serious or not, within 36 hours of becoming aware of it.",
    },
]


def deadlines_v2(apps, schema_editor):
    ReportingDeadline = apps.get_model("followup", "ReportingDeadline")
    for row in ROWS:
        ReportingDeadline.objects.filter(
            country="IT", biological=row["biological"], is_current=True
        ).update(is_current=False)
        ReportingDeadline.objects.update_or_create(
            country="IT",
            biological=row["biological"],
            version=2,
            defaults={
                "hours": row["hours"],
                "text": row["text"],
                "network": NETWORK,
                "source": SOURCE,
                "verified_on": date(2026, 12, 6),
                "confirmed": False,
                "unconfirmed_note": NOTE,
                "is_current": True,
            },
        )


def deadlines_v1(apps, schema_editor):
    ReportingDeadline = apps.get_model("followup", "ReportingDeadline")
    ReportingDeadline.objects.filter(country="IT", version=2).delete()
    ReportingDeadline.objects.filter(country="IT", version=1).update(is_current=True)


def params_fill(apps, schema_editor):
    Reminder = apps.get_model("followup", "PharmacovigilanceReminder")
    for reminder in Reminder.objects.filter(message_params={}).select_related(
        "adverse_event__request__patient", "deadline", "hospital"
    ):
        event = reminder.adverse_event
        request = event.request
        reminder.message_params = {
            "request": f"{request.reference} ({request.patient.pseudonym})",
            "term": event.term,
            "term_other": event.term_other,
            "grade": event.grade,
            "serious": event.serious,
            "network": reminder.deadline.network if reminder.deadline else "",
            "due_at": reminder.due_at.isoformat() if reminder.due_at else None,
            "country": reminder.hospital.country,
            "biological": bool(reminder.deadline and reminder.deadline.biological),
        }
        reminder.save(update_fields=["message_params"])


class Migration(migrations.Migration):
    dependencies = [("followup", "0003_adverseevent_recovered_to_grade_2_on")]

    operations = [
        migrations.AddField(
            model_name="pharmacovigilancereminder",
            name="message_params",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text="What the message is made of, to show it translated.",
            ),
        ),
        migrations.AlterField(
            model_name="pharmacovigilancereminder",
            name="message",
            field=models.CharField(help_text="The reminder in English.", max_length=400),
        ),
        migrations.RunPython(deadlines_v2, deadlines_v1),
        migrations.RunPython(params_fill, migrations.RunPython.noop),
    ]
