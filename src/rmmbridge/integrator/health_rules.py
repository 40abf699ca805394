"""Pure integration-health decisions: health problems from plain facts, and which notifications to send."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum


class ProblemKind(StrEnum):
    """What is wrong; each kind has its own reason text and fix link."""

    SYNC_STALE = "sync_stale"
    POLL_STALE = "poll_stale"
    CHANNEL_BROKEN = "channel_broken"
    CHANNEL_SILENT = "channel_silent"
    OUTBOX_STUCK = "outbox_stuck"
    CREDENTIALS_REJECTED = "credentials_rejected"
    GUARD_WAITING = "guard_waiting"


EMAIL = "email"
WEBHOOK = "webhook"
CHANNEL_WORDS: Mapping[str, str] = {EMAIL: "e-mail", WEBHOOK: "webhook"}


@dataclass(frozen=True)
class Thresholds:
    """The limits of the checks (environment variables in `integration_health.thresholds`)."""

    #: More than this many alerts in `poll_only_window` that reached rmmbridge only by polling mark a channel broken.
    poll_only_alerts: int = 5
    poll_only_window: timedelta = timedelta(hours=24)
    #: A sync or poll is stale when its last success is older than this many intervals.
    stale_factor: float = 2.0
    outbox_age: timedelta = timedelta(hours=1)
    #: Expected gaps are learnt from this much history, and only from at least `learn_min_events` events.
    learn_window: timedelta = timedelta(days=14)
    learn_min_events: int = 10
    learn_margin: float = 1.5
    min_expected_gap: timedelta = timedelta(hours=1)


@dataclass(frozen=True)
class ChannelFacts:
    """One push channel (e-mail or webhook) of one integration."""

    channel: str
    configured: bool
    last_event_at: datetime | None = None
    #: Set by hand (wins), else learnt from the last 14 days; None: not enough history to say.
    expected_gap: timedelta | None = None
    gap_learnt: bool = False


@dataclass(frozen=True)
class Links:
    """Where a person fixes each problem of one integration (URLs, rendered by the caller)."""

    integration: str = ""
    alerting: str = ""
    schedule: str = ""
    guard_run: str = ""


@dataclass(frozen=True)
class IntegrationFacts:
    """What the checks need to know about one integration."""

    integration_id: int
    name: str
    vendor_name: str
    enabled: bool = True
    status: str = "ok"
    last_error: str = ""
    integrator_enabled: bool = False
    #: The shortest selected sync interval, and the alert poll interval (None when not scheduled).
    sync_interval: timedelta | None = None
    poll_interval: timedelta | None = None
    #: Last successful sync / poll job, and the first one ever planned (for "never succeeded").
    last_sync_success_at: datetime | None = None
    first_sync_at: datetime | None = None
    last_poll_success_at: datetime | None = None
    first_poll_at: datetime | None = None
    #: Alerts first seen in the window that reached rmmbridge by polling and by no push channel.
    poll_only_alerts: int = 0
    alerting_enabled: bool = False
    channels: tuple[ChannelFacts, ...] = ()
    guard_waiting: bool = False
    links: Links = field(default_factory=Links)


@dataclass(frozen=True)
class OutboxFacts:
    """Resolves still pending in the outbox: how many are older than the limit, and the oldest one's age."""

    stuck: int = 0
    oldest_created_at: datetime | None = None
    link: str = ""


@dataclass(frozen=True)
class Problem:
    """One health problem: a stable key (for notification state), what is wrong, the evidence and the fix."""

    key: str
    kind: ProblemKind
    integration_id: int | None
    title: str
    evidence: str
    fix_url: str = ""
    channel: str = ""


def _age(now: datetime, then: datetime) -> str:
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:g} h" if seconds % 3600 == 0 else f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def learn_gap(event_times: Sequence[datetime], now: datetime, thresholds: Thresholds) -> timedelta | None:
    """The expected longest silence of a channel: its longest gap between events in the window, with a margin.

    None when the window holds fewer than `learn_min_events` events (not enough history to expect anything).
    """
    since = now - thresholds.learn_window
    times = sorted(t for t in event_times if since <= t <= now)
    if len(times) < max(2, thresholds.learn_min_events):
        return None
    longest = max(later - earlier for earlier, later in itertools.pairwise(times))
    return max(thresholds.min_expected_gap, longest * thresholds.learn_margin)


def _stale(now: datetime, what: str, interval: timedelta | None, last_ok: datetime | None, first: datetime | None,
           thresholds: Thresholds) -> str | None:
    if interval is None:
        return None
    limit = interval * thresholds.stale_factor
    if last_ok is not None:
        if now - last_ok <= limit:
            return None
        return (f"The last successful {what} was {_age(now, last_ok)} ago; it runs every {_span(interval)}, so it "
                f"should have succeeded within {_span(limit)}.")
    if first is not None and now - first > limit:
        return f"No {what} has succeeded since the first one was planned {_age(now, first)} ago."
    return None


def _channels_phrase(facts: IntegrationFacts, broken: Sequence[ChannelFacts]) -> str:
    names = {c.channel for c in broken}
    vendor = facts.vendor_name
    if names == {EMAIL}:
        return f"check the {vendor} monitor's e-mail recipient and the e-mail rule"
    if names == {WEBHOOK}:
        return f"check the webhook URL in {vendor}"
    return f"check the {vendor} monitor's e-mail recipient or the webhook URL"


def integration_problems(now: datetime, facts: IntegrationFacts, thresholds: Thresholds) -> list[Problem]:
    """The health problems of one integration (none while it is switched off)."""
    if not facts.enabled:
        return []
    problems: list[Problem] = []
    iid = facts.integration_id
    links = facts.links
    if facts.status == "needs_reauth":
        detail = f": {facts.last_error}" if facts.last_error else ""
        problems.append(Problem(
            f"{ProblemKind.CREDENTIALS_REJECTED}:{iid}", ProblemKind.CREDENTIALS_REJECTED, iid,
            f"{facts.name}: the RMM rejected the credentials",
            f"{facts.vendor_name} rejected the stored credentials{detail}. Syncs and polls are paused until they are "
            "entered again and tested.", links.integration))
    else:
        if facts.integrator_enabled:
            sync = _stale(now, "sync", facts.sync_interval, facts.last_sync_success_at, facts.first_sync_at, thresholds)
            if sync is not None:
                problems.append(Problem(f"{ProblemKind.SYNC_STALE}:{iid}", ProblemKind.SYNC_STALE, iid,
                                        f"{facts.name}: sync has not succeeded", sync, links.schedule))
            if facts.alerting_enabled:
                poll = _stale(now, "alert poll", facts.poll_interval, facts.last_poll_success_at, facts.first_poll_at,
                              thresholds)
                if poll is not None:
                    problems.append(Problem(f"{ProblemKind.POLL_STALE}:{iid}", ProblemKind.POLL_STALE, iid,
                                            f"{facts.name}: alert polling has not succeeded", poll, links.schedule))
        if facts.guard_waiting:
            problems.append(Problem(
                f"{ProblemKind.GUARD_WAITING}:{iid}", ProblemKind.GUARD_WAITING, iid,
                f"{facts.name}: a sync waits for confirmation",
                "The mass-deactivation guard stopped a sync: it would deactivate many assets. Review the run and "
                "confirm it, or fix the mapping.", links.guard_run or links.integration))
    if facts.alerting_enabled:
        problems.extend(_channel_problems(now, facts, thresholds))
    return problems


def _channel_problems(now: datetime, facts: IntegrationFacts, thresholds: Thresholds) -> list[Problem]:
    iid = facts.integration_id
    configured = [c for c in facts.channels if c.configured]
    problems: list[Problem] = []
    broken_names: set[str] = set()
    if configured and facts.poll_only_alerts > thresholds.poll_only_alerts:
        hours = _span(thresholds.poll_only_window)
        evidence = (f"{facts.poll_only_alerts} alerts in the last {hours} reached rmmbridge only by polling: "
                    f"{_channels_phrase(facts, configured)}.")
        for channel in configured:
            broken_names.add(channel.channel)
            word = CHANNEL_WORDS.get(channel.channel, channel.channel)
            problems.append(Problem(
                f"{ProblemKind.CHANNEL_BROKEN}:{iid}:{channel.channel}", ProblemKind.CHANNEL_BROKEN, iid,
                f"{facts.name}: the {word} channel is broken", evidence, facts.links.alerting, channel.channel))
    for channel in configured:
        if channel.channel in broken_names or channel.expected_gap is None or channel.last_event_at is None:
            continue
        silent = now - channel.last_event_at
        if silent <= channel.expected_gap:
            continue
        word = CHANNEL_WORDS.get(channel.channel, channel.channel)
        how = "learnt from the last 14 days" if channel.gap_learnt else "set by hand"
        problems.append(Problem(
            f"{ProblemKind.CHANNEL_SILENT}:{iid}:{channel.channel}", ProblemKind.CHANNEL_SILENT, iid,
            f"{facts.name}: the {word} channel is silent",
            f"No {word} alert has arrived for {_age(now, channel.last_event_at)}; the longest expected gap is "
            f"{_span(channel.expected_gap)} ({how}).", facts.links.alerting, channel.channel))
    return problems


def outbox_problems(now: datetime, outbox: OutboxFacts, thresholds: Thresholds) -> list[Problem]:
    """One problem while resolves have been pending longer than the limit."""
    if outbox.stuck <= 0:
        return []
    oldest = f"; the oldest was written {_age(now, outbox.oldest_created_at)} ago" if outbox.oldest_created_at else ""
    return [Problem(
        f"{ProblemKind.OUTBOX_STUCK}", ProblemKind.OUTBOX_STUCK, None,
        "Alert resolves are not reaching the RMM",
        f"{outbox.stuck} resolve(s) have been pending in the outbox for more than {_span(thresholds.outbox_age)}"
        f"{oldest}. Their last error says why; retry them once the RMM answers.", outbox.link)]


def evaluate(now: datetime, integrations: Sequence[IntegrationFacts], outbox: OutboxFacts,
             thresholds: Thresholds) -> list[Problem]:
    """Every current health problem, integrations in the order given, the outbox last."""
    problems: list[Problem] = []
    for facts in integrations:
        problems.extend(integration_problems(now, facts, thresholds))
    problems.extend(outbox_problems(now, outbox, thresholds))
    return problems


# --- Notification state -----------------------------------------------------------------------------------------


class Told(StrEnum):
    """What the admins were last told about a problem."""

    NOTHING = ""
    PROBLEM = "problem"
    RECOVERY = "recovery"


class NoticeKind(StrEnum):
    PROBLEM = "problem"
    REMINDER = "reminder"
    RECOVERY = "recovery"


@dataclass(frozen=True)
class StoredProblem:
    """The stored state of one problem key."""

    key: str
    opened_at: datetime
    recovered_at: datetime | None = None
    last_notified_at: datetime | None = None
    told: Told = Told.NOTHING

    @property
    def is_open(self) -> bool:
        return self.recovered_at is None


@dataclass(frozen=True)
class Transition:
    """What to do with one problem key now: its new state, and the message to send (None: send nothing)."""

    key: str
    state: StoredProblem
    notice: NoticeKind | None = None
    problem: Problem | None = None


def transitions(now: datetime, current: Sequence[Problem], stored: Mapping[str, StoredProblem],
                repeat: timedelta) -> list[Transition]:
    """Open, keep and recover problems; at most one message per problem per `repeat`, recovery told once.

    A problem is told when it opens, and reminded every `repeat` while it stays open; one that opens again
    within `repeat` of its last message waits for the interval. Its recovery is told once, only when the
    problem itself was told.
    """
    result: list[Transition] = []
    seen: set[str] = set()
    for problem in current:
        if problem.key in seen:
            continue
        seen.add(problem.key)
        old = stored.get(problem.key)
        may_send = old is None or old.last_notified_at is None or now - old.last_notified_at >= repeat
        if old is None or not old.is_open:
            state = StoredProblem(problem.key, now, None, old.last_notified_at if old else None,
                                  old.told if old else Told.NOTHING)
        else:
            state = old
        notice: NoticeKind | None = None
        if may_send:
            notice = NoticeKind.REMINDER if state.told is Told.PROBLEM else NoticeKind.PROBLEM
            state = StoredProblem(state.key, state.opened_at, None, now, Told.PROBLEM)
        result.append(Transition(problem.key, state, notice, problem))
    for key, old in stored.items():
        if key in seen or not old.is_open:
            continue
        if old.told is Told.PROBLEM:
            result.append(Transition(key, StoredProblem(key, old.opened_at, now, now, Told.RECOVERY),
                                     NoticeKind.RECOVERY))
        else:
            result.append(Transition(key, StoredProblem(key, old.opened_at, now, old.last_notified_at, old.told)))
    return result
