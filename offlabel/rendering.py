"""Rendered documents: the one model shape, claim, task options, queueing and sweeper that the
consent forms, dossiers, renewal reports and report exports share.

A document row is rendered by a Celery worker (``signing.documents.pdf_render_once``). It moves
``queued -> rendering -> ready`` (or ``failed``); a consent form can also be ``superseded``.
Every PDF is sealed (``signing.pades``, PAdES B-T) before it is ``ready``; when the
time-stamping authority cannot be reached the rendered bytes are kept on the row as
``awaiting_timestamp`` — never served — and sealing is retried (``rendering -> ready``).

* **Claim.** A worker renders a row only after a conditional update took it from ``queued`` or
  ``failed`` (or a ``rendering`` row abandoned longer than the time limit) to ``rendering``
  and the count said 1: two workers, a message delivered twice or a retry never render the
  same row at once.
* **Tasks.** ``acks_late`` + ``reject_on_worker_lost``: a worker killed mid-render leaves its
  message to be delivered again; a hard time limit ends a render that hangs.
* **Queueing.** ``render_enqueue`` checks the broker before the row is committed: when it is
  down the caller gets :class:`BrokerUnavailable` (a 503 with ``Retry-After``), the
  transaction rolls back and nothing is left behind. A publish that still fails after commit
  leaves the row ``queued``, which the sweeper picks up.
* **Sweeper.** ``render_sweep`` (Celery beat, every minute) queues again the rows left
  ``queued`` and the retryable ``failed`` ones, and reclaims ``rendering`` rows older than the
  time limit (their worker died); after ``RENDER_MAX_ATTEMPTS`` a row stays ``failed`` with the
  reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from celery import current_app, shared_task
from django.apps import apps
from django.conf import settings
from django.db import models, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext, gettext_lazy
from kombu.exceptions import OperationalError

from offlabel.exceptions import ApplicationError, ServiceUnavailable

logger = logging.getLogger(__name__)


class RenderStatus(models.TextChoices):
    QUEUED = "queued", gettext_lazy("Queued")
    RENDERING = "rendering", gettext_lazy("Rendering")
    READY = "ready", gettext_lazy("Ready")
    FAILED = "failed", gettext_lazy("Failed")
    SUPERSEDED = "superseded", gettext_lazy("Superseded")  # consent forms only
    # Rendered, not sealed yet: the TSA did not answer. No download serves these bytes.
    AWAITING_TIMESTAMP = "awaiting_timestamp", gettext_lazy("Awaiting its trusted timestamp")


class RenderedDocument(models.Model):
    """A PDF rendered by a worker. Subclasses set ``RENDER_TASK`` (the dotted name of their
    render task, which the sweeper queues) and override ``file`` with their own ``upload_to``."""

    Status = RenderStatus
    RENDER_TASK = ""

    status = models.CharField(max_length=20, choices=RenderStatus.choices, default="queued")
    file = models.FileField(blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    pages = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    queued_at = models.DateTimeField(
        null=True, blank=True, help_text=gettext_lazy("When the render was last queued.")
    )
    rendering_started_at = models.DateTimeField(null=True, blank=True)
    rendered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class BrokerUnavailable(ServiceUnavailable):
    """The task queue cannot be reached: nothing was queued; the client may try again later
    (the API answers 503 with ``Retry-After``)."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message
            or gettext(
                "The document cannot be queued now: the background task service is not "
                "reachable. Nothing was saved; try again in a minute."
            ),
            extra={"retry_after": settings.RENDER_RETRY_AFTER_SECONDS},
        )


def _stale_before(now: datetime) -> datetime:
    return now - timedelta(seconds=settings.RENDER_STALE_AFTER_SECONDS)


def render_claim(model: type[RenderedDocument], pk: int) -> bool:
    """Take the row for this worker: one conditional update, and the count says who won.

    A ``rendering`` row is taken over only when it started longer ago than the time limit
    (plus a grace): by then its worker was killed by the hard time limit or died."""
    now = timezone.now()
    claimable = Q(status__in=[RenderStatus.QUEUED, RenderStatus.FAILED]) | Q(
        status=RenderStatus.RENDERING, rendering_started_at__lt=_stale_before(now)
    )
    claimed = (
        model._default_manager.filter(claimable, pk=pk)
        .filter(Q(attempts__lt=settings.RENDER_MAX_ATTEMPTS) | Q(status=RenderStatus.QUEUED))
        .update(
            status=RenderStatus.RENDERING,
            rendering_started_at=now,
            attempts=F("attempts") + 1,
            error="",
        )
    )
    return claimed == 1


def seal_claim(model: type[RenderedDocument], pk: int) -> bool:
    """Take a row that awaits its timestamp to seal the bytes it holds (no new render, and no
    attempt counted: the authority may be down for hours). A worker that dies meanwhile
    leaves a stale ``rendering`` row, which is rendered again from scratch."""
    claimed = model._default_manager.filter(pk=pk, status=RenderStatus.AWAITING_TIMESTAMP).update(
        status=RenderStatus.RENDERING, rendering_started_at=timezone.now()
    )
    return claimed == 1


def render_task(func: Callable[..., str]) -> Any:
    """The options every render task has: late acknowledgement, redelivery when the worker is
    lost, a hard and a soft time limit. A failure that is not a refused rule (an OSError, a
    soft time limit) is retried with backoff while attempts remain."""
    limit = settings.RENDER_TIME_LIMIT_SECONDS
    return shared_task(
        bind=True,
        acks_late=True,
        reject_on_worker_lost=True,
        time_limit=limit,
        soft_time_limit=max(1, limit - max(5, limit // 10)),
        max_retries=max(0, settings.RENDER_MAX_ATTEMPTS - 1),
    )(func)


def render_retry(task: Any, exc: Exception) -> Exception:
    """What a render task raises after a failure: a retry with backoff for a transient error,
    the error itself for a refused rule (the reason is on the row, retrying changes nothing)."""
    if isinstance(exc, ApplicationError) or task.request.retries >= task.max_retries:
        return exc
    try:
        return task.retry(exc=exc, countdown=2**task.request.retries)
    except OperationalError:  # broker gone: the row is failed; the sweeper queues it again
        return exc


def _broker_check() -> None:
    try:
        with current_app.connection_for_write() as connection:
            connection.ensure_connection(
                max_retries=1, interval_start=0, interval_step=1, timeout=2
            )
    except (OperationalError, OSError) as exc:
        logger.warning("broker unreachable, nothing queued: %s", exc)
        raise BrokerUnavailable from exc


def _publish(task_name: str, pk: int) -> bool:
    task = import_string(task_name)
    try:
        task.apply_async(args=[pk], retry=False)
    except (OperationalError, OSError) as exc:
        logger.warning("%s(%s) not queued (the sweeper will): %s", task_name, pk, exc)
        return False
    return True


def render_enqueue(document: RenderedDocument, *, broker_check: bool = True) -> None:
    """Queue the render of a saved row once the transaction commits.

    Called inside the service's transaction: when the broker is down it raises
    :class:`BrokerUnavailable` *before* the commit, so the row (and its audit event) roll back
    and the caller says so. A publish that fails after the commit anyway is logged and leaves
    the row queued: ``render_sweep`` queues it again. ``broker_check=False`` when the act must
    be recorded whatever the broker (a consent signature's sealed record): the sweeper
    renders a row whose message was not sent."""
    if broker_check:
        _broker_check()
    model, pk = type(document), document.pk
    model._default_manager.filter(pk=pk).update(queued_at=timezone.now())
    transaction.on_commit(lambda: _publish(model.RENDER_TASK, pk), robust=True)


def rendered_models() -> Iterator[type[RenderedDocument]]:
    for model in apps.get_models():
        if issubclass(model, RenderedDocument) and model.RENDER_TASK:
            yield model


def render_sweep(now: datetime | None = None) -> dict[str, int]:
    """Queue again what nothing will render otherwise; idempotent (a second run finds nothing
    new to do until the windows pass again).

    * ``queued`` rows last queued longer than ``RENDER_REQUEUE_AFTER_SECONDS`` ago (the
      publish failed, or the message was lost);
    * ``failed`` rows with attempts left, last tried longer than that ago;
    * ``rendering`` rows started longer ago than the time limit: back to ``queued``, or
      ``failed`` with the reason once ``RENDER_MAX_ATTEMPTS`` are used up;
    * ``awaiting_timestamp`` rows last tried longer than that ago: sealing is tried again,
      however many times (a document is never left unsealed, nor served unsealed).
    """
    now = now or timezone.now()
    waited = now - timedelta(seconds=settings.RENDER_REQUEUE_AFTER_SECONDS)
    counts = {"requeued": 0, "reclaimed": 0, "gave_up": 0}
    for model in rendered_models():
        manager = model._default_manager
        stale = manager.filter(
            status=RenderStatus.RENDERING, rendering_started_at__lt=_stale_before(now)
        )
        gave_up = stale.filter(attempts__gte=settings.RENDER_MAX_ATTEMPTS).update(
            status=RenderStatus.FAILED,
            error=gettext("The render did not finish within the time limit after %(n)s attempts.")
            % {"n": settings.RENDER_MAX_ATTEMPTS},
        )
        reclaimed = stale.update(status=RenderStatus.QUEUED, queued_at=None)
        due = manager.filter(
            Q(status=RenderStatus.QUEUED, queued_at__isnull=True)
            | Q(status=RenderStatus.QUEUED, queued_at__lt=waited)
            | Q(
                status=RenderStatus.FAILED,
                attempts__lt=settings.RENDER_MAX_ATTEMPTS,
                rendering_started_at__lt=waited,
            )
            | Q(status=RenderStatus.AWAITING_TIMESTAMP, rendering_started_at__lt=waited)
        )
        for pk in list(due.values_list("pk", flat=True)):
            # Each row is marked queued-now before its message goes out, so a second sweep
            # within the window leaves it alone.
            marked = (
                manager.filter(pk=pk)
                .filter(Q(queued_at__isnull=True) | Q(queued_at__lt=waited))
                .update(queued_at=now)
            )
            if marked and _publish(model.RENDER_TASK, pk):
                counts["requeued"] += 1
            elif marked:
                manager.filter(pk=pk).update(queued_at=None)  # the broker is down: next sweep
        counts["reclaimed"] += reclaimed
        counts["gave_up"] += gave_up
    if any(counts.values()):
        logger.info("render sweep: %s", counts)
    return counts


@shared_task
def render_sweep_task() -> dict[str, int]:
    """Every minute (Celery beat): queue again the documents nothing would render otherwise."""
    return render_sweep()
