"""Issue 15: each hospital's time zone, so its CSV and PDF times carry it (ISO 8601 with the
offset). Existing hospitals get their country's zone (IT Europe/Rome, FR Europe/Paris, ES
Europe/Madrid, ...); the administrator corrects a country with several zones."""

from django.db import migrations, models

import accounts.models

# Copied, not imported: a migration keeps the values of its day.
COUNTRY_TIME_ZONES = {
    "IT": "Europe/Rome",
    "FR": "Europe/Paris",
    "ES": "Europe/Madrid",
    "DE": "Europe/Berlin",
    "GB": "Europe/London",
    "US": "America/New_York",
}


def zones_from_countries(apps, schema_editor):
    Hospital = apps.get_model("accounts", "Hospital")
    for country, zone in COUNTRY_TIME_ZONES.items():
        Hospital.objects.filter(country=country).update(time_zone=zone)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_drop_plaintext_api_tokens")]

    operations = [
        migrations.AddField(
            model_name="hospital",
            name="time_zone",
            field=models.CharField(
                default="Europe/Rome",
                help_text="IANA time zone of the hospital (e.g. Europe/Rome): the times of its "
                "files (CSV, PDF) are written in it, with their offset.",
                max_length=64,
                validators=[accounts.models.time_zone_validate],
            ),
        ),
        migrations.RunPython(zones_from_countries, migrations.RunPython.noop),
    ]
