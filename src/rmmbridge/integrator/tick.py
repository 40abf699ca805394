"""The scheduler tick: plan, release and recover jobs, hand them to the given dispatch, then the periodic checks."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction

from rmmbridge.common.clock import utcnow
from rmmbridge.integrator import metrics
from rmmbridge.integrator.metrics import HEALTH_TICK_METRIC, SCHEDULER_TICK_METRIC
from rmmbridge.integrator.planning import (
    close_dead_sync_runs,
    plan_due,
    plan_outbox,
    prune_history,
    recover_lost,
    release_deferred,
    requeue_after,
)

logger = logging.getLogger(__name__)


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
    now: datetime | None = None, *, dispatch: Callable[[int], None], outbox: bool = True
) -> TickResult:
    """One scheduler tick: plan due jobs, release deferred ones, recover lost ones, dispatch them all.

    `dispatch` is required (the embedded queue's submit, or dispatch.dispatch_job for Celery): the tick never
    imports dispatch, so the embedded scheduler can call it without an import circle.
    """
    now = now or utcnow()
    result = TickResult()
    result.recovered = [job.pk for job in recover_lost(now, queued_after=requeue_after())]
    close_dead_sync_runs(now)  # runs started from the UI or the CLI whose process died
    result.planned = [job.pk for job in plan_due(now)]
    if outbox and (job := plan_outbox(now)) is not None:
        result.planned.append(job.pk)
    result.released = [job.pk for job in release_deferred(now)]
    for job_id in result.job_ids:
        dispatch(job_id)
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
