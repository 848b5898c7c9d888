"""The Celery app: ``celery -A offlabel worker`` and ``celery -A offlabel beat``.

Two queues (settings ``CELERY_TASK_ROUTES``): the render of every PDF goes to
``<default queue>.pdf``, everything else (reminders, mail, the audit chain and checkpoints,
the render sweeper itself) to the default queue. Production runs a worker per queue
(docker-compose.yml); ``scripts/dev.py run`` one worker consuming both.
"""

import os
from functools import cache
from typing import Any

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "offlabel.settings")

app = Celery("offlabel")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

PDF_QUEUE_SUFFIX = ".pdf"


def pdf_queue_name(default_queue: str) -> str:
    """The PDF queue that goes with a default queue. Derived, not configured on its own: a
    deployment that renames its queue (several sites on one Redis) renames both, and a test
    worker on a queue of its own gets its own PDF queue too."""
    return f"{default_queue}{PDF_QUEUE_SUFFIX}"


@cache
def render_task_names() -> frozenset[str]:
    """The render task of every rendered document model (``RENDER_TASK``): what the sweeper
    queues and what ``render_enqueue`` publishes."""
    from offlabel.rendering import rendered_models

    return frozenset(model.RENDER_TASK for model in rendered_models())


def task_route(
    name: str, args: Any, kwargs: Any, options: Any, task: Any = None, **_: Any
) -> dict[str, str] | None:
    """Celery router: render tasks to the PDF queue of the default queue in force when the
    task is sent; every other task to the default queue (None: Celery's default). A queue
    given to ``apply_async(queue=...)`` still wins."""
    if name in render_task_names():
        return {"queue": pdf_queue_name(app.conf.task_default_queue)}
    return None
