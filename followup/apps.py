from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate

# The data migrations that write the stored reporting deadlines, in order.
DEADLINE_MIGRATIONS = (
    ("0002_reporting_deadlines_it", "add_deadlines"),
    ("0004_pv_every_suspected_reaction", "deadlines_v2"),
    ("0006_reporting_deadline_translations", "translations_fill"),
)


def reporting_deadlines_restore(sender: Any, *, using: str = "default", **kwargs: Any) -> None:
    """The reporting deadlines the data migrations wrote, written again when the table is
    empty although those migrations are applied: that happens only after a flush (a test
    runner's, between transactional tests), which sends post_migrate. A database that has
    rows is never touched."""
    from importlib import import_module

    from django.apps import apps
    from django.db import connections
    from django.db.migrations.recorder import MigrationRecorder

    applied = MigrationRecorder(connections[using]).applied_migrations()
    if not all(("followup", name) in applied for name, _ in DEADLINE_MIGRATIONS):
        return
    if apps.get_model("followup", "ReportingDeadline").objects.using(using).exists():
        return
    for name, write in DEADLINE_MIGRATIONS:
        getattr(import_module(f"followup.migrations.{name}"), write)(apps, None)


class FollowupConfig(AppConfig):
    name = "followup"
    verbose_name = "Follow-up registry: outcomes and adverse events"

    def ready(self) -> None:
        from followup.selectors import pv_open_reminders
        from regulatory.reminders import OpenReminder, reminder_source_register

        post_migrate.connect(reporting_deadlines_restore, sender=self)
        # The reminder lists (regulatory) show the pharmacovigilance reports due as well.
        reminder_source_register(OpenReminder.PHARMACOVIGILANCE)(pv_open_reminders)
