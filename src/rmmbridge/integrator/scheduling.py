"""Pure due-time logic: which sync and poll jobs of one integration are due at a given moment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

SYNC_ENTITIES: tuple[str, ...] = ("customers", "users", "assets")
ALERTS = "alerts"
ENTITIES: tuple[str, ...] = (*SYNC_ENTITIES, ALERTS)

DEFAULT_INTERVALS: Mapping[str, timedelta] = {
    "customers": timedelta(hours=24),
    "users": timedelta(hours=24),
    "assets": timedelta(hours=24),
    ALERTS: timedelta(minutes=5),
}
MIN_INTERVAL = timedelta(minutes=1)

# Integration statuses that stop all scheduling until a person fixes the credentials or re-enables it.
PAUSED_STATUSES: frozenset[str] = frozenset({"needs_reauth", "disabled"})

KIND_SYNC = "sync"
KIND_POLL = "poll"


@dataclass(frozen=True)
class ScheduleFacts:
    """What the schedule of one integration says: on/off, selected entities and their intervals."""

    integration_id: int
    enabled: bool
    integration_enabled: bool
    intervals: Mapping[str, timedelta]  # only the selected entities appear here


@dataclass(frozen=True)
class LastRun:
    """When an entity last started a run, and whether a job for it is still queued or running."""

    started_at: datetime | None = None
    open: bool = False


@dataclass(frozen=True)
class DueJob:
    """A job to enqueue: a sync of some entities, or an alert poll."""

    integration_id: int
    kind: str
    entities: tuple[str, ...]
    due_at: datetime
    reasons: tuple[str, ...] = field(default=())


def paused_reason(schedule: ScheduleFacts, status: str) -> str | None:
    """Why nothing of this integration is scheduled, or None when it is active."""
    if not schedule.enabled:
        return "integrator is off for this integration"
    if not schedule.integration_enabled:
        return "integration is disabled"
    if status == "needs_reauth":
        return "integration needs re-authentication: fix and test its credentials"
    if status in PAUSED_STATUSES:
        return f"integration status is {status}"
    return None


def next_due(entity: str, schedule: ScheduleFacts, last: LastRun | None) -> datetime | None:
    """When `entity` is next due (None when not selected, or not yet run: then it is due at once)."""
    interval = schedule.intervals.get(entity)
    if interval is None or last is None or last.started_at is None:
        return None
    return last.started_at + max(interval, MIN_INTERVAL)


def next_runs(
    now: datetime, schedule: ScheduleFacts, last_runs: Mapping[str, LastRun], status: str
) -> dict[str, datetime | None]:
    """Per selected entity, the next time it runs (now when overdue or never run); empty when paused."""
    if paused_reason(schedule, status) is not None:
        return {}
    result: dict[str, datetime | None] = {}
    for entity in ENTITIES:
        if entity not in schedule.intervals:
            continue
        due = next_due(entity, schedule, last_runs.get(entity))
        result[entity] = now if due is None or due < now else due
    return result


def due_jobs(
    now: datetime, schedule: ScheduleFacts, last_runs: Mapping[str, LastRun], status: str
) -> list[DueJob]:
    """The jobs of one integration due at `now`: due sync entities grouped into one sync job, plus a poll.

    An entity is due when it is selected, has never run or its interval has passed since its last start,
    and no job for it is still open. Nothing is due while the integrator is off, the integration is
    disabled, or the integration needs re-authentication.
    """
    if paused_reason(schedule, status) is not None:
        return []
    jobs: list[DueJob] = []
    sync_entities: list[str] = []
    sync_reasons: list[str] = []
    sync_due: datetime | None = None
    for entity in ENTITIES:
        if entity not in schedule.intervals:
            continue
        last = last_runs.get(entity)
        if last is not None and last.open:
            continue
        due = next_due(entity, schedule, last)
        if due is not None and due > now:
            continue
        reason = "never run" if due is None else f"interval passed at {due.isoformat()}"
        when = due or now
        if entity == ALERTS:
            jobs.append(DueJob(schedule.integration_id, KIND_POLL, (ALERTS,), when, (f"alerts: {reason}",)))
        else:
            sync_entities.append(entity)
            sync_reasons.append(f"{entity}: {reason}")
            sync_due = when if sync_due is None else min(sync_due, when)
    if sync_entities and sync_due is not None:
        jobs.insert(0, DueJob(schedule.integration_id, KIND_SYNC, tuple(sync_entities), sync_due, tuple(sync_reasons)))
    return jobs


def retry_delay(attempt: int, *, base: float = 30.0, cap: float = 1800.0, retry_after: float | None = None) -> float:
    """Seconds to wait before retry number `attempt` (1-based): exponential, capped, at least Retry-After."""
    delay: float = min(cap, base * float(4 ** max(0, attempt - 1)))
    if retry_after is not None:
        delay = max(delay, min(cap, retry_after))
    return delay


def sync_entity_names(entities: tuple[str, ...] | list[str]) -> list[str]:
    """The sync engine's entity names for the integrator's: customers include their sites."""
    names: list[str] = []
    for entity in entities:
        names.extend(["customers", "sites"] if entity == "customers" else [entity])
    return names
