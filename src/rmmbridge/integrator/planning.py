"""Planning of due work: queue due and outbox jobs, release deferred ones, recover lost ones, prune history."""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q

from rmmbridge.common.clock import utcnow
from rmmbridge.integrator import locks, scheduling
from rmmbridge.integrator.execution import add_note, close_orphan_sync_runs, lock_name_for
from rmmbridge.integrator.models import (
    DONE_STATUSES,
    OPEN_STATUSES,
    IntegratorSchedule,
    JobKind,
    JobRun,
    JobStatus,
    JobTrigger,
    ScheduleState,
)
from rmmbridge.integrator.schedules import facts_of, integration_status, last_runs_of, refresh_next_run


def plan_due(now: datetime | None = None) -> list[JobRun]:
    """Create a queued JobRun for every due job of every enabled schedule (each due job once)."""
    now = now or utcnow()
    created: list[JobRun] = []
    for schedule in IntegratorSchedule.objects.filter(enabled=True).select_related("integration"):
        with transaction.atomic():
            schedule = IntegratorSchedule.objects.select_for_update().select_related("integration").get(pk=schedule.pk)
            status = integration_status(schedule.integration)
            jobs = scheduling.due_jobs(now, facts_of(schedule), last_runs_of(schedule), status)
            for due in jobs:
                job = JobRun.objects.create(
                    kind=due.kind,
                    integration_id=due.integration_id,
                    entities=",".join(due.entities),
                    trigger=JobTrigger.SCHEDULE,
                    status=JobStatus.QUEUED,
                    notes=f"{now:%Y-%m-%d %H:%M:%S} due: {'; '.join(due.reasons)}",
                )
                created.append(job)
                last_runs = dict(schedule.last_runs or {})
                for entity in due.entities:
                    last_runs[entity] = now.isoformat()
                schedule.last_runs = last_runs
            if jobs:
                schedule.state = ScheduleState.QUEUED
            refresh_next_run(schedule, now)
            schedule.save()
    return created


def outbox_due(now: datetime) -> bool:
    """True when a resolve is waiting to be sent to an RMM."""
    from rmmbridge.alerts.models import OutboxStatus, ResolveOutbox

    return ResolveOutbox.objects.filter(status=OutboxStatus.PENDING, next_attempt_at__lte=now).exists()


def plan_outbox(now: datetime | None = None) -> JobRun | None:
    """One outbox delivery job when resolves are due, unless one is already open."""
    if not outbox_due(now or utcnow()):
        return None
    if JobRun.objects.filter(kind=JobKind.OUTBOX, status__in=OPEN_STATUSES).exists():
        return None
    return JobRun.objects.create(kind=JobKind.OUTBOX, trigger=JobTrigger.SCHEDULE)


def release_deferred(now: datetime | None = None) -> list[JobRun]:
    """Deferred jobs whose wait is over go back to queued (a conditional update, so each is released once)."""
    now = now or utcnow()
    released = []
    for job in JobRun.objects.filter(status=JobStatus.DEFERRED, not_before__lte=now):
        if JobRun.objects.filter(pk=job.pk, status=JobStatus.DEFERRED).update(status=JobStatus.QUEUED) == 1:
            job.status = JobStatus.QUEUED
            released.append(job)
    return released


def recover_lost(now: datetime | None = None, *, queued_after: timedelta | None = None) -> list[JobRun]:
    """Running jobs whose lock nobody holds lost their worker: queue them again.

    Queued jobs older than `queued_after` (lost by an in-process queue on restart) are sent again too;
    a duplicate delivery is harmless because execution is idempotent.
    """
    now = now or utcnow()
    recovered = []
    for job in JobRun.objects.filter(status=JobStatus.RUNNING):
        if locks.make_lock(lock_name_for(job)).is_held_by_anyone():
            continue
        if JobRun.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(status=JobStatus.QUEUED) == 1:
            close_orphan_sync_runs(job)
            job.status = JobStatus.QUEUED
            add_note(job, "worker lost during the attempt: queued again")
            JobRun.objects.filter(pk=job.pk).update(notes=job.notes)
            recovered.append(job)
    if queued_after is not None:
        cut = now - queued_after
        stale = JobRun.objects.filter(status=JobStatus.QUEUED).filter(
            Q(not_before__isnull=True, created_at__lt=cut) | Q(not_before__lt=cut)
        )
        for job in stale:
            JobRun.objects.filter(pk=job.pk).update(not_before=now)  # sent again now; next resend after the wait
            recovered.append(job)
    return recovered


def requeue_after() -> timedelta:
    """Queued jobs not picked up for this long are sent again (RMMBRIDGE_REQUEUE_AFTER seconds, default 600)."""
    return timedelta(seconds=float(os.environ.get("RMMBRIDGE_REQUEUE_AFTER", "600")))


def close_dead_sync_runs(now: datetime | None = None) -> int:
    """Close sync runs left running by a process that died (see integrator.runs)."""
    from rmmbridge.integrator.runs import close_dead_sync_runs as close

    return close(now)


def prune_history(now: datetime | None = None) -> int:
    """Delete finished jobs older than RMMBRIDGE_JOB_HISTORY_DAYS (default 14)."""
    now = now or utcnow()
    days = float(os.environ.get("RMMBRIDGE_JOB_HISTORY_DAYS", "14"))
    deleted, _ = JobRun.objects.filter(status__in=DONE_STATUSES, created_at__lt=now - timedelta(days=days)).delete()
    return deleted
