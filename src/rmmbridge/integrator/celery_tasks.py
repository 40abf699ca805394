"""Celery task wrapping the integrator's job execution (acks late; a lost worker's task is delivered again)."""

from __future__ import annotations

from typing import Any

from django.db import close_old_connections

from rmmbridge.celery import app
from rmmbridge.integrator.execution import execute_job


@app.task(name="rmmbridge.integrator.run_job", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_job(job_id: int) -> Any:
    """Execute integrator job `job_id` (idempotent: a second delivery of a finished job does nothing)."""
    close_old_connections()
    try:
        job = execute_job(job_id)
        return job.status if job is not None else None
    finally:
        close_old_connections()
