"""The Celery app: ``celery -A offlabel worker`` and ``celery -A offlabel beat``."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "offlabel.settings")

app = Celery("offlabel")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
