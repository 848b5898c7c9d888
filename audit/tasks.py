from celery import shared_task

from audit.services import audit_chain_check_record


@shared_task
def audit_chain_verify_task() -> int:
    """Nightly (Celery beat): walk the chain and store the result; returns the check's id."""
    return audit_chain_check_record().pk
