"""The pure health decisions, with plain data: problems from facts, learnt gaps, and notification transitions."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from rmmbridge.integrator.health_rules import (
    EMAIL,
    WEBHOOK,
    ChannelFacts,
    IntegrationFacts,
    Links,
    NoticeKind,
    OutboxFacts,
    Problem,
    ProblemKind,
    StoredProblem,
    Thresholds,
    Told,
    evaluate,
    integration_problems,
    learn_gap,
    transitions,
)

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
T = Thresholds()


def facts(**kwargs: object) -> IntegrationFacts:
    base: dict[str, object] = {"integration_id": 3, "name": "Acme", "vendor_name": "Datto RMM",
                               "alerting_enabled": True, "links": Links(alerting="/alerts/integration/3/")}
    base.update(kwargs)
    return IntegrationFacts(**base)  # type: ignore[arg-type]


def kinds(problems: list[Problem]) -> list[str]:
    return [str(p.kind) for p in problems]


def test_alerts_only_by_polling_mark_the_configured_channel_broken_with_the_evidence() -> None:
    both = facts(poll_only_alerts=12, channels=(ChannelFacts(EMAIL, True), ChannelFacts(WEBHOOK, True)))
    problems = integration_problems(NOW, both, T)
    assert kinds(problems) == ["channel_broken", "channel_broken"]
    assert [p.channel for p in problems] == [EMAIL, WEBHOOK]
    assert problems[0].evidence == ("12 alerts in the last 24 h reached rmmbridge only by polling: check the Datto RMM "
                                    "monitor's e-mail recipient or the webhook URL.")
    assert problems[0].fix_url == "/alerts/integration/3/"
    email_only = facts(poll_only_alerts=6, channels=(ChannelFacts(EMAIL, True), ChannelFacts(WEBHOOK, False)))
    [problem] = integration_problems(NOW, email_only, T)
    assert problem.key == "channel_broken:3:email"
    assert "e-mail recipient and the e-mail rule" in problem.evidence


def test_the_threshold_is_more_than_n_and_nothing_is_broken_without_a_push_channel() -> None:
    at_threshold = facts(poll_only_alerts=T.poll_only_alerts, channels=(ChannelFacts(EMAIL, True),))
    assert integration_problems(NOW, at_threshold, T) == []
    no_push = facts(poll_only_alerts=50, channels=(ChannelFacts(EMAIL, False), ChannelFacts(WEBHOOK, False)))
    assert integration_problems(NOW, no_push, T) == []
    alerting_off = facts(poll_only_alerts=50, alerting_enabled=False, channels=(ChannelFacts(EMAIL, True),))
    assert integration_problems(NOW, alerting_off, T) == []


def test_sync_and_poll_are_stale_after_twice_their_interval() -> None:
    ok = facts(integrator_enabled=True, sync_interval=timedelta(hours=1), last_sync_success_at=NOW - timedelta(hours=2),
               poll_interval=timedelta(minutes=5), last_poll_success_at=NOW - timedelta(minutes=10))
    assert integration_problems(NOW, ok, T) == []
    late = facts(integrator_enabled=True, sync_interval=timedelta(hours=1),
                 last_sync_success_at=NOW - timedelta(hours=2, minutes=1),
                 poll_interval=timedelta(minutes=5), first_poll_at=NOW - timedelta(minutes=11))
    problems = integration_problems(NOW, late, T)
    assert kinds(problems) == ["sync_stale", "poll_stale"]
    assert problems[0].evidence == ("The last successful sync was 2.0 h ago; it runs every 1 h, so it should have "
                                    "succeeded within 2 h.")
    assert problems[1].evidence == "No alert poll has succeeded since the first one was planned 11 min ago."
    off = facts(integrator_enabled=False, sync_interval=timedelta(hours=1),
                last_sync_success_at=NOW - timedelta(days=9))
    assert integration_problems(NOW, off, T) == []


def test_rejected_credentials_replace_the_stale_checks_and_a_waiting_guard_is_a_problem() -> None:
    rejected = facts(status="needs_reauth", last_error="401 Unauthorized", integrator_enabled=True,
                     sync_interval=timedelta(hours=1), last_sync_success_at=NOW - timedelta(days=3),
                     links=Links(integration="/integrations/3/"))
    [problem] = integration_problems(NOW, rejected, T)
    assert problem.kind is ProblemKind.CREDENTIALS_REJECTED
    assert "401 Unauthorized" in problem.evidence
    assert problem.fix_url == "/integrations/3/"
    guard = facts(guard_waiting=True, links=Links(integration="/i/3/", guard_run="/imports/runs/9/"))
    [problem] = integration_problems(NOW, guard, T)
    assert problem.kind is ProblemKind.GUARD_WAITING
    assert problem.fix_url == "/imports/runs/9/"
    assert integration_problems(NOW, facts(enabled=False, status="needs_reauth"), T) == []


def test_a_channel_silent_longer_than_its_expected_gap() -> None:
    hand = ChannelFacts(EMAIL, True, last_event_at=NOW - timedelta(hours=7), expected_gap=timedelta(hours=6))
    [problem] = integration_problems(NOW, facts(channels=(hand,)), T)
    assert problem.kind is ProblemKind.CHANNEL_SILENT
    assert problem.evidence == "No e-mail alert has arrived for 7.0 h; the longest expected gap is 6 h (set by hand)."
    quiet_enough = ChannelFacts(EMAIL, True, last_event_at=NOW - timedelta(hours=5), expected_gap=timedelta(hours=6))
    unknown = ChannelFacts(WEBHOOK, True, last_event_at=NOW - timedelta(days=5), expected_gap=None)
    assert integration_problems(NOW, facts(channels=(quiet_enough, unknown)), T) == []


def test_learn_gap_needs_history_and_takes_the_longest_gap_with_a_margin() -> None:
    hourly = [NOW - timedelta(hours=h) for h in range(1, 12)]
    assert learn_gap(hourly[:5], NOW, T) is None
    hourly.append(NOW - timedelta(hours=15))  # one 4-hour gap (11 h → 15 h ago)
    assert learn_gap(hourly, NOW, T) == timedelta(hours=6)
    old = [NOW - timedelta(days=20, hours=h) for h in range(30)]
    assert learn_gap(old, NOW, T) is None, "events older than 14 days teach nothing"


@given(st.lists(st.integers(min_value=0, max_value=14 * 24 * 60), min_size=0, max_size=60))
@settings(max_examples=100, deadline=None)
def test_learnt_gap_covers_every_gap_seen(minutes_ago: list[int]) -> None:
    times = [NOW - timedelta(minutes=m) for m in minutes_ago]
    gap = learn_gap(times, NOW, T)
    if gap is None:
        assert len(times) < T.learn_min_events
        return
    ordered = sorted(times)
    assert all(later - earlier <= gap for earlier, later in itertools.pairwise(ordered))
    assert gap >= T.min_expected_gap


def test_outbox_rows_pending_over_an_hour() -> None:
    assert evaluate(NOW, [], OutboxFacts(), T) == []
    [problem] = evaluate(NOW, [], OutboxFacts(stuck=2, oldest_created_at=NOW - timedelta(hours=3), link="/ops/"), T)
    assert problem.kind is ProblemKind.OUTBOX_STUCK
    assert problem.evidence.startswith("2 resolve(s) have been pending in the outbox for more than 1 h; the oldest was "
                                       "written 3.0 h ago.")


PROBLEM = Problem("channel_broken:3:email", ProblemKind.CHANNEL_BROKEN, 3, "broken", "evidence")
DAY = timedelta(hours=24)


def test_a_problem_is_told_once_per_interval_and_its_recovery_once() -> None:
    stored: dict[str, StoredProblem] = {}
    sent: list[tuple[int, NoticeKind]] = []
    for minute in range(0, 26 * 60, 5):  # the problem for 26 hours, one evaluation every 5 minutes
        for move in transitions(NOW + timedelta(minutes=minute), [PROBLEM], stored, DAY):
            stored[move.key] = move.state
            if move.notice:
                sent.append((minute, move.notice))
    assert sent == [(0, NoticeKind.PROBLEM), (24 * 60, NoticeKind.REMINDER)]
    later = NOW + timedelta(hours=27)
    [move] = transitions(later, [], stored, DAY)
    assert move.notice is NoticeKind.RECOVERY
    assert move.state.recovered_at == later
    stored[move.key] = move.state
    assert transitions(later + timedelta(minutes=5), [], stored, DAY) == []


def test_a_problem_back_within_the_interval_waits_then_is_told() -> None:
    told = StoredProblem(PROBLEM.key, NOW, NOW + timedelta(hours=1), NOW + timedelta(hours=1), Told.RECOVERY)
    [move] = transitions(NOW + timedelta(hours=2), [PROBLEM], {PROBLEM.key: told}, DAY)
    assert move.notice is None
    assert move.state.is_open
    assert move.state.opened_at == NOW + timedelta(hours=2)
    [move] = transitions(NOW + timedelta(hours=25), [PROBLEM], {PROBLEM.key: move.state}, DAY)
    assert move.notice is NoticeKind.PROBLEM


@given(st.lists(st.booleans(), min_size=1, max_size=200), st.integers(min_value=1, max_value=48))
@settings(max_examples=100, deadline=None)
def test_never_more_than_one_problem_message_per_interval(present: list[bool], repeat_steps: int) -> None:
    step = timedelta(minutes=30)
    repeat = step * repeat_steps
    stored: dict[str, StoredProblem] = {}
    problem_times: list[datetime] = []
    open_told = False
    for index, there in enumerate(present):
        now = NOW + step * index
        for move in transitions(now, [PROBLEM] if there else [], stored, repeat):
            stored[move.key] = move.state
            if move.notice in (NoticeKind.PROBLEM, NoticeKind.REMINDER):
                problem_times.append(now)
                open_told = True
            elif move.notice is NoticeKind.RECOVERY:
                assert open_told, "a recovery only follows a told problem"
                open_told = False
    assert all(b - a >= repeat for a, b in itertools.pairwise(problem_times))
