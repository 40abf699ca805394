"""Distributed mode on real services: Celery workers on Redis, one scheduler, PostgreSQL, emulated RMMs over HTTP."""

from __future__ import annotations

import itertools
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import require_service
from tests.integrator.distributed import (
    RUN_ID,
    Services,
    flush_redis,
    fresh_database,
    pg_available,
    redis_available,
    wait_for,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

E2E_DB = os.environ.get("RMMBRIDGE_INTEGRATOR_E2E_DB", f"rmmbridge_integrator_{RUN_ID}")
NO_ALERTS = {"enabled": True, "poll_alerts": False}


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    require_service(pg_available(), "PostgreSQL at 127.0.0.1:5432")
    require_service(redis_available(), "Redis at 127.0.0.1:6379")
    flush_redis()
    with fresh_database(E2E_DB) as url:
        running = Services(url, tmp_path, RMMBRIDGE_LOCK_TTL="4", RMMBRIDGE_BROKER_VISIBILITY_TIMEOUT="8",
                           RMMBRIDGE_RETRY_BASE="1", RMMBRIDGE_LOCK_WAIT="1")
        running.migrate()
        try:
            yield running
        finally:
            running.stop_all()
            flush_redis()


def no_audits(emulator: Any) -> dict[str, Any]:
    """Datto credentials without audits: these tests time scheduling, not Datto's 500-a-minute audit pace."""
    return {**emulator.credentials, "fetch_audits": False}


def distinct_account(emulator: Any, name: str) -> Any:
    """Each emulated RMM is its own tenant (rmmbridge refuses to add one account twice)."""
    emulator.state.account_uid = f"acct-{name.lower().replace(' ', '-')}"
    return no_audits(emulator)


def live_devices(emulator: Any) -> int:
    return sum(1 for device in emulator.state.iter_devices() if not device.deleted)


def asset_facts(services: Services, integration_id: int) -> tuple[int, int, int]:
    """(linked asset refs, distinct assets they point at, assets in the database)."""
    refs, distinct = services.query(
        "SELECT count(*), count(DISTINCT object_id) FROM integrations_externalref WHERE integration_id = %s "
        "AND kind = 'asset'", integration_id)[0]
    return refs, distinct, services.scalar("SELECT count(*) FROM servicedesk_asset")


def workers_answer(services: Services, *names: str) -> bool:
    """True when every named Celery worker answers a ping through the broker."""
    try:
        out = services.run("-m", "celery", "-A", "rmmbridge.celery", "inspect", "ping", "--timeout", "2",
                           "--destination", ",".join(names), timeout=30)
    except AssertionError:
        return False
    return all(f"{name}: OK" in out for name in names)


def test_two_workers_and_a_scheduler_sync_several_integrations_once(services: Services) -> None:
    from rmmbridge.connectors.testing.server import serve_emulator

    with serve_emulator("datto_rmm", seed=1, devices=150) as em1, \
            serve_emulator("datto_rmm", seed=2, devices=200) as em2, \
            serve_emulator("datto_rmm", seed=3, devices=250) as em3:
        emulators = [em1, em2, em3]
        ids = services.setup([
            {"vendor": "datto_rmm", "name": f"RMM {n}", "credentials": distinct_account(em, f"RMM {n}"),
             "schedule": NO_ALERTS}
            for n, em in enumerate(emulators, 1)
        ])
        services.worker("w1")
        services.worker("w2")
        # Both workers must be consuming before the first tick, or the first one up may take every job.
        wait_for(lambda: workers_answer(services, "w1@e2e", "w2@e2e"), 60, "both workers to answer a ping", services)
        services.start("scheduler", "scheduler", "--interval", "1")
        wait_for(lambda: services.scalar(
            "SELECT count(*) FROM integrator_jobrun WHERE kind = 'sync' AND status = 'success'") == 3,
            90, "three successful syncs", services)
        time.sleep(2.5)  # a few more scheduler ticks: nothing may be enqueued twice
        jobs = services.query("SELECT integration_id, status, attempts, sync_run_id, worker, notes "
                              "FROM integrator_jobrun WHERE kind = 'sync' ORDER BY integration_id")
        assert [(row[0], row[1]) for row in jobs] == [(i, "success") for i in ids], "one job per integration"
        # First imports running side by side race to create the same asset types and fields; the sync engine
        # reads the winner's record back and uses it, so every job succeeds at its first attempt.
        assert [row[2] for row in jobs] == [1, 1, 1], [row[5] for row in jobs]
        assert len({row[4].rsplit(":", 1)[-1] for row in jobs}) >= 2, "both workers ran syncs"
        runs = services.query("SELECT id, integration_id, status, trigger FROM sync_syncrun ORDER BY id")
        latest = {r[1]: r for r in runs}
        assert [(latest[i][2], latest[i][3]) for i in ids] == [("success", "schedule")] * 3
        assert sorted(row[3] for row in jobs) == sorted(latest[i][0] for i in ids)
        assert {r[2] for r in runs if r[0] not in {row[3] for row in jobs}} <= {"partial"}
        total = 0
        for integration_id, em in zip(ids, emulators, strict=True):
            refs, distinct, _ = asset_facts(services, integration_id)
            assert refs == distinct == live_devices(em)
            total += refs
        assert services.scalar("SELECT count(*) FROM servicedesk_asset") == total
        schedules = services.query("SELECT state, last_status, next_run_at > now() + interval '23 hours' "
                                   "FROM integrator_integratorschedule ORDER BY integration_id")
        assert schedules == [("idle", "success", True)] * 3
        ticks = services.scalar("SELECT value FROM integrator_metriccounter WHERE name = %s",
                                "rmmbridge_scheduler_last_tick_timestamp_seconds")
        assert ticks is not None, "the scheduler records its ticks"
        assert time.time() - ticks < 10


def test_a_worker_killed_mid_sync_is_redelivered_and_leaves_no_duplicates(services: Services) -> None:
    from rmmbridge.connectors.testing.server import serve_emulator

    with serve_emulator("datto_rmm", seed=5, devices=3000, customers=6) as em:
        [integration_id] = services.setup([
            {"vendor": "datto_rmm", "name": "Big RMM", "credentials": no_audits(em), "schedule": {}},
        ])
        expected = live_devices(em)
        first = services.worker("doomed")
        job_id = services.trigger(integration_id, "sync")

        def mid_apply() -> bool:
            assets = services.scalar("SELECT count(*) FROM servicedesk_asset")
            if assets >= expected:
                raise AssertionError(f"the sync finished before it could be killed\n{services.logs()}")
            return assets > 0

        wait_for(mid_apply, 90, "the first worker to commit part of the assets", services, interval=0.02)
        services.kill(first)  # SIGKILL the worker and its pool process in the middle of applying the sync
        partial = services.scalar("SELECT count(*) FROM servicedesk_asset")
        assert 0 < partial < expected
        status, attempts = services.query("SELECT status, attempts FROM integrator_jobrun WHERE id = %s", job_id)[0]
        assert (status, attempts) == ("running", 1)
        services.worker("survivor")
        wait_for(lambda: services.scalar("SELECT status FROM integrator_jobrun WHERE id = %s", job_id) == "success",
                 120, "the redelivered sync to finish on the second worker", services)
        status, attempts, notes, worker, sync_run_id = services.query(
            "SELECT status, attempts, notes, worker, sync_run_id FROM integrator_jobrun WHERE id = %s", job_id)[0]
        assert (status, attempts) == ("success", 2)
        assert "delivered again" in notes
        assert services.scalar("SELECT count(*) FROM integrator_jobrun") == 1
        runs = services.query("SELECT id, status, message FROM sync_syncrun ORDER BY id")
        assert [r[1] for r in runs] == ["failed", "success"]
        assert "worker running this sync was lost" in runs[0][2]
        assert runs[1][0] == sync_run_id
        refs, distinct, assets = asset_facts(services, integration_id)
        assert refs == distinct == assets == expected, "no duplicate assets after the redelivery"
        dupes = services.scalar("SELECT count(*) FROM (SELECT external_id FROM integrations_externalref "
                                "GROUP BY integration_id, kind, external_id HAVING count(*) > 1) d")
        assert dupes == 0
        assert worker


def test_the_lock_holds_under_concurrent_triggers(services: Services) -> None:
    from rmmbridge.connectors.testing.server import serve_emulator

    with serve_emulator("datto_rmm", seed=7, devices=800, faults=["slow:GET:/api/v2/account/devices:times=0,delay=0.3"]
                        ) as em:
        [integration_id] = services.setup([
            {"vendor": "datto_rmm", "name": "Busy RMM", "credentials": no_audits(em), "schedule": {}},
        ])
        services.worker("c1")
        services.worker("c2")
        job_ids = [services.trigger(integration_id, "sync") for _ in range(3)]
        services.start("scheduler", "scheduler", "--interval", "1")  # releases deferred jobs
        wait_for(lambda: services.scalar(
            "SELECT count(*) FROM integrator_jobrun WHERE kind = 'sync' AND status = 'success'") == 3,
            120, "three syncs of one integration to finish", services)
        spans = services.query("SELECT started_at, finished_at FROM integrator_jobrun WHERE id = ANY(%s) "
                               "ORDER BY started_at", job_ids)
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert end <= start, "two syncs of one integration overlapped"
        notes = services.query("SELECT notes FROM integrator_jobrun WHERE id = ANY(%s)", job_ids)
        assert any("holds the lock" in row[0] for row in notes), "the triggers really contended for the lock"
        runs = services.query("SELECT started_at, finished_at, status FROM sync_syncrun ORDER BY started_at")
        assert [r[2] for r in runs] == ["success"] * 3
        for (_, end, _), (start, _, _) in itertools.pairwise(runs):
            assert end <= start
        refs, distinct, assets = asset_facts(services, integration_id)
        assert refs == distinct == assets == live_devices(em)


def test_a_killed_pool_process_is_requeued_by_its_worker(services: Services) -> None:
    """Only the process running the task dies: the worker's main process rejects the task back to the queue."""
    from rmmbridge.connectors.testing.server import serve_emulator

    with serve_emulator("datto_rmm", seed=9, devices=600,
                        faults=["slow:GET:/api/v2/account/devices:times=0,delay=1"]) as em:
        [integration_id] = services.setup([
            {"vendor": "datto_rmm", "name": "Slow RMM", "credentials": no_audits(em), "schedule": {}},
        ])
        worker = services.worker("solo")
        job_id = services.trigger(integration_id, "sync")
        label = wait_for(lambda: services.scalar(
            "SELECT worker FROM integrator_jobrun WHERE id = %s AND status = 'running'", job_id),
            60, "the sync to start", services)
        # Kill it in the middle of the sync itself (its run recorded, the slow device pages still coming).
        wait_for(lambda: services.scalar("SELECT count(*) FROM sync_syncrun WHERE status = 'running'") == 1,
                 30, "the sync run to be recorded", services)
        pool_pid = int(label.rsplit(":", 1)[1])
        assert pool_pid != worker.pid
        os.kill(pool_pid, signal.SIGKILL)
        wait_for(lambda: services.scalar("SELECT status FROM integrator_jobrun WHERE id = %s", job_id) == "success",
                 90, "the requeued sync to finish", services)
        assert worker.poll() is None, "the worker itself survived"
        attempts, notes, label_after = services.query(
            "SELECT attempts, notes, worker FROM integrator_jobrun WHERE id = %s", job_id)[0]
        assert attempts == 2
        assert "delivered again" in notes
        assert label_after != label
        assert [r[0] for r in services.query("SELECT status FROM sync_syncrun ORDER BY id")] == ["failed", "success"]
        refs, distinct, assets = asset_facts(services, integration_id)
        assert refs == distinct == assets == live_devices(em)
