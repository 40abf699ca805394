"""Dispatch: queue a manual job and send jobs to the workers (the embedded queue, or Celery when distributed)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import transaction

from rmmbridge.integrations.models import Integration
from rmmbridge.integrator import embedded, scheduling
from rmmbridge.integrator.models import JobKind, JobRun, JobTrigger


def trigger_now(integration: Integration, kind: str, entities: list[str] | None = None,
                options: Mapping[str, Any] | None = None) -> JobRun:
    """Queue a manual job (Run now, or a preview / sync / apply a person asked for: see JobRun.options)."""
    default = scheduling.SYNC_ENTITIES
    entity_list = [scheduling.ALERTS] if kind == JobKind.POLL else list(entities or default)
    job = JobRun.objects.create(
        kind=kind, integration=integration, entities=",".join(entity_list), trigger=JobTrigger.MANUAL,
        options=dict(options or {}),
    )
    transaction.on_commit(lambda: dispatch_job(job.pk))
    return job


def dispatch_job(job_id: int) -> None:
    """Send a job to the workers: the Celery queue in distributed mode, the in-process worker otherwise."""
    if settings.RUN_MODE == "distributed":
        # Late import, not a circle: it keeps Celery out of embedded-mode processes.
        from rmmbridge.integrator.celery_tasks import run_job

        run_job.apply_async(args=[job_id])
        return
    embedded.submit(job_id)
