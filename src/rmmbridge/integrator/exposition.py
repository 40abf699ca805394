"""Prometheus text exposition at /metrics: the stored counters plus live gauges (jobs, outbox, queue, health)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.db.models import Count

from rmmbridge.integrator.metrics import HELP, format_number, labels
from rmmbridge.integrator.models import OPEN_STATUSES, JobRun, MetricCounter


def _lines(name: str, samples: Iterable[tuple[str, float]]) -> list[str]:
    kind, text = HELP[name]
    out = [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
    for label_text, value in samples:
        out.append(f"{name}{{{label_text}}} {format_number(value)}" if label_text else f"{name} {format_number(value)}")
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
            lines.append(f"rmmbridge_job_duration_seconds_{suffix}{{{label_text}}} {format_number(value)}")
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
    by_status = Integration.objects.values("status").annotate(n=Count("id"))
    lines += _lines("rmmbridge_integrations", [(labels(status=row["status"]), row["n"]) for row in by_status])
    last_tick = counters.get("rmmbridge_scheduler_last_tick_timestamp_seconds")
    if last_tick:
        lines += _lines("rmmbridge_scheduler_last_tick_timestamp_seconds", last_tick)
    depth = broker_queue_depth()
    if depth is not None:
        lines += _lines("rmmbridge_queue_depth", [("", depth)])
    lines += _health_lines(counters)
    lines += _noise_lines()
    lines += _rule_lines()
    return "\n".join(lines) + "\n"


def _rule_lines() -> list[str]:
    """Event rules: retained events decided by each rule, and those that opened no ticket by reason."""
    from rmmbridge.alerts.models import AlertEvent

    hits = (AlertEvent.objects.filter(event_rule__isnull=False).values("event_rule__name")
            .annotate(n=Count("id")).order_by("event_rule__name"))
    lines = _lines("rmmbridge_event_rule_hits", [(labels(rule=row["event_rule__name"]), row["n"]) for row in hits])
    suppressed = (AlertEvent.objects.exclude(suppressed="").values("suppressed").annotate(n=Count("id"))
                  .order_by("suppressed"))
    return lines + _lines("rmmbridge_alert_suppressions",
                          [(labels(reason=row["suppressed"]), row["n"]) for row in suppressed])


def _noise_lines() -> list[str]:
    """Noise control: suppressions by reason, flapping conditions, storms (rows kept in the alerts tables)."""
    from rmmbridge.alerts.models import FlapTrack, StormGroup, Suppression
    from rmmbridge.alerts.noise import SuppressReason

    by_reason = dict(Suppression.objects.values("reason").annotate(n=Count("id")).values_list("reason", "n"))
    lines = _lines("rmmbridge_alert_suppressions_total",
                   [(labels(reason=reason.value), by_reason.get(reason.value, 0))
                    for reason in (SuppressReason.MAINTENANCE, SuppressReason.FLAPPING)])
    lines += _lines("rmmbridge_alerts_flapping", [("", FlapTrack.objects.filter(flapping=True).count())])
    lines += _lines("rmmbridge_alert_storms_open",
                    [("", StormGroup.objects.filter(ticket__isnull=False, ticket__closed_at__isnull=True).count())])
    lines += _lines("rmmbridge_alert_storms_total", [("", StormGroup.objects.count())])
    return lines


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


def _alerts_open() -> int | None:
    try:
        from rmmbridge.alerts.models import AlertState

        return AlertState.objects.filter(resolved_at__isnull=True, ticket__isnull=False).count()
    except Exception:
        return None
