"""Job handlers (the JobRunner role): sync, alert poll and outbox delivery, each reporting an Outcome."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rmmbridge.integrator import scheduling
from rmmbridge.integrator.models import JobKind, JobRun, JobStatus


@dataclass
class Outcome:
    """What a job handler reports: final status, items processed, an error text, the SyncRun made."""

    status: str = JobStatus.SUCCESS
    items: int = 0
    error: str = ""
    sync_run_id: int | None = None
    details: dict[str, int] = field(default_factory=dict)


def _count_items(counts: Any) -> int:
    """Sum every integer in a (nested) mapping of counts."""
    if isinstance(counts, bool):
        return 0
    if isinstance(counts, int):
        return counts
    if isinstance(counts, Mapping):
        return sum(_count_items(value) for value in counts.values())
    return 0


def flatten_counts(counts: Any, prefix: str = "") -> dict[str, int]:
    """{"assets": {"created": 3}} → {"assets.created": 3}."""
    flat: dict[str, int] = {}
    if isinstance(counts, Mapping):
        for key, value in counts.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, int) and not isinstance(value, bool):
                flat[name] = value
            else:
                flat.update(flatten_counts(value, name))
    return flat


class ProgressNote:
    """Writes a running job's progress ("fetch devices: 12,500") to its row, at most every `every` seconds."""

    def __init__(self, job: JobRun, every: float = 2.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.job_id = job.pk
        self.every = every
        self.clock = clock
        #: None until the first note: the first note is always written, whatever the monotonic clock reads.
        self.last: float | None = None

    def __call__(self, stage: str, done: int, total: int = 0) -> None:
        now = self.clock()
        stage_end = bool(total and done >= total)
        if self.last is not None and now - self.last < self.every and not stage_end:
            return
        self.last = now
        text = f"{stage}: {done:,}" + (f" of {total:,}" if total and total != done else "")
        JobRun.objects.filter(pk=self.job_id).update(progress=text[:200])


def _requested_by(options: Mapping[str, Any]) -> Any:
    """The user who asked for a job in the UI, or None (schedule, CLI, a deleted user)."""
    from django.contrib.auth import get_user_model

    user_id = options.get("user_id")
    return get_user_model().objects.filter(pk=user_id).first() if user_id else None


def handle_sync(job: JobRun) -> Outcome:
    """Run the sync engine for the job's entities, or what a person asked for in the UI (job.options)."""
    from rmmbridge.sync.models import SyncRun, SyncStatus, SyncTrigger
    from rmmbridge.sync.runner import apply_rows, run_sync

    assert job.integration_id is not None
    options = job.options or {}
    user = _requested_by(options)
    trigger = SyncTrigger.UI if options.get("user_id") else SyncTrigger.SCHEDULE
    actor_label = str(options.get("actor_label") or "integrator")
    if options.get("apply_run"):
        preview = SyncRun.objects.select_related("integration").get(pk=int(options["apply_run"]),
                                                                    integration_id=job.integration_id)
        rows = options.get("rows")
        run = apply_rows(preview, [int(r) for r in rows] if rows is not None else None, trigger=trigger,
                         actor_label=actor_label, user=user)
    else:
        run = run_sync(
            job.integration_id,
            entities=scheduling.sync_entity_names(job.entity_list),
            trigger=trigger,
            actor_label=actor_label,
            dry_run=bool(options.get("dry_run")),
            confirm=bool(options.get("confirm")),
            user=user,
            device_types=[str(t) for t in options.get("device_types") or []] or None,
            progress=ProgressNote(job),
        )
    status = str(run.status)
    error = str(run.message or "; ".join(str(e) for e in (run.errors or [])[:5]))
    statuses: dict[str, JobStatus] = {
        SyncStatus.SUCCESS: JobStatus.SUCCESS,
        SyncStatus.PLANNED: JobStatus.SUCCESS,  # a preview is done once its plan is stored
        SyncStatus.PARTIAL: JobStatus.PARTIAL,
        SyncStatus.FAILED: JobStatus.FAILED,
    }
    mapped = statuses.get(status)
    if mapped is None and trigger == SyncTrigger.UI:  # the person who asked sees the guard's question on the run's page
        mapped = JobStatus.SUCCESS
    if mapped is None:  # needs_confirmation: the mass-deactivation guard stopped the run
        mapped = JobStatus.FAILED
        error = error or (
            f"Sync stopped with status '{status}': the mass-deactivation guard needs a person to confirm "
            "the run on the Imports page."
        )
    return Outcome(
        mapped,
        _count_items(run.counts or {}),
        error if mapped != JobStatus.SUCCESS else "",
        sync_run_id=run.pk,
        details=flatten_counts(run.counts or {}),
    )


def handle_poll(job: JobRun) -> Outcome:
    """Poll the RMM's open and recently resolved alerts (skipped while alerting is off for the integration)."""
    from rmmbridge.alerts.models import AlertingConfig
    from rmmbridge.alerts.polling import poll_alerts

    assert job.integration_id is not None
    if not AlertingConfig.objects.filter(integration_id=job.integration_id, enabled=True).exists():
        return Outcome(JobStatus.SKIPPED, error="Alerting is off for this integration; switch it on in its "
                       "Alerting setup, or untick 'Poll alerts' in the integrator schedule.")
    result = poll_alerts(job.integration_id, trigger="schedule", raise_connector_errors=True)
    counts = {
        "open_alerts": result.open_alerts, "resolved_alerts": result.resolved_alerts, "opened": result.opened,
        "noted": result.noted, "closed": result.closed, "ignored": result.ignored, "rejected": result.rejected,
    }
    details = {f"alerts.{name}": value for name, value in counts.items()}
    items = result.open_alerts + result.resolved_alerts
    if not result.ok:
        return Outcome(JobStatus.FAILED, items, result.message, details=details)
    return Outcome(JobStatus.SUCCESS, items, details=details)


def handle_outbox(job: JobRun) -> Outcome:
    """Deliver due alert resolves to the RMMs."""
    from rmmbridge.alerts.outbox import deliver_due

    delivered = int(deliver_due(limit=100))
    return Outcome(JobStatus.SUCCESS, delivered, details={"resolves.delivered": delivered})


HANDLERS: dict[str, Callable[[JobRun], Outcome]] = {
    JobKind.SYNC: handle_sync,
    JobKind.POLL: handle_poll,
    JobKind.OUTBOX: handle_outbox,
}
