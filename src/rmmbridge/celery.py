"""The Celery app of distributed mode: Redis (or RabbitMQ) broker, late acknowledgement, tasks by ID."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rmmbridge.settings")

QUEUE = os.environ.get("RMMBRIDGE_QUEUE", "rmmbridge")  # several deployments may share one broker

app = Celery("rmmbridge")
app.config_from_object("django.conf:settings", namespace="CELERY")


def configure() -> None:
    """Fill in the broker from RMMBRIDGE_REDIS_URL when RMMBRIDGE_BROKER_URL is unset."""
    from django.conf import settings

    app.conf.broker_url = settings.CELERY_BROKER_URL or settings.REDIS_URL
    app.conf.task_default_queue = QUEUE


configure()
app.autodiscover_tasks(["rmmbridge.integrator"], related_name="celery_tasks")
