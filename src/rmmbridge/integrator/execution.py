"""Job execution: run one job by ID under its lock, retry or defer it, and record the run on its row."""

from __future__ import annotations

import logging
import os
import socket
import time
from datetime import timedelta

from rmmbridge.common.clock import utcnow
from rmmbridge.connectors.errors import ConnectorAuthError, ConnectorError, ConnectorRetryableError
from rmmbridge.integrations.models import Integration
from rmmbridge.integrator import handlers, locks, metrics, scheduling
from rmmbridge.integrator.models import (
    DONE_STATUSES,
    OPEN_STATUSES,
    IntegratorSchedule,
    JobKind,
    JobRun,
    JobStatus,
    ScheduleState,
)
from rmmbridge.integrator.schedules import integration_status, refresh_next_run

logger = logging.getLogger(__name__)

OUTBOX_LOCK = "outbox"
NOTES_LIMIT = 4000


def lock_name_for(job: JobRun) -> str:
    """Syncs of one integration exclude each other; polls of one integration too; the outbox is one lock."""
    if job.integration_id is None:
        return OUTBOX_LOCK
    return f"{locks.integration_lock_name(job.integration_id)}:{job.kind}"


def worker_label() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def lock_wait_seconds() -> float:
    """How long a job whose lock is busy waits before it is enqueued again (RMMBRIDGE_LOCK_WAIT, default 15)."""
    return float(os.environ.get("RMMBRIDGE_LOCK_WAIT", "15"))


def retry_base_seconds() -> float:
    """Base of the retry backoff for retryable connector errors (RMMBRIDGE_RETRY_BASE, default 30)."""
    return float(os.environ.get("RMMBRIDGE_RETRY_BASE", "30"))


def add_note(job: JobRun, text: str) -> None:
    job.add_note(f"{utcnow():%Y-%m-%d %H:%M:%S} {text}")
    if len(job.notes) > NOTES_LIMIT:
        job.notes = job.notes[-NOTES_LIMIT:]


def close_orphan_sync_runs(job: JobRun) -> int:
    """Mark the SyncRuns a lost attempt of `job` left running as failed, so the run record stays consistent."""
    if job.kind != JobKind.SYNC or job.integration_id is None or job.started_at is None:
        return 0
    from rmmbridge.sync.models import SyncRun, SyncStatus, SyncTrigger

    return SyncRun.objects.filter(
        integration_id=job.integration_id, status=SyncStatus.RUNNING, trigger=SyncTrigger.SCHEDULE,
        started_at__gte=job.started_at,
    ).update(status=SyncStatus.FAILED, finished_at=utcnow(), message="The worker running this sync was lost; "
             f"integrator job #{job.pk} ran it again.")


def _finish_schedule(job: JobRun) -> None:
    if job.integration_id is None or (job.options or {}).get("dry_run"):  # a preview is not the schedule's run
        return
    schedules = IntegratorSchedule.objects.select_related("integration")
    schedule = schedules.filter(integration_id=job.integration_id).first()
    if schedule is None:
        return
    schedule.last_run_at = job.started_at
    schedule.last_status = job.status
    schedule.last_error = job.error
    if job.status == JobStatus.DEFERRED:
        schedule.state = ScheduleState.RETRYING
    elif job.status == JobStatus.FAILED:
        schedule.state = ScheduleState.FAILED
    elif JobRun.objects.filter(integration_id=job.integration_id, status__in=OPEN_STATUSES).exclude(pk=job.pk).exists():
        schedule.state = ScheduleState.QUEUED
    else:
        schedule.state = ScheduleState.IDLE
    refresh_next_run(schedule)
    schedule.save()


def _mark_schedule_running(job: JobRun) -> None:
    if job.integration_id is not None and not (job.options or {}).get("dry_run"):
        IntegratorSchedule.objects.filter(integration_id=job.integration_id).update(state=ScheduleState.RUNNING)


def _mark_needs_reauth(integration: Integration, message: str) -> None:
    from rmmbridge.integrations.actions import do_mark_needs_reauth

    do_mark_needs_reauth(integration, message)


def execute_job(job_id: int) -> JobRun | None:
    """Run job `job_id` once under its lock; safe to call again for the same ID (redelivery, duplicates).

    A delivery that finds its job queued while another job holds the lock defers it. A delivery that finds its
    job already running (a redelivery after its worker was lost, or a duplicate while it still runs) waits for
    the lock: it is released when the other attempt finishes (then there is nothing left to do) or expires
    when that worker is dead (then this delivery runs the job again).
    """
    job = JobRun.objects.select_related("integration").filter(pk=job_id).first()
    if job is None:
        logger.info("Job %s no longer exists; nothing to do", job_id)
        return None
    deadline = time.monotonic() + locks.default_ttl() * 1.5 + 5
    while True:
        if job.status in DONE_STATUSES:
            logger.info("Job %s is already %s; duplicate delivery ignored", job_id, job.status)
            return job
        try:
            with locks.hold(lock_name_for(job)):
                job.refresh_from_db()
                if job.status in DONE_STATUSES:
                    return job
                if job.status == JobStatus.RUNNING:
                    add_note(job, "delivered again after its worker was lost; running it again (idempotent)")
                    close_orphan_sync_runs(job)
                return _run_locked(job)
        except locks.LockBusy:
            job.refresh_from_db()
            if job.status in (JobStatus.QUEUED, JobStatus.DEFERRED):
                job.status = JobStatus.DEFERRED
                job.not_before = utcnow() + timedelta(seconds=lock_wait_seconds())
                add_note(job, "another job of this integration holds the lock; waiting")
                job.save(update_fields=["status", "not_before", "notes"])
                return job
            if job.status == JobStatus.RUNNING and time.monotonic() < deadline:
                time.sleep(0.5)
                continue
            logger.info("Job %s is %s on another worker; this delivery stops here", job_id, job.status)
            return job


def _run_locked(job: JobRun) -> JobRun:
    started = time.monotonic()
    job.status = JobStatus.RUNNING
    job.attempts += 1
    job.started_at = utcnow()
    job.finished_at = None
    job.worker = worker_label()
    job.error = ""
    job.error_key = ""
    job.save()
    if job.integration is not None:
        job.integration.refresh_from_db()
        status = integration_status(job.integration)
        if status in scheduling.PAUSED_STATUSES or not job.integration.enabled:
            job.status = JobStatus.SKIPPED
            job.error = (f"Skipped: the integration is {'disabled' if not job.integration.enabled else status}; "
                         "fix and test its credentials or enable it, then run it again.")
            job.finished_at = utcnow()
            job.save()
            return job
    _mark_schedule_running(job)
    handler = handlers.HANDLERS[job.kind]  # looked up per run: tests register recording handlers
    try:
        outcome = handler(job)
    except ConnectorAuthError as exc:
        job.status = JobStatus.FAILED
        job.error, job.error_key = exc.message, exc.key
        add_note(job, f"authentication failed: {exc.message}; the integration needs re-authentication")
        if job.integration is not None:
            _mark_needs_reauth(job.integration, exc.message)
            skipped = JobRun.objects.filter(integration=job.integration, status__in=OPEN_STATUSES).exclude(pk=job.pk)
            skipped.update(status=JobStatus.SKIPPED, finished_at=utcnow(),
                           error="Skipped: the integration needs re-authentication.")
    except ConnectorRetryableError as exc:
        job.error, job.error_key = exc.message, exc.key
        if job.attempts < job.max_attempts:
            delay = scheduling.retry_delay(job.attempts, base=retry_base_seconds(), retry_after=exc.retry_after)
            job.status = JobStatus.DEFERRED
            job.not_before = utcnow() + timedelta(seconds=delay)
            add_note(job, f"attempt {job.attempts} failed ({exc.message}); retrying in {delay:.0f} s")
        else:
            job.status = JobStatus.FAILED
            add_note(job, f"attempt {job.attempts} failed ({exc.message}); no attempts left")
    except ConnectorError as exc:
        job.status = JobStatus.FAILED
        job.error, job.error_key = exc.message, exc.key
    except Exception as exc:
        logger.exception("Job %s (%s) failed", job.pk, job.kind)
        job.status = JobStatus.FAILED
        job.error, job.error_key = f"{type(exc).__name__}: {exc}", "internal"
    else:
        job.status = outcome.status
        job.items = outcome.items
        job.error = outcome.error
        job.sync_run_id = outcome.sync_run_id
        job.details = outcome.details
    job.finished_at = utcnow()
    job.duration_ms = (time.monotonic() - started) * 1000
    job.save()
    _finish_schedule(job)
    metrics.observe_job(job)
    logger.info(
        "Job %s %s integration=%s status=%s items=%s duration_ms=%.0f",
        job.pk, job.kind, job.integration_id, job.status, job.items, job.duration_ms,
    )
    return job
