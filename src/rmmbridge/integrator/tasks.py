"""Integrator jobs: plan due jobs (tick), dispatch them, and execute one job by ID under its lock."""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from rmmbridge.common.clock import utcnow
from rmmbridge.connectors.errors import ConnectorAuthError, ConnectorError, ConnectorRetryableError
from rmmbridge.integrations.models import Integration, IntegrationStatus
from rmmbridge.integrator import locks, metrics, scheduling
from rmmbridge.integrator.metrics import HEALTH_TICK_METRIC, SCHEDULER_TICK_METRIC
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

logger = logging.getLogger(__name__)

OUTBOX_LOCK = "outbox"
NOTES_LIMIT = 4000


@dataclass
class Outcome:
    """What a job handler reports: final status, items processed, an error text, the SyncRun made."""

    status: str = JobStatus.SUCCESS
    items: int = 0
    error: str = ""
    sync_run_id: int | None = None
    details: dict[str, int] = field(default_factory=dict)


def _count_items(counts: Any) -> int:
    """Sum every integer in a (nested) mapping of counts."""
    if isinstance(counts, bool):
        return 0
    if isinstance(counts, int):
        return counts
    if isinstance(counts, Mapping):
        return sum(_count_items(value) for value in counts.values())
    return 0


def flatten_counts(counts: Any, prefix: str = "") -> dict[str, int]:
    """{"assets": {"created": 3}} → {"assets.created": 3}."""
    flat: dict[str, int] = {}
    if isinstance(counts, Mapping):
        for key, value in counts.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, int) and not isinstance(value, bool):
                flat[name] = value
            else:
                flat.update(flatten_counts(value, name))
    return flat


class ProgressNote:
    """Writes a running job's progress ("fetch devices: 12,500") to its row, at most every `every` seconds."""

    def __init__(self, job: JobRun, every: float = 2.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.job_id = job.pk
        self.every = every
        self.clock = clock
        #: None until the first note: the first note is always written, whatever the monotonic clock reads.
        self.last: float | None = None

    def __call__(self, stage: str, done: int, total: int = 0) -> None:
        now = self.clock()
        stage_end = bool(total and done >= total)
        if self.last is not None and now - self.last < self.every and not stage_end:
            return
        self.last = now
        text = f"{stage}: {done:,}" + (f" of {total:,}" if total and total != done else "")
        JobRun.objects.filter(pk=self.job_id).update(progress=text[:200])


def _requested_by(options: Mapping[str, Any]) -> Any:
    """The user who asked for a job in the UI, or None (schedule, CLI, a deleted user)."""
    from django.contrib.auth import get_user_model

    user_id = options.get("user_id")
    return get_user_model().objects.filter(pk=user_id).first() if user_id else None


def handle_sync(job: JobRun) -> Outcome:
    """Run the sync engine for the job's entities, or what a person asked for in the UI (job.options)."""
    from rmmbridge.sync.models import SyncRun, SyncStatus, SyncTrigger
    from rmmbridge.sync.runner import apply_rows, run_sync

    assert job.integration_id is not None
    options = job.options or {}
    user = _requested_by(options)
    trigger = SyncTrigger.UI if options.get("user_id") else SyncTrigger.SCHEDULE
    actor_label = str(options.get("actor_label") or "integrator")
    if options.get("apply_run"):
        preview = SyncRun.objects.select_related("integration").get(pk=int(options["apply_run"]),
                                                                    integration_id=job.integration_id)
        rows = options.get("rows")
        run = apply_rows(preview, [int(r) for r in rows] if rows is not None else None, trigger=trigger,
                         actor_label=actor_label, user=user)
    else:
        run = run_sync(
            job.integration_id,
            entities=scheduling.sync_entity_names(job.entity_list),
            trigger=trigger,
            actor_label=actor_label,
            dry_run=bool(options.get("dry_run")),
            confirm=bool(options.get("confirm")),
            user=user,
            device_types=[str(t) for t in options.get("device_types") or []] or None,
            progress=ProgressNote(job),
        )
    status = str(run.status)
    error = str(run.message or "; ".join(str(e) for e in (run.errors or [])[:5]))
    statuses: dict[str, JobStatus] = {
        SyncStatus.SUCCESS: JobStatus.SUCCESS,
        SyncStatus.PLANNED: JobStatus.SUCCESS,  # a preview is done once its plan is stored
        SyncStatus.PARTIAL: JobStatus.PARTIAL,
        SyncStatus.FAILED: JobStatus.FAILED,
    }
    mapped = statuses.get(status)
    if mapped is None and trigger == SyncTrigger.UI:  # the person who asked sees the guard's question on the run's page
        mapped = JobStatus.SUCCESS
    if mapped is None:  # needs_confirmation: the mass-deactivation guard stopped the run
        mapped = JobStatus.FAILED
        error = error or (
            f"Sync stopped with status '{status}': the mass-deactivation guard needs a person to confirm "
            "the run on the Imports page."
        )
    return Outcome(
        mapped,
        _count_items(run.counts or {}),
        error if mapped != JobStatus.SUCCESS else "",
        sync_run_id=run.pk,
        details=flatten_counts(run.counts or {}),
    )


def handle_poll(job: JobRun) -> Outcome:
    """Poll the RMM's open and recently resolved alerts (skipped while alerting is off for the integration)."""
    from rmmbridge.alerts.models import AlertingConfig
    from rmmbridge.alerts.polling import poll_alerts

    assert job.integration_id is not None
    if not AlertingConfig.objects.filter(integration_id=job.integration_id, enabled=True).exists():
        return Outcome(JobStatus.SKIPPED, error="Alerting is off for this integration; switch it on in its "
                       "Alerting setup, or untick 'Poll alerts' in the integrator schedule.")
    result = poll_alerts(job.integration_id, trigger="schedule", raise_connector_errors=True)
    counts = {
        "open_alerts": result.open_alerts, "resolved_alerts": result.resolved_alerts, "opened": result.opened,
        "noted": result.noted, "closed": result.closed, "ignored": result.ignored, "rejected": result.rejected,
    }
    details = {f"alerts.{name}": value for name, value in counts.items()}
    items = result.open_alerts + result.resolved_alerts
    if not result.ok:
        return Outcome(JobStatus.FAILED, items, result.message, details=details)
    return Outcome(JobStatus.SUCCESS, items, details=details)


def handle_outbox(job: JobRun) -> Outcome:
    """Deliver due alert resolves to the RMMs."""
    from rmmbridge.alerts.outbox import deliver_due

    delivered = int(deliver_due(limit=100))
    return Outcome(JobStatus.SUCCESS, delivered, details={"resolves.delivered": delivered})


HANDLERS: dict[str, Callable[[JobRun], Outcome]] = {
    JobKind.SYNC: handle_sync,
    JobKind.POLL: handle_poll,
    JobKind.OUTBOX: handle_outbox,
}


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


def _add_note(job: JobRun, text: str) -> None:
    job.add_note(f"{utcnow():%Y-%m-%d %H:%M:%S} {text}")
    if len(job.notes) > NOTES_LIMIT:
        job.notes = job.notes[-NOTES_LIMIT:]


# --- Schedules ------------------------------------------------------------------------------------


def schedule_for(integration: Integration) -> IntegratorSchedule:
    """The integration's schedule, created with defaults (integrator off) when missing."""
    schedule, _ = IntegratorSchedule.objects.get_or_create(integration=integration)
    return schedule


def open_entities(integration_id: int) -> set[str]:
    """Entities with a queued, deferred or running job."""
    result: set[str] = set()
    for kind, entities in JobRun.objects.filter(integration_id=integration_id, status__in=OPEN_STATUSES).values_list(
        "kind", "entities"
    ):
        result.update([scheduling.ALERTS] if kind == JobKind.POLL else [e for e in entities.split(",") if e])
    return result


def last_runs_of(schedule: IntegratorSchedule) -> dict[str, scheduling.LastRun]:
    """The pure view of an integration's last runs."""
    busy = open_entities(schedule.integration_id)
    return {
        entity: scheduling.LastRun(schedule.last_started(entity), entity in busy) for entity in scheduling.ENTITIES
    }


def alerting_enabled(integration_id: int) -> bool:
    """Alert polls are scheduled only while alerting is on for the integration."""
    from rmmbridge.alerts.models import AlertingConfig

    return AlertingConfig.objects.filter(integration_id=integration_id, enabled=True).exists()


def facts_of(schedule: IntegratorSchedule) -> scheduling.ScheduleFacts:
    return schedule.facts(alerting_enabled=alerting_enabled(schedule.integration_id))


def integration_status(integration: Integration) -> str:
    return str(integration.status or IntegrationStatus.OK)


def refresh_next_run(schedule: IntegratorSchedule, now: datetime | None = None) -> None:
    """Recompute next_run_at and the paused/off state (caller saves)."""
    now = now or utcnow()
    status = integration_status(schedule.integration)
    upcoming = [
        when
        for when in scheduling.next_runs(now, facts_of(schedule), last_runs_of(schedule), status).values()
        if when is not None
    ]
    schedule.next_run_at = min(upcoming) if upcoming else None
    reason = scheduling.paused_reason(facts_of(schedule), status)
    if reason is not None:
        schedule.state = ScheduleState.OFF if not schedule.enabled else ScheduleState.PAUSED
    elif schedule.state in (ScheduleState.OFF, ScheduleState.PAUSED):
        schedule.state = ScheduleState.IDLE


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
            _add_note(job, "worker lost during the attempt: queued again")
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


def prune_history(now: datetime | None = None) -> int:
    """Delete finished jobs older than RMMBRIDGE_JOB_HISTORY_DAYS (default 14)."""
    now = now or utcnow()
    days = float(os.environ.get("RMMBRIDGE_JOB_HISTORY_DAYS", "14"))
    deleted, _ = JobRun.objects.filter(status__in=DONE_STATUSES, created_at__lt=now - timedelta(days=days)).delete()
    return deleted


@dataclass
class TickResult:
    """What one scheduler tick enqueued."""

    planned: list[int] = field(default_factory=list)
    released: list[int] = field(default_factory=list)
    recovered: list[int] = field(default_factory=list)

    @property
    def job_ids(self) -> list[int]:
        return [*self.planned, *self.released, *self.recovered]


def tick(
    now: datetime | None = None, *, dispatch: Callable[[int], None] | None = None, outbox: bool = True
) -> TickResult:
    """One scheduler tick: plan due jobs, release deferred ones, recover lost ones, dispatch them all."""
    now = now or utcnow()
    result = TickResult()
    result.recovered = [job.pk for job in recover_lost(now, queued_after=requeue_after())]
    close_dead_sync_runs(now)  # runs started from the UI or the CLI whose process died
    result.planned = [job.pk for job in plan_due(now)]
    if outbox and (job := plan_outbox(now)) is not None:
        result.planned.append(job.pk)
    result.released = [job.pk for job in release_deferred(now)]
    send = dispatch or dispatch_job
    for job_id in result.job_ids:
        send(job_id)
    prune_history(now)
    check_health(now)
    for step in (release_maintenance, process_stranded_events):
        try:
            step(now)
        except Exception:  # one failed step never stops the tick; it runs again next tick
            logger.exception("Scheduler tick step %s failed; trying again next tick", step.__name__)
    metrics.set_value(SCHEDULER_TICK_METRIC, "", now.timestamp())
    return result


def release_maintenance(now: datetime) -> int:
    """Noise control: open the tickets of alerts still open when their maintenance window ended, and close
    flapping tickets whose condition stayed resolved for the quiet time."""
    from rmmbridge.alerts.noise_apply import release_held, settle_flapping

    return release_held(now) + settle_flapping(now)


def process_stranded_events(now: datetime) -> int:
    """Alert events stored but never processed (their process died in between) are processed now."""
    from rmmbridge.alerts.processing import process_stranded

    outcomes = process_stranded(now)
    if outcomes:
        logger.warning("Processed %s stranded alert event(s) left pending since before %s", len(outcomes), now)
    return len(outcomes)


def check_health(now: datetime) -> None:
    """Evaluate integration health and notify admins (integration_health); a failure never stops the tick.

    It runs after the tick dispatched its jobs, so it sees what the previous tick's polls found: a channel is
    marked broken at most one tick after the poll that crossed the threshold. RMMBRIDGE_HEALTH_CHECKS=0 turns it off.
    """
    if os.environ.get("RMMBRIDGE_HEALTH_CHECKS", "1").strip().lower() in {"0", "false", "no", "off"}:
        return
    from rmmbridge.integrator.integration_health import evaluate_and_notify

    try:
        with transaction.atomic():  # a failed check rolls back alone; the tick's work stays
            run = evaluate_and_notify(now)
    except Exception:
        logger.exception("Integration health check failed; trying again next tick")
        return
    for error in run.errors:
        logger.warning("Health notification failed: %s", error)
    metrics.set_value(HEALTH_TICK_METRIC, "", now.timestamp())


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
        from rmmbridge.integrator.celery_tasks import run_job

        run_job.apply_async(args=[job_id])
        return
    from rmmbridge.integrator import embedded

    embedded.submit(job_id)


# --- Execution ------------------------------------------------------------------------------------


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
                    _add_note(job, "delivered again after its worker was lost; running it again (idempotent)")
                    close_orphan_sync_runs(job)
                return _run_locked(job)
        except locks.LockBusy:
            job.refresh_from_db()
            if job.status in (JobStatus.QUEUED, JobStatus.DEFERRED):
                job.status = JobStatus.DEFERRED
                job.not_before = utcnow() + timedelta(seconds=lock_wait_seconds())
                _add_note(job, "another job of this integration holds the lock; waiting")
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
    handler = HANDLERS[job.kind]
    try:
        outcome = handler(job)
    except ConnectorAuthError as exc:
        job.status = JobStatus.FAILED
        job.error, job.error_key = exc.message, exc.key
        _add_note(job, f"authentication failed: {exc.message}; the integration needs re-authentication")
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
            _add_note(job, f"attempt {job.attempts} failed ({exc.message}); retrying in {delay:.0f} s")
        else:
            job.status = JobStatus.FAILED
            _add_note(job, f"attempt {job.attempts} failed ({exc.message}); no attempts left")
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
