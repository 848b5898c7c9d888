"""API tokens moved from DRF's authtoken (stored in plain text) to django-rest-knox (hashed,
expiring). DRF's app is no longer installed, so nothing would ever remove its table: drop it
here, so that no old token can be read from a backup or a database dump. Every API client
asks for a new token once."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_user_is_rule_steward")]

    operations = [
        migrations.RunSQL("DROP TABLE IF EXISTS authtoken_token", migrations.RunSQL.noop),
    ]
