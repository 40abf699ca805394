"""Due-time logic under a frozen clock: what is due, when it is next due, and when nothing is scheduled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from rmmbridge.common.clock import utcnow
from rmmbridge.integrator.scheduling import (
    DEFAULT_INTERVALS,
    KIND_POLL,
    KIND_SYNC,
    LastRun,
    ScheduleFacts,
    due_jobs,
    next_runs,
    paused_reason,
    retry_delay,
    sync_entity_names,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def facts(**overrides: object) -> ScheduleFacts:
    values: dict[str, object] = {
        "integration_id": 7, "enabled": True, "integration_enabled": True, "intervals": dict(DEFAULT_INTERVALS),
    }
    values.update(overrides)
    return ScheduleFacts(**values)  # type: ignore[arg-type]


def all_ran_at(when: datetime) -> dict[str, LastRun]:
    return {entity: LastRun(when) for entity in DEFAULT_INTERVALS}


@freeze_time(T0)
def test_never_run_everything_is_due_at_once_sync_grouped_poll_separate() -> None:
    jobs = due_jobs(utcnow(), facts(), {}, "ok")
    assert [(job.kind, job.entities) for job in jobs] == [
        (KIND_SYNC, ("customers", "users", "assets")),
        (KIND_POLL, ("alerts",)),
    ]
    assert all(job.due_at == T0 for job in jobs)
    assert "never run" in jobs[0].reasons[0]


def test_alerts_every_five_minutes_assets_daily_under_a_frozen_clock() -> None:
    last = all_ran_at(T0)
    with freeze_time(T0 + timedelta(minutes=4, seconds=59)):
        assert due_jobs(utcnow(), facts(), last, "ok") == []
    with freeze_time(T0 + timedelta(minutes=5)):
        jobs = due_jobs(utcnow(), facts(), last, "ok")
        assert [(j.kind, j.entities) for j in jobs] == [(KIND_POLL, ("alerts",))]
        assert jobs[0].due_at == T0 + timedelta(minutes=5)
    with freeze_time(T0 + timedelta(hours=23, minutes=59)):
        assert [j.kind for j in due_jobs(utcnow(), facts(), last, "ok")] == [KIND_POLL]
    with freeze_time(T0 + timedelta(hours=24)):
        jobs = due_jobs(utcnow(), facts(), last, "ok")
        assert [(j.kind, j.entities) for j in jobs] == [
            (KIND_SYNC, ("customers", "users", "assets")), (KIND_POLL, ("alerts",)),
        ]


@freeze_time(T0)
def test_only_the_overdue_entities_are_synced_and_earliest_due_time_is_kept() -> None:
    last = all_ran_at(T0)
    last["users"] = LastRun(T0 - timedelta(hours=30))
    last["assets"] = LastRun(T0 - timedelta(hours=25))
    jobs = due_jobs(utcnow(), facts(), last, "ok")
    assert [(j.kind, j.entities) for j in jobs] == [(KIND_SYNC, ("users", "assets"))]
    assert jobs[0].due_at == T0 - timedelta(hours=6)


@freeze_time(T0)
def test_an_open_job_is_not_enqueued_twice() -> None:
    last = {"alerts": LastRun(T0 - timedelta(hours=1), open=True)}
    jobs = due_jobs(utcnow(), facts(intervals={"alerts": timedelta(minutes=5)}), last, "ok")
    assert jobs == []


@freeze_time(T0)
def test_unselected_entities_never_run() -> None:
    jobs = due_jobs(utcnow(), facts(intervals={"assets": timedelta(hours=1)}), {}, "ok")
    assert [(j.kind, j.entities) for j in jobs] == [(KIND_SYNC, ("assets",))]


@pytest.mark.parametrize(
    ("overrides", "status", "reason"),
    [
        ({"enabled": False}, "ok", "integrator is off"),
        ({"integration_enabled": False}, "ok", "integration is disabled"),
        ({}, "needs_reauth", "re-authentication"),
        ({}, "disabled", "status is disabled"),
    ],
)
@freeze_time(T0)
def test_nothing_is_scheduled_while_paused(overrides: dict[str, object], status: str, reason: str) -> None:
    schedule = facts(**overrides)
    assert due_jobs(utcnow(), schedule, {}, status) == []
    assert next_runs(utcnow(), schedule, {}, status) == {}
    assert reason in (paused_reason(schedule, status) or "")


@freeze_time(T0)
def test_failing_status_still_schedules() -> None:
    assert paused_reason(facts(), "failing") is None
    assert due_jobs(utcnow(), facts(), {}, "failing")


@freeze_time(T0)
def test_next_runs_now_when_overdue_else_last_plus_interval() -> None:
    last = all_ran_at(T0 - timedelta(minutes=2))
    last["customers"] = LastRun(T0 - timedelta(days=3))
    runs = next_runs(utcnow(), facts(), last, "ok")
    assert runs["alerts"] == T0 + timedelta(minutes=3)
    assert runs["assets"] == T0 - timedelta(minutes=2) + timedelta(hours=24)
    assert runs["customers"] == T0


@freeze_time(T0)
def test_interval_below_a_minute_is_raised_to_a_minute() -> None:
    last = {"alerts": LastRun(T0 - timedelta(seconds=30))}
    schedule = facts(intervals={"alerts": timedelta(seconds=1)})
    assert due_jobs(utcnow(), schedule, last, "ok") == []
    assert next_runs(utcnow(), schedule, last, "ok")["alerts"] == T0 + timedelta(seconds=30)


def test_retry_delay_grows_is_capped_and_honours_retry_after() -> None:
    assert [retry_delay(n, base=30) for n in (1, 2, 3)] == [30, 120, 480]
    assert retry_delay(9, base=30, cap=1800) == 1800
    assert retry_delay(1, base=30, retry_after=90) == 90
    assert retry_delay(1, base=30, retry_after=99999, cap=600) == 600


def test_customers_include_their_sites_for_the_sync_engine() -> None:
    assert sync_entity_names(["customers", "assets"]) == ["customers", "sites", "assets"]
