"""Integration health: gather facts from the database, evaluate the pure checks, keep problem state, notify admins."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Max, Min, Q
from django.urls import NoReverseMatch, reverse

from rmmbridge.common.clock import utcnow
from rmmbridge.integrations.models import Integration
from rmmbridge.integrator import health_rules as rules
from rmmbridge.integrator.models import (
    ChannelExpectation,
    HealthProblem,
    IntegratorSchedule,
    JobKind,
    JobRun,
    JobStatus,
)

logger = logging.getLogger(__name__)

PUSH_CHANNELS: dict[str, tuple[str, ...]] = {rules.EMAIL: ("email", "smtp", "imap"), rules.WEBHOOK: ("webhook",)}


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "")
    try:
        return float(raw) if raw.strip() else default
    except ValueError:
        logger.warning("%s=%r is not a number; using %s", name, raw, default)
        return default


def thresholds() -> rules.Thresholds:
    """The check limits from the environment (see docs/operations.md)."""
    return rules.Thresholds(
        poll_only_alerts=int(_env_float("RMMBRIDGE_HEALTH_POLL_ONLY_THRESHOLD", 5)),
        outbox_age=timedelta(minutes=_env_float("RMMBRIDGE_HEALTH_OUTBOX_MINUTES", 60)),
    )


def repeat_interval() -> timedelta:
    """At most one message per problem per this interval (RMMBRIDGE_HEALTH_NOTIFY_INTERVAL_MINUTES, default 1440)."""
    return timedelta(minutes=max(1.0, _env_float("RMMBRIDGE_HEALTH_NOTIFY_INTERVAL_MINUTES", 1440)))


def _url(name: str, *args: Any) -> str:
    try:
        return reverse(name, args=list(args))
    except NoReverseMatch:
        return ""


# --- Facts -------------------------------------------------------------------------------------------------------


def _job_times(integration_id: int, kind: str) -> tuple[datetime | None, datetime | None]:
    """(last successful finish, first created) of the integration's scheduled jobs of one kind (previews excluded)."""
    jobs = JobRun.objects.filter(integration_id=integration_id, kind=kind).filter(
        Q(options__dry_run__isnull=True) | Q(options__dry_run=False))
    last_ok = jobs.filter(status=JobStatus.SUCCESS).aggregate(at=Max("finished_at"))["at"]
    first = jobs.aggregate(at=Min("created_at"))["at"]
    return last_ok, first


#: Learnt gaps are recomputed at most once per this interval per channel (reading 14 days of event times is not free).
LEARN_CACHE_SECONDS = 3600.0
_learnt: dict[tuple[int, str], tuple[float, timedelta | None]] = {}


def _learnt_gap(integration: Integration, channel: str, now: datetime, limits: rules.Thresholds) -> timedelta | None:
    from rmmbridge.alerts.models import AlertEvent

    key = (integration.pk, channel)
    cached = _learnt.get(key)
    stamp = now.timestamp()
    if cached is not None and abs(stamp - cached[0]) < LEARN_CACHE_SECONDS:
        return cached[1]
    times = list(AlertEvent.objects.filter(
        integration=integration, channel__in=PUSH_CHANNELS[channel], received_at__gte=now - limits.learn_window,
        received_at__lte=now).values_list("received_at", flat=True))
    gap = rules.learn_gap(times, now, limits)
    _learnt[key] = (stamp, gap)
    return gap


def clear_learnt_gaps() -> None:
    """Forget the cached learnt gaps (tests, and after a person changes an expected gap)."""
    _learnt.clear()


def _channel_facts(integration: Integration, now: datetime, limits: rules.Thresholds, *,
                   learn: bool = True) -> tuple[rules.ChannelFacts, ...]:
    from rmmbridge.alerts.models import AlertEvent, EmailRule

    hand = dict(ChannelExpectation.objects.filter(integration=integration)
                .values_list("channel", "expected_gap_minutes"))
    since = now - limits.learn_window
    facts: list[rules.ChannelFacts] = []
    for channel, stored_channels in PUSH_CHANNELS.items():
        events = AlertEvent.objects.filter(integration=integration, channel__in=stored_channels)
        last = events.aggregate(at=Max("received_at"))["at"]
        # A channel counts as configured once it was in use: it delivered in the last 14 days (or a person set its
        # expected gap). An e-mail rule alone is not enough: alerting setup creates one for every vendor.
        in_use = (last is not None and last >= since) or channel in hand
        if channel == rules.EMAIL:
            configured = in_use and EmailRule.objects.filter(integration=integration, enabled=True).exists()
        else:
            configured = in_use
        if channel in hand:
            gap: timedelta | None = timedelta(minutes=hand[channel])
            learnt = False
        else:
            gap = _learnt_gap(integration, channel, now, limits) if learn and configured else None
            learnt = True
        facts.append(rules.ChannelFacts(channel, configured, last, gap, learnt))
    return tuple(facts)


def poll_only_alerts(integration: Integration, now: datetime, window: timedelta) -> int:
    """Alerts first seen in the window whose ticket a poll opened, and which no e-mail or webhook event reported."""
    from rmmbridge.alerts.models import AlertEvent, AlertState

    since = now - window
    keys = set(AlertState.objects.filter(integration=integration, first_seen__gte=since, ticket__source="poll")
               .values_list("key", flat=True))
    if not keys:
        return 0
    pushed = set(AlertEvent.objects.filter(
        integration=integration, channel__in=[c for group in PUSH_CHANNELS.values() for c in group],
        received_at__gte=since - timedelta(hours=1), alert_key__in=keys).values_list("alert_key", flat=True))
    return len(keys - pushed)


def integration_facts(integration: Integration, now: datetime, limits: rules.Thresholds) -> rules.IntegrationFacts:
    """The pure view of one integration's health."""
    from rmmbridge.alerts.models import AlertingConfig
    from rmmbridge.integrator import scheduling
    from rmmbridge.sync.models import SyncRun

    schedule = IntegratorSchedule.objects.filter(integration=integration).first()
    intervals = schedule.intervals() if schedule is not None else {}
    sync_intervals = [intervals[e] for e in scheduling.SYNC_ENTITIES if e in intervals]
    alerting = AlertingConfig.objects.filter(integration=integration, enabled=True).exists()
    last_sync, first_sync = _job_times(integration.pk, JobKind.SYNC)
    last_poll, first_poll = _job_times(integration.pk, JobKind.POLL)
    latest_run = SyncRun.objects.filter(integration=integration).exclude(status="planned").order_by(
        "-started_at", "-id").first()
    guard = latest_run is not None and latest_run.status == "needs_confirmation"
    links = rules.Links(
        integration=_url("integrations:integration_detail", integration.pk),
        alerting=_url("alerts:integration_alerting", integration.pk),
        schedule=_url("integrator:integration_schedule", integration.pk),
        guard_run=_url("sync:run_detail", latest_run.pk) if guard and latest_run is not None else "",
    )
    return rules.IntegrationFacts(
        integration_id=integration.pk,
        name=integration.name,
        vendor_name=integration.vendor_name,
        enabled=integration.enabled,
        status=str(integration.status),
        last_error=integration.last_error,
        integrator_enabled=bool(schedule and schedule.enabled),
        sync_interval=min(sync_intervals) if sync_intervals else None,
        poll_interval=intervals.get(scheduling.ALERTS),
        last_sync_success_at=last_sync,
        first_sync_at=first_sync,
        last_poll_success_at=last_poll,
        first_poll_at=first_poll,
        poll_only_alerts=poll_only_alerts(integration, now, limits.poll_only_window) if alerting else 0,
        alerting_enabled=alerting,
        channels=_channel_facts(integration, now, limits) if alerting else (),
        guard_waiting=guard,
        links=links,
    )


def outbox_facts(now: datetime, limits: rules.Thresholds) -> rules.OutboxFacts:
    from rmmbridge.alerts.models import OutboxStatus, ResolveOutbox

    stuck = ResolveOutbox.objects.filter(status=OutboxStatus.PENDING, created_at__lt=now - limits.outbox_age)
    oldest = stuck.aggregate(at=Min("created_at"))["at"]
    return rules.OutboxFacts(stuck.count(), oldest, _url("integrator:overview"))


def current_problems(now: datetime | None = None) -> list[rules.Problem]:
    """Every health problem right now (reads only)."""
    now = now or utcnow()
    limits = thresholds()
    facts = [integration_facts(i, now, limits) for i in Integration.objects.order_by("name")]
    return rules.evaluate(now, facts, outbox_facts(now, limits), limits)


# --- Evaluation with state and notifications ----------------------------------------------------------------------


@dataclass
class HealthRun:
    """What one health evaluation did."""

    open: list[str] = field(default_factory=list)
    opened: list[str] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _stored(row: HealthProblem) -> rules.StoredProblem:
    told = rules.Told(row.told) if row.told in {t.value for t in rules.Told} else rules.Told.NOTHING
    return rules.StoredProblem(row.key, row.opened_at, row.recovered_at, row.last_notified_at, told)


def evaluate_and_notify(now: datetime | None = None) -> HealthRun:
    """Evaluate the checks, open/recover problem rows, and send the notifications that are due."""
    from rmmbridge.integrator import metrics, notify

    now = now or utcnow()
    problems = current_problems(now)
    result = HealthRun(open=[p.key for p in problems])
    rows = {row.key: row for row in HealthProblem.objects.all()}
    stored = {key: _stored(row) for key, row in rows.items()}
    for move in rules.transitions(now, problems, stored, repeat_interval()):
        row = rows.get(move.key)
        old = stored.get(move.key)
        if row is None:
            assert move.problem is not None
            row = HealthProblem(key=move.key)
        if move.problem is not None:
            problem = move.problem
            row.kind, row.integration_id, row.channel = str(problem.kind), problem.integration_id, problem.channel
            row.title, row.evidence, row.fix_url = problem.title[:300], problem.evidence, problem.fix_url[:300]
            row.last_seen_at = now
            if old is None or not old.is_open:
                result.opened.append(move.key)
        elif move.state.recovered_at is not None and (old is None or old.is_open):
            result.recovered.append(move.key)
        row.opened_at, row.recovered_at = move.state.opened_at, move.state.recovered_at
        if move.notice is not None:
            try:
                notify.send(move.notice, row)
            except notify.NotifyFailed as exc:
                row.last_notify_error = str(exc)[:2000]
                result.errors.append(f"{move.key}: {exc}")
            else:
                row.last_notified_at, row.told = move.state.last_notified_at, str(move.state.told)
                row.notifications += 1
                row.last_notify_error = ""
                metrics.increment("rmmbridge_health_notifications_total", metrics.labels(notice=str(move.notice)))
                result.sent.append(f"{move.notice}:{move.key}")
        with transaction.atomic():
            row.save()
    return result


# --- Reading for pages, CLI and the dashboard --------------------------------------------------------------------


@dataclass
class ProblemView:
    """One open or recently recovered problem as pages and `rmmbridge status` show it."""

    key: str
    kind: str
    integration_id: int | None
    channel: str
    title: str
    evidence: str
    fix_url: str
    opened_at: str
    recovered_at: str | None
    last_notified_at: str | None


def _view(row: HealthProblem) -> ProblemView:
    return ProblemView(row.key, row.kind, row.integration_id, row.channel, row.title, row.evidence, row.fix_url,
                       row.opened_at.isoformat(), row.recovered_at.isoformat() if row.recovered_at else None,
                       row.last_notified_at.isoformat() if row.last_notified_at else None)


def open_problems() -> list[ProblemView]:
    """The open problems, as last evaluated by the integrator."""
    return [_view(row) for row in HealthProblem.objects.filter(recovered_at__isnull=True).order_by("opened_at", "id")]


def recent_recoveries(since: timedelta = timedelta(days=1), now: datetime | None = None) -> list[ProblemView]:
    cut = (now or utcnow()) - since
    return [_view(row) for row in HealthProblem.objects.filter(recovered_at__gte=cut).order_by("-recovered_at")]


def channel_health() -> list[dict[str, Any]]:
    """Per integration with alerting on and per push channel: "ok", "broken", "silent" or "unused"."""
    from rmmbridge.alerts.models import AlertingConfig

    kinds = {(row.integration_id, row.channel): row.kind
             for row in HealthProblem.objects.filter(recovered_at__isnull=True).exclude(channel="")}
    now = utcnow()
    limits = thresholds()
    result: list[dict[str, Any]] = []
    for config in AlertingConfig.objects.filter(enabled=True).select_related("integration").order_by(
            "integration__name"):
        integration = config.integration
        for channel in _channel_facts(integration, now, limits, learn=False):
            kind = kinds.get((integration.pk, channel.channel))
            state = ("broken" if kind == rules.ProblemKind.CHANNEL_BROKEN else "silent" if kind else
                     "ok" if channel.configured else "unused")
            result.append({"integration_id": integration.pk, "integration": integration.name,
                           "channel": channel.channel, "state": state})
    return result


def integration_summary() -> dict[int, dict[str, Any]]:
    """For the dashboard: per integration id, "ok" or "problem" with its open problems' titles and fix links."""
    summary: dict[int, dict[str, Any]] = {
        pk: {"state": "ok", "problems": []} for pk in Integration.objects.values_list("pk", flat=True)}
    for problem in open_problems():
        if problem.integration_id in summary:
            entry = summary[problem.integration_id]
            entry["state"] = "problem"
            entry["problems"].append({"title": problem.title, "evidence": problem.evidence,
                                      "fix_url": problem.fix_url})
    return summary


def as_json(views: Sequence[ProblemView]) -> list[dict[str, Any]]:
    return [asdict(v) for v in views]


def dumps(views: Sequence[ProblemView]) -> str:
    return json.dumps(as_json(views), indent=2)
