"""Prometheus metrics at /metrics: counters kept in the database (shared by all processes) plus live gauges."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.db import IntegrityError, transaction
from django.db.models import Count, F

from rmmbridge.integrator.models import OPEN_STATUSES, JobRun, MetricCounter

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
            increment("rmmbridge_job_duration_seconds_bucket", labels(kind=kind, le=_num(bound)))
    increment("rmmbridge_job_duration_seconds_bucket", labels(kind=kind, le="+Inf"))
    details = job.details if isinstance(job.details, Mapping) else {}
    for key, value in details.items():
        if isinstance(value, int | float) and not isinstance(value, bool) and value:
            entity, _, operation = str(key).rpartition(".")
            increment("rmmbridge_items_total", labels(kind=kind, entity=entity or kind, operation=operation), value)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _lines(name: str, samples: Iterable[tuple[str, float]]) -> list[str]:
    kind, text = HELP[name]
    out = [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
    for label_text, value in samples:
        out.append(f"{name}{{{label_text}}} {_num(value)}" if label_text else f"{name} {_num(value)}")
    return out


def render() -> str:
    """The Prometheus text exposition of every metric."""
    from rmmbridge.integrations.models import Integration
    from rmmbridge.integrator.status import broker_queue_depth, outbox_backlog

    counters: dict[str, list[tuple[str, float]]] = {}
    for counter in MetricCounter.objects.order_by("name", "labels"):
        counters.setdefault(counter.name, []).append((counter.labels, counter.value))
    lines: list[str] = []
    lines += _lines("rmmbridge_job_runs_total", counters.get("rmmbridge_job_runs_total", []))
    kind, text = HELP["rmmbridge_job_duration_seconds"]
    lines += [f"# HELP rmmbridge_job_duration_seconds {text}", f"# TYPE rmmbridge_job_duration_seconds {kind}"]
    for suffix in ("bucket", "sum", "count"):
        for label_text, value in counters.get(f"rmmbridge_job_duration_seconds_{suffix}", []):
            lines.append(f"rmmbridge_job_duration_seconds_{suffix}{{{label_text}}} {_num(value)}")
    lines += _lines("rmmbridge_items_total", counters.get("rmmbridge_items_total", []))
    open_jobs = JobRun.objects.filter(status__in=OPEN_STATUSES).values("kind", "status").annotate(n=Count("id"))
    lines += _lines(
        "rmmbridge_jobs_open", [(labels(kind=row["kind"], status=row["status"]), row["n"]) for row in open_jobs]
    )
    backlog = outbox_backlog()
    if backlog is not None:
        lines += _lines("rmmbridge_outbox_backlog", [("", backlog)])
    alerts_open = _alerts_open()
    if alerts_open is not None:
        lines += _lines("rmmbridge_alerts_open", [("", alerts_open)])
    lines += _rule_lines()
    by_status = Integration.objects.values("status").annotate(n=Count("id"))
    lines += _lines("rmmbridge_integrations", [(labels(status=row["status"]), row["n"]) for row in by_status])
    last_tick = counters.get("rmmbridge_scheduler_last_tick_timestamp_seconds")
    if last_tick:
        lines += _lines("rmmbridge_scheduler_last_tick_timestamp_seconds", last_tick)
    depth = broker_queue_depth()
    if depth is not None:
        lines += _lines("rmmbridge_queue_depth", [("", depth)])
    lines += _health_lines(counters)
    return "\n".join(lines) + "\n"


def _health_lines(counters: Mapping[str, list[tuple[str, float]]]) -> list[str]:
    from rmmbridge.integrator.health_rules import ProblemKind
    from rmmbridge.integrator.integration_health import channel_health
    from rmmbridge.integrator.models import HealthProblem

    open_by_kind = dict(HealthProblem.objects.filter(recovered_at__isnull=True).values("kind")
                        .annotate(n=Count("id")).values_list("kind", "n"))
    lines = _lines("rmmbridge_health_problems",
                   [(labels(kind=str(kind)), open_by_kind.get(str(kind), 0)) for kind in ProblemKind])
    lines += _lines("rmmbridge_channel_health", [
        (labels(integration=row["integration"], channel=row["channel"], state=row["state"]), 1)
        for row in channel_health()])
    lines += _lines("rmmbridge_health_notifications_total", counters.get("rmmbridge_health_notifications_total", []))
    last = counters.get("rmmbridge_health_last_check_timestamp_seconds")
    if last:
        lines += _lines("rmmbridge_health_last_check_timestamp_seconds", last)
    return lines


def _rule_lines() -> list[str]:
    from rmmbridge.alerts.models import AlertEvent

    hits = (AlertEvent.objects.filter(event_rule__isnull=False).values("event_rule__name")
            .annotate(n=Count("id")).order_by("event_rule__name"))
    lines = _lines("rmmbridge_event_rule_hits", [(labels(rule=row["event_rule__name"]), row["n"]) for row in hits])
    suppressed = (AlertEvent.objects.exclude(suppressed="").values("suppressed").annotate(n=Count("id"))
                  .order_by("suppressed"))
    return lines + _lines("rmmbridge_alert_suppressions",
                          [(labels(reason=row["suppressed"]), row["n"]) for row in suppressed])


def _alerts_open() -> int | None:
    try:
        from rmmbridge.alerts.models import AlertState

        return AlertState.objects.filter(resolved_at__isnull=True, ticket__isnull=False).count()
    except Exception:
        return None
