"""The stored reporting deadlines come back after a flush (which sends post_migrate), and a
database that has its own rows is left alone."""

import pytest
from django.core.management import call_command

from followup.apps import reporting_deadlines_restore
from followup.models import ReportingDeadline


@pytest.mark.django_db(transaction=True)
def test_a_flush_leaves_the_italian_reporting_deadlines_with_their_translations():
    call_command("flush", interactive=False, verbosity=0)
    current = ReportingDeadline.objects.filter(country="IT", is_current=True)
    assert sorted(current.values_list("hours", flat=True)) == [36, 48]
    assert all(d.translations["it"]["network"].startswith("la rete") for d in current)


@pytest.mark.django_db
def test_rows_a_database_already_has_are_never_rewritten():
    ReportingDeadline.objects.filter(country="IT", biological=False).update(hours=24)
    reporting_deadlines_restore(sender=None)
    assert (
        ReportingDeadline.objects.get(country="IT", biological=False, is_current=True).hours == 24
    )
    ReportingDeadline.objects.all().delete()
    reporting_deadlines_restore(sender=None)
    assert ReportingDeadline.objects.filter(country="IT", is_current=True).count() == 2
