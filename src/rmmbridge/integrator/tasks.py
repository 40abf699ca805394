"""Compatibility façade: the integrator's job names re-exported from the modules that define them."""

# Patch a name where it is looked up, never here: monkeypatching this façade does not reach the callers.
# handlers (sync, poll, outbox), schedules, planning, execution, dispatch and tick hold the code.

from __future__ import annotations

from rmmbridge.integrator.dispatch import dispatch_job, trigger_now
from rmmbridge.integrator.execution import (
    NOTES_LIMIT,
    OUTBOX_LOCK,
    close_orphan_sync_runs,
    execute_job,
    lock_name_for,
    lock_wait_seconds,
    retry_base_seconds,
    worker_label,
)
from rmmbridge.integrator.handlers import (
    HANDLERS,
    Outcome,
    ProgressNote,
    flatten_counts,
    handle_outbox,
    handle_poll,
    handle_sync,
)
from rmmbridge.integrator.planning import (
    close_dead_sync_runs,
    outbox_due,
    plan_due,
    plan_outbox,
    prune_history,
    recover_lost,
    release_deferred,
    requeue_after,
)
from rmmbridge.integrator.schedules import (
    alerting_enabled,
    facts_of,
    integration_status,
    last_runs_of,
    open_entities,
    refresh_next_run,
    schedule_for,
)
from rmmbridge.integrator.tick import (
    TickResult,
    check_health,
    process_stranded_events,
    release_maintenance,
    tick,
)

__all__ = [
    "HANDLERS", "NOTES_LIMIT", "OUTBOX_LOCK", "Outcome", "ProgressNote", "TickResult", "alerting_enabled",
    "check_health", "close_dead_sync_runs", "close_orphan_sync_runs", "dispatch_job", "execute_job", "facts_of",
    "flatten_counts", "handle_outbox", "handle_poll", "handle_sync", "integration_status", "last_runs_of",
    "lock_name_for", "lock_wait_seconds", "open_entities", "outbox_due", "plan_due", "plan_outbox",
    "process_stranded_events", "prune_history", "recover_lost", "refresh_next_run", "release_deferred",
    "release_maintenance", "requeue_after", "retry_base_seconds", "schedule_for", "tick", "trigger_now",
    "worker_label",
]
