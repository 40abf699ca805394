"""Operational status: integrations with their last and next runs, outbox backlog, queue depth, health checks."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection

from rmmbridge.common.clock import utcnow
from rmmbridge.integrations.models import Integration
from rmmbridge.integrator.models import OPEN_STATUSES, IntegratorSchedule, JobRun, JobStatus
from rmmbridge.integrator.schedules import refresh_next_run, schedule_for

logger = logging.getLogger(__name__)


@dataclass
class IntegrationStatusRow:
    """One integration as the status page and CLI show it."""

    id: int
    name: str
    vendor: str
    status: str
    integrator: bool
    state: str
    last_run_at: str | None
    last_status: str
    last_error: str
    next_run_at: str | None
    open_jobs: int


@dataclass
class Status:
    """Everything `rmmbridge status` prints."""

    mode: str
    now: str
    integrations: list[IntegrationStatusRow] = field(default_factory=list)
    outbox_backlog: int | None = None
    queue_depth: int | None = None
    queued_jobs: int = 0
    running_jobs: int = 0
    deferred_jobs: int = 0
    checks: dict[str, str] = field(default_factory=dict)
    #: Open integration-health problems (integration_health.ProblemView as dicts) and push-channel states.
    problems: list[dict[str, Any]] = field(default_factory=list)
    channels: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def outbox_backlog() -> int | None:
    """Resolves waiting to be sent to the RMMs (None when the alerts app has no outbox)."""
    try:
        from rmmbridge.alerts.models import OutboxStatus, ResolveOutbox

        return ResolveOutbox.objects.filter(status=OutboxStatus.PENDING).count()
    except Exception:
        logger.debug("Outbox backlog unavailable", exc_info=True)
        return None


def broker_queue_depth() -> int | None:
    """Messages waiting in the Celery queue (Redis broker only; None otherwise or when unreachable)."""
    if settings.RUN_MODE != "distributed":
        from rmmbridge.integrator import embedded

        return embedded.queue_depth() if embedded.is_running() else None
    url = settings.CELERY_BROKER_URL or settings.REDIS_URL
    if not url.startswith(("redis://", "rediss://")):
        return None
    try:
        import redis

        from rmmbridge.celery import QUEUE

        return int(redis.Redis.from_url(url, socket_timeout=2).llen(QUEUE))
    except Exception:
        return None


def integration_row(integration: Integration, schedule: IntegratorSchedule, open_jobs: int) -> IntegrationStatusRow:
    return IntegrationStatusRow(
        id=integration.pk,
        name=integration.name,
        vendor=integration.vendor,
        status=str(getattr(integration, "status", "")),
        integrator=schedule.enabled,
        state=schedule.state,
        last_run_at=_iso(schedule.last_run_at),
        last_status=schedule.last_status,
        last_error=schedule.last_error,
        next_run_at=_iso(schedule.next_run_at),
        open_jobs=open_jobs,
    )


def collect(*, checks: bool = True) -> Status:
    """Gather the status of every integration and the queues."""
    now = utcnow()
    status = Status(mode=settings.RUN_MODE, now=now.isoformat())
    open_counts: dict[int, int] = {}
    for integration_id in JobRun.objects.filter(status__in=OPEN_STATUSES).values_list("integration_id", flat=True):
        if integration_id is not None:
            open_counts[integration_id] = open_counts.get(integration_id, 0) + 1
    for integration in Integration.objects.order_by("name"):
        schedule = schedule_for(integration)
        refresh_next_run(schedule, now)
        status.integrations.append(integration_row(integration, schedule, open_counts.get(integration.pk, 0)))
    status.outbox_backlog = outbox_backlog()
    status.queue_depth = broker_queue_depth()
    status.queued_jobs = JobRun.objects.filter(status=JobStatus.QUEUED).count()
    status.running_jobs = JobRun.objects.filter(status=JobStatus.RUNNING).count()
    status.deferred_jobs = JobRun.objects.filter(status=JobStatus.DEFERRED).count()
    if checks:
        status.checks = health_checks()
    from rmmbridge.integrator import integration_health

    status.problems = integration_health.as_json(integration_health.open_problems())
    status.channels = integration_health.channel_health()
    return status


def health_checks() -> dict[str, str]:
    """'ok' or an error text per dependency: the database always, Redis in distributed mode."""
    results: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        results["database"] = "ok"
    except Exception as exc:
        results["database"] = f"error: {exc}"
    if settings.RUN_MODE == "distributed":
        try:
            import redis

            redis.Redis.from_url(settings.CELERY_BROKER_URL or settings.REDIS_URL, socket_timeout=2).ping()
            results["broker"] = "ok"
        except Exception as exc:
            results["broker"] = f"error: {exc}"
    results["scheduler"] = scheduler_check()
    return results


def scheduler_check(now: datetime | None = None) -> str:
    """'ok' when the scheduler ticked recently, else what to start (informational: not part of `healthy`)."""
    from rmmbridge.integrator import metrics
    from rmmbridge.integrator.embedded import tick_seconds
    from rmmbridge.integrator.metrics import SCHEDULER_TICK_METRIC

    where = "`rmmbridge scheduler`" if settings.RUN_MODE == "distributed" else "`rmmbridge serve`"
    try:
        last = metrics.get_value(SCHEDULER_TICK_METRIC)
    except Exception as exc:
        return f"error: {exc}"
    if last is None:
        return f"never ticked: start {where}"
    age = (now or utcnow()).timestamp() - last
    limit = max(180.0, 3 * tick_seconds())
    if age > limit:
        return f"stale: last tick {age:.0f} s ago; is {where} running?"
    return "ok"


def healthy(checks: dict[str, str]) -> bool:
    """Healthy when the database and (in distributed mode) the broker answer."""
    return all(value == "ok" for key, value in checks.items() if key in {"database", "broker"})
