"""Metric values kept in the database (counters and gauges shared by all processes); `exposition` renders them."""

from __future__ import annotations

from collections.abc import Mapping

from django.db import IntegrityError, transaction
from django.db.models import F

from rmmbridge.integrator.models import JobRun, MetricCounter

SCHEDULER_TICK_METRIC = "rmmbridge_scheduler_last_tick_timestamp_seconds"
HEALTH_TICK_METRIC = "rmmbridge_health_last_check_timestamp_seconds"
DURATION_BUCKETS: tuple[float, ...] = (0.5, 1, 5, 15, 60, 300, 900, 3600)

HELP = {
    "rmmbridge_job_runs_total": ("counter", "Finished integrator jobs by kind and status."),
    "rmmbridge_job_duration_seconds": ("histogram", "Duration of integrator jobs by kind."),
    "rmmbridge_items_total": ("counter", "Items processed by integrator jobs per kind, entity and operation."),
    "rmmbridge_jobs_open": ("gauge", "Integrator jobs queued, waiting to retry, or running."),
    "rmmbridge_outbox_backlog": ("gauge", "Alert resolves waiting to be sent to the RMMs."),
    "rmmbridge_alerts_open": ("gauge", "Alert conditions with an open ticket, not yet resolved."),
    "rmmbridge_event_rule_hits": ("gauge", "Retained alert events decided by each event rule."),
    "rmmbridge_alert_suppressions": ("gauge", "Retained alert events that opened no ticket, by suppression reason."),
    "rmmbridge_integrations": ("gauge", "Integrations by status."),
    "rmmbridge_queue_depth": ("gauge", "Messages waiting in the worker queue."),
    "rmmbridge_scheduler_last_tick_timestamp_seconds": ("gauge", "Unix time of the scheduler's last tick."),
    "rmmbridge_health_problems": ("gauge", "Open integration-health problems by kind."),
    "rmmbridge_channel_health": ("gauge", "Push channel (e-mail, webhook) per integration: 1 in the labelled state."),
    "rmmbridge_health_notifications_total": ("counter", "Health notifications sent, by notice (problem, reminder, "
                                             "recovery)."),
    "rmmbridge_health_last_check_timestamp_seconds": ("gauge", "Unix time of the last integration-health check."),
    "rmmbridge_alert_suppressions_total": ("counter", "Alert events that opened no ticket because of noise control, "
                                           "by reason (maintenance, flapping)."),
    "rmmbridge_alerts_flapping": ("gauge", "Alert conditions marked flapping (one ticket held open)."),
    "rmmbridge_alert_storms_open": ("gauge", "Storm parent tickets still open."),
    "rmmbridge_alert_storms_total": ("counter", "Storms grouped into a parent ticket."),
}


def labels(**values: str) -> str:
    """Render labels in a stable order with escaping."""
    parts = []
    for key in sorted(values):
        text = str(values[key]).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
        parts.append(f'{key}="{text}"')
    return ",".join(parts)


def increment(name: str, label_text: str, amount: float = 1.0) -> None:
    """Add `amount` to a counter, creating it on first use."""
    if MetricCounter.objects.filter(name=name, labels=label_text).update(value=F("value") + amount):
        return
    try:
        with transaction.atomic():
            MetricCounter.objects.create(name=name, labels=label_text, value=amount)
    except IntegrityError:
        MetricCounter.objects.filter(name=name, labels=label_text).update(value=F("value") + amount)


def set_value(name: str, label_text: str, value: float) -> None:
    """Set a gauge kept in the database."""
    MetricCounter.objects.update_or_create(name=name, labels=label_text, defaults={"value": value})


def get_value(name: str, label_text: str = "") -> float | None:
    return MetricCounter.objects.filter(name=name, labels=label_text).values_list("value", flat=True).first()


def observe_job(job: JobRun) -> None:
    """Count a finished job: run, duration histogram, items per entity and operation."""
    kind = str(job.kind)
    increment("rmmbridge_job_runs_total", labels(kind=kind, status=str(job.status)))
    seconds = (job.duration_ms or 0) / 1000
    increment("rmmbridge_job_duration_seconds_sum", labels(kind=kind), seconds)
    increment("rmmbridge_job_duration_seconds_count", labels(kind=kind))
    for bound in DURATION_BUCKETS:
        if seconds <= bound:
            increment("rmmbridge_job_duration_seconds_bucket", labels(kind=kind, le=format_number(bound)))
    increment("rmmbridge_job_duration_seconds_bucket", labels(kind=kind, le="+Inf"))
    details = job.details if isinstance(job.details, Mapping) else {}
    for key, value in details.items():
        if isinstance(value, int | float) and not isinstance(value, bool) and value:
            entity, _, operation = str(key).rpartition(".")
            increment("rmmbridge_items_total", labels(kind=kind, entity=entity or kind, operation=operation), value)


def format_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
