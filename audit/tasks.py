from celery import shared_task

from audit.checkpoints import audit_checkpoint_write
from audit.services import audit_chain_check_record


@shared_task
def audit_chain_verify_task() -> int:
    """Nightly (Celery beat): walk the chain, check it against the signed checkpoints and
    store the result; returns the check's id."""
    return audit_chain_check_record().pk


@shared_task
def audit_checkpoint_task() -> int:
    """Every AUDIT_CHECKPOINT_MINUTES (Celery beat): sign the chain's head into the anchor
    store; returns the checkpoint's number."""
    return audit_checkpoint_write().number
