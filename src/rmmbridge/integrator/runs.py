"""Dead sync runs: a run whose process died (SIGKILL, crash, power) is closed as failed instead of staying running."""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from rmmbridge.common.clock import utcnow
from rmmbridge.integrator import locks

DEAD_RUN_MESSAGE = (
    "The process running this sync stopped without finishing it (killed or crashed): closed as failed. "
    "Rows applied before it stopped are kept; run the sync again to finish it."
)


def sync_lock_name(integration_id: int) -> str:
    """The lock every sync of an integration holds while it runs (integrator jobs and `rmmbridge sync`)."""
    return f"{locks.integration_lock_name(integration_id)}:sync"


def dead_run_grace() -> timedelta:
    """A running run this young is never judged dead (RMMBRIDGE_DEAD_RUN_GRACE seconds, default: the lock TTL)."""
    return timedelta(seconds=float(os.environ.get("RMMBRIDGE_DEAD_RUN_GRACE", str(locks.default_ttl()))))


def close_dead_sync_runs(now: datetime | None = None, *, integration_id: int | None = None,
                         lock_held_by_caller: bool = False) -> int:
    """Close the SyncRuns left `running` by a process that died; returns how many were closed.

    Syncs of one integration run one at a time under its sync lock, held and renewed for the whole run. So a
    running run is dead when nobody holds that lock (past a grace period), and every running run but the newest
    is dead whoever holds it. With `lock_held_by_caller` (the caller holds the lock and has not started its run
    yet) every running run of `integration_id` is dead.
    """
    from rmmbridge.sync.models import SyncRun, SyncStatus

    now = now or utcnow()
    running = SyncRun.objects.filter(status=SyncStatus.RUNNING)
    if integration_id is not None:
        running = running.filter(integration_id=integration_id)
    by_integration: dict[int, list[SyncRun]] = {}
    for run in running.order_by("-started_at", "-id").only("id", "integration_id", "started_at"):
        by_integration.setdefault(int(run.integration_id), []).append(run)
    dead: list[int] = []
    cut = now - dead_run_grace()
    for iid, runs in by_integration.items():
        if lock_held_by_caller and iid == integration_id:
            dead += [int(r.pk) for r in runs]
            continue
        newest, older = runs[0], runs[1:]
        dead += [int(r.pk) for r in older]
        if newest.started_at < cut and not locks.make_lock(sync_lock_name(iid)).is_held_by_anyone():
            dead.append(int(newest.pk))
    if not dead:
        return 0
    return SyncRun.objects.filter(pk__in=dead, status=SyncStatus.RUNNING).update(
        status=SyncStatus.FAILED, finished_at=now, message=DEAD_RUN_MESSAGE)
