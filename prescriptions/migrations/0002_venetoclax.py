from django.db import migrations


def venetoclax_create(apps, schema_editor):
    apps.get_model("prescriptions", "Drug").objects.get_or_create(
        name="venetoclax", defaults={"atc_code": "L01XX52"}
    )


class Migration(migrations.Migration):
    dependencies = [("prescriptions", "0001_initial")]

    operations = [migrations.RunPython(venetoclax_create, migrations.RunPython.noop)]
