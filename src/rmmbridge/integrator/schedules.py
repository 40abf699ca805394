"""Integrator schedules: the schedule row of an integration, its pure facts and its next run."""

from __future__ import annotations

from datetime import datetime

from rmmbridge.common.clock import utcnow
from rmmbridge.integrations.models import Integration, IntegrationStatus
from rmmbridge.integrator import scheduling
from rmmbridge.integrator.models import OPEN_STATUSES, IntegratorSchedule, JobKind, JobRun, ScheduleState


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
