"""Jobs on the database: planned once, executed idempotently under a lock, retried with backoff, re-auth handling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from freezegun import freeze_time

from rmmbridge.common.clock import utcnow
from rmmbridge.connectors.errors import ConnectorAuthError, ConnectorRateLimitedError, ConnectorUnavailableError
from rmmbridge.integrator import locks, tasks
from rmmbridge.integrator.actions import do_update_schedule
from rmmbridge.integrator.models import IntegratorSchedule, JobRun, JobStatus, ScheduleState
from rmmbridge.servicedesk.actions import Actor

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def tick_ids(now: datetime) -> list[int]:
    sent: list[int] = []
    tasks.tick(now, dispatch=sent.append)
    return sent


def jobs_of(ids: list[int]) -> list[tuple[str, str]]:
    return [(job.kind, job.entities) for job in JobRun.objects.filter(pk__in=ids).order_by("pk")]


def test_tick_enqueues_each_due_job_once_and_then_on_its_interval(schedule: Any, recorder: Any) -> None:
    with freeze_time(T0):
        first = tick_ids(T0)
        assert jobs_of(first) == [("sync", "customers,users,assets"), ("poll", "alerts")]
        assert tick_ids(T0 + timedelta(seconds=30)) == [], "open jobs are not enqueued again"
        for job_id in first:
            tasks.execute_job(job_id)
    assert sorted(kind for kind, _, _ in recorder.calls) == ["poll", "sync"]
    assert recorder.calls[0][2] == ["customers", "users", "assets"]
    schedule.refresh_from_db()
    assert schedule.state == ScheduleState.IDLE
    assert schedule.last_status == JobStatus.SUCCESS
    assert schedule.next_run_at == T0 + timedelta(minutes=5)
    assert tick_ids(T0 + timedelta(minutes=4)) == []
    assert jobs_of(tick_ids(T0 + timedelta(minutes=5))) == [("poll", "alerts")]
    assert tick_ids(T0 + timedelta(minutes=11)) == [], "the poll of minute 5 is still queued: not enqueued twice"
    for job in JobRun.objects.filter(status=JobStatus.QUEUED):
        tasks.execute_job(job.pk)
    later = tick_ids(T0 + timedelta(hours=24))
    assert jobs_of(later) == [("sync", "customers,users,assets"), ("poll", "alerts")]


def test_polls_are_scheduled_only_while_alerting_is_on(schedule: Any) -> None:
    from rmmbridge.alerts.models import AlertingConfig

    AlertingConfig.objects.filter(integration=schedule.integration).update(enabled=False)
    assert jobs_of(tick_ids(T0)) == [("sync", "customers,users,assets")]


def test_an_outbox_job_is_planned_only_when_a_resolve_is_due(schedule: Any, recorder: Any) -> None:
    from tests.integrator.conftest import add_due_resolve

    assert [kind for kind, _ in jobs_of(tick_ids(utcnow()))] == ["sync", "poll"]
    add_due_resolve(schedule.integration)
    outbox = jobs_of(tick_ids(utcnow()))
    assert outbox == [("outbox", "")]
    assert tick_ids(utcnow()) == [], "one outbox job at a time"


def test_integrator_off_schedules_nothing(integration: Any, recorder: Any) -> None:
    do_update_schedule(Actor.system("test"), integration, {"enabled": False})
    assert tick_ids(T0) == []
    assert IntegratorSchedule.objects.get(integration=integration).state == ScheduleState.OFF


def test_job_run_records_the_outcome(schedule: Any, recorder: Any) -> None:
    job = tasks.trigger_now(schedule.integration, "sync", ["assets"])
    done = tasks.execute_job(job.pk)
    assert done is not None
    assert (done.status, done.attempts, done.items, done.trigger) == ("success", 1, 3, "manual")
    assert done.started_at is not None
    assert done.finished_at is not None
    assert done.duration_ms is not None
    assert done.details == {"assets.created": 2, "assets.updated": 1}
    assert done.worker


def test_a_second_delivery_of_a_finished_job_does_nothing(schedule: Any, recorder: Any) -> None:
    job = tasks.trigger_now(schedule.integration, "sync")
    tasks.execute_job(job.pk)
    tasks.execute_job(job.pk)
    assert len(recorder.calls) == 1
    assert JobRun.objects.get(pk=job.pk).attempts == 1
    assert tasks.execute_job(999999) is None


def test_retryable_errors_are_retried_with_backoff_then_fail(schedule: Any, recorder: Any,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RMMBRIDGE_RETRY_BASE", "30")

    def unavailable(job: JobRun) -> tasks.Outcome:
        raise ConnectorUnavailableError("Datto RMM answered 503 three times")

    recorder.behaviour["sync"] = unavailable
    job = tasks.trigger_now(schedule.integration, "sync")
    now = T0
    waits = []
    for attempt in range(1, 5):
        with freeze_time(now):
            done = tasks.execute_job(job.pk)
        assert done is not None
        assert done.attempts == attempt
        if attempt < 4:
            assert done.status == JobStatus.DEFERRED
            assert done.not_before is not None
            waits.append((done.not_before - now).total_seconds())
            assert tasks.release_deferred(done.not_before - timedelta(seconds=1)) == []
            assert [j.pk for j in tasks.release_deferred(done.not_before)] == [job.pk]
            assert IntegratorSchedule.objects.get(pk=schedule.pk).state == ScheduleState.RETRYING
            now = done.not_before
    assert waits == [30, 120, 480]
    assert done.status == JobStatus.FAILED
    assert done.error == "Datto RMM answered 503 three times"
    assert done.error_key == "cannot_connect"
    assert "no attempts left" in done.notes
    schedule.refresh_from_db()
    assert schedule.state == ScheduleState.FAILED
    assert schedule.last_error == "Datto RMM answered 503 three times"


def test_retry_after_from_the_vendor_is_honoured(schedule: Any, recorder: Any) -> None:
    def limited(job: JobRun) -> tasks.Outcome:
        raise ConnectorRateLimitedError("429 Too Many Requests", retry_after=300)

    recorder.behaviour["poll"] = limited
    job = tasks.trigger_now(schedule.integration, "poll")
    with freeze_time(T0):
        done = tasks.execute_job(job.pk)
    assert done is not None
    assert done.not_before == T0 + timedelta(seconds=300)


def test_auth_failure_needs_reauth_stops_scheduling_and_shows_a_banner(schedule: Any, recorder: Any,
                                                                       admin_client: Any) -> None:
    def rejected(job: JobRun) -> tasks.Outcome:
        raise ConnectorAuthError("401 Unauthorized: the API key was revoked")

    recorder.behaviour["sync"] = rejected
    with freeze_time(T0):
        sync_job = JobRun.objects.get(pk=tick_ids(T0)[0])
        done = tasks.execute_job(sync_job.pk)
    assert done is not None
    assert done.status == JobStatus.FAILED
    assert done.attempts == 1
    integration = schedule.integration
    integration.refresh_from_db()
    assert integration.status == "needs_reauth"
    assert "revoked" in integration.last_error
    # Its other open jobs are skipped and nothing more is scheduled for it, not even when everything is overdue.
    assert set(JobRun.objects.values_list("status", flat=True)) == {"failed", "skipped"}
    assert tick_ids(T0 + timedelta(days=3)) == []
    assert IntegratorSchedule.objects.get(pk=schedule.pk).state == ScheduleState.PAUSED
    page = admin_client.get("/ops/").content.decode()
    assert 'id="reauth-banner"' in page
    assert "Acme RMM" in page
    assert "revoked" in page
    # Credentials fixed and tested: the banner goes and scheduling resumes.
    type(integration).objects.filter(pk=integration.pk).update(status="ok", last_error="")
    assert 'id="reauth-banner"' not in admin_client.get("/ops/").content.decode()
    assert [kind for kind, _ in jobs_of(tick_ids(T0 + timedelta(days=3)))] == ["sync", "poll"]


def test_a_held_lock_defers_the_job_without_running_it(schedule: Any, recorder: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RMMBRIDGE_LOCK_WAIT", "15")
    job = tasks.trigger_now(schedule.integration, "sync")
    other = locks.DatabaseLock(tasks.lock_name_for(job), ttl=60)
    assert other.acquire()
    with freeze_time(T0):
        done = tasks.execute_job(job.pk)
    assert recorder.calls == []
    assert done is not None
    assert done.status == JobStatus.DEFERRED
    assert done.attempts == 0
    assert done.not_before == T0 + timedelta(seconds=15)
    assert "holds the lock" in done.notes
    other.release()
    released = tasks.release_deferred(T0 + timedelta(seconds=15))
    assert [j.pk for j in released] == [job.pk]
    assert tasks.execute_job(job.pk).status == JobStatus.SUCCESS  # type: ignore[union-attr]


def test_syncs_and_polls_of_one_integration_have_separate_locks(schedule: Any) -> None:
    sync_job = tasks.trigger_now(schedule.integration, "sync")
    poll_job = tasks.trigger_now(schedule.integration, "poll")
    assert tasks.lock_name_for(sync_job) != tasks.lock_name_for(poll_job)
    assert tasks.lock_name_for(sync_job) == f"integration:{schedule.integration.pk}:sync"


def test_a_lost_worker_job_is_recovered_and_runs_again(schedule: Any, recorder: Any) -> None:
    job = tasks.trigger_now(schedule.integration, "sync")
    JobRun.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, attempts=1)
    holder = locks.DatabaseLock(tasks.lock_name_for(job), ttl=60)
    assert holder.acquire()
    assert tasks.recover_lost() == [], "a job whose lock is held is still running somewhere"
    holder.release()
    assert [j.pk for j in tasks.recover_lost()] == [job.pk]
    done = tasks.execute_job(job.pk)
    assert done is not None
    assert done.status == JobStatus.SUCCESS
    assert done.attempts == 2
    assert "worker lost" in done.notes


def test_redelivery_of_a_running_job_runs_it_again_once_the_lock_is_free(schedule: Any, recorder: Any) -> None:
    job = tasks.trigger_now(schedule.integration, "sync")
    JobRun.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, attempts=1)
    done = tasks.execute_job(job.pk)
    assert done is not None
    assert done.status == JobStatus.SUCCESS
    assert done.attempts == 2
    assert "delivered again" in done.notes
    assert len(recorder.calls) == 1


def test_a_handler_crash_is_recorded_not_raised(schedule: Any, recorder: Any) -> None:
    def crash(job: JobRun) -> tasks.Outcome:
        raise RuntimeError("disk full")

    recorder.behaviour["sync"] = crash
    done = tasks.execute_job(tasks.trigger_now(schedule.integration, "sync").pk)
    assert done is not None
    assert done.status == JobStatus.FAILED
    assert done.error == "RuntimeError: disk full"


def test_schedule_changes_are_validated_and_audited(integration: Any) -> None:
    from rmmbridge.servicedesk.models import AuditEntry

    saved = do_update_schedule(Actor.system("t"), integration, {"enabled": True, "alerts_interval_minutes": "10"})
    assert saved.alerts_interval_minutes == 10
    with pytest.raises(ValidationError, match=r"Alerts interval expects a whole number of minutes.*'soon'"):
        do_update_schedule(Actor.system("t"), integration, {"alerts_interval_minutes": "soon", "enabled": False})
    with pytest.raises(ValidationError, match="between 1 and"):
        do_update_schedule(Actor.system("t"), integration, {"users_interval_minutes": 0})
    with pytest.raises(ValidationError, match="Unknown schedule setting"):
        do_update_schedule(Actor.system("t"), integration, {"hourly": True})
    kept = IntegratorSchedule.objects.get(integration=integration)
    assert (kept.enabled, kept.alerts_interval_minutes, kept.users_interval_minutes) == (True, 10, 1440)
    assert AuditEntry.objects.filter(action="integrator_schedule").count() == 1


def test_database_lock_excludes_expires_and_releases_by_token_only(db: Any) -> None:
    first = locks.DatabaseLock("integration:1:sync", ttl=30)
    second = locks.DatabaseLock("integration:1:sync", ttl=30)
    with freeze_time(T0):
        assert first.acquire()
        assert not second.acquire()
        second.release()  # not the holder: does nothing
        assert first.is_held_by_anyone()
        assert first.renew()
    with freeze_time(T0 + timedelta(seconds=29)):
        assert not second.acquire()
    with freeze_time(T0 + timedelta(seconds=31)):
        assert second.acquire(), "an expired lock can be taken over"
        assert not first.renew(), "the old holder learns it lost the lock"
        first.release()
        assert second.is_held_by_anyone()
        second.release()
        assert not second.is_held_by_anyone()


def test_hold_raises_lock_busy(db: Any) -> None:
    with locks.hold("outbox", ttl=30), pytest.raises(locks.LockBusy), locks.hold("outbox", ttl=30):
        pass
    with locks.hold("outbox", ttl=30) as held:
        assert not held.lost


def test_deactivate_deleted_assets_sets_the_sync_engines_missing_device_action(integration: Any) -> None:
    from rmmbridge.sync.snapshot import sync_config

    do_update_schedule(Actor.system("t"), integration, {"deactivate_deleted_assets": False})
    assert sync_config(integration).missing_action == "nothing"
    do_update_schedule(Actor.system("t"), integration, {"deactivate_deleted_assets": True})
    assert sync_config(integration).missing_action == "deactivate"


def test_a_queued_job_nobody_picked_up_is_sent_again_after_a_while(schedule: Any) -> None:
    with freeze_time(T0):
        job = tasks.trigger_now(schedule.integration, "sync")
    assert tasks.recover_lost(T0 + timedelta(minutes=9), queued_after=timedelta(minutes=10)) == []
    resent = tasks.recover_lost(T0 + timedelta(minutes=11), queued_after=timedelta(minutes=10))
    assert [j.pk for j in resent] == [job.pk]
    assert tasks.recover_lost(T0 + timedelta(minutes=12), queued_after=timedelta(minutes=10)) == []
    assert len(tasks.recover_lost(T0 + timedelta(minutes=22), queued_after=timedelta(minutes=10))) == 1


def test_a_job_of_an_integration_needing_reauth_is_skipped_not_run(schedule: Any, recorder: Any) -> None:
    job = tasks.trigger_now(schedule.integration, "sync")
    type(schedule.integration).objects.filter(pk=schedule.integration.pk).update(status="needs_reauth")
    done = tasks.execute_job(job.pk)
    assert done is not None
    assert done.status == JobStatus.SKIPPED
    assert "needs_reauth" in done.error
    assert recorder.calls == []


def test_a_partial_sync_is_recorded_as_partial_and_not_retried(schedule: Any, recorder: Any) -> None:
    recorder.behaviour["sync"] = lambda job: tasks.Outcome(JobStatus.PARTIAL, 10,
                                                           "assets 'X': Field 'Warranty end' expects a date")
    job = tasks.trigger_now(schedule.integration, "sync")
    done = tasks.execute_job(job.pk)
    assert done is not None
    assert (done.status, done.attempts) == (JobStatus.PARTIAL, 1)
    assert "expects a date" in done.error



def test_a_running_job_shows_its_progress(schedule: Any) -> None:
    job = tasks.trigger_now(schedule.integration, "sync")
    note = tasks.ProgressNote(job, every=3600)
    note("fetch devices", 250)
    note("fetch devices", 500)  # too soon after the last write: skipped
    job.refresh_from_db()
    assert job.progress == "fetch devices: 250"
    note("assets", 1000, 1000)  # the end of a stage is always written
    job.refresh_from_db()
    assert job.progress == "assets: 1,000"


@pytest.mark.parametrize("boot_seconds", [0.0, 0.5, 1.9, 5_000_000.0])
def test_the_first_progress_note_is_written_whatever_the_monotonic_clock_reads(
    schedule: Any, boot_seconds: float
) -> None:
    """A machine booted moments ago has a small monotonic clock: the first note must still be written."""
    job = tasks.trigger_now(schedule.integration, "sync")
    clock = [boot_seconds]
    note = tasks.ProgressNote(job, every=2.0, clock=lambda: clock[0])
    note("fetch devices", 10)
    job.refresh_from_db()
    assert job.progress == "fetch devices: 10"
    clock[0] += 1.0
    note("fetch devices", 20)  # within `every` of the first: skipped
    job.refresh_from_db()
    assert job.progress == "fetch devices: 10"
    clock[0] += 1.5
    note("fetch devices", 30)
    job.refresh_from_db()
    assert job.progress == "fetch devices: 30"
