"""Two writers appending at once never chain onto the same predecessor."""

import threading

import pytest
from django.db import connections

from audit.actions import AuditAction
from audit.models import AuditEvent
from audit.services import audit_chain_verify, audit_record


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_from_two_connections_keep_one_chain(physician):
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def append(worker: int) -> None:
        try:
            start.wait()
            for i in range(15):
                audit_record(
                    actor=physician,
                    action=AuditAction.HOSPITAL_CREATED,
                    object_type="t",
                    object_id=f"{worker}-{i}",
                    summary=f"writer {worker} event {i}",
                )
        except BaseException as exc:  # surfaced in the main thread
            errors.append(exc)
        finally:
            connections.close_all()  # each thread has its own real database connection

    threads = [threading.Thread(target=append, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert AuditEvent.objects.count() == 30
    assert sorted(AuditEvent.objects.values_list("sequence", flat=True)) == list(range(1, 31))
    report = audit_chain_verify()
    assert report.ok, report.message
