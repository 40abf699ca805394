"""Fixtures for the integrator tests: an integration with its schedule, and recording job handlers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from rmmbridge.integrator import handlers
from rmmbridge.integrator.models import JobRun, JobStatus


@pytest.fixture
def integration(db: Any) -> Any:
    from rmmbridge.integrations.models import Integration

    return Integration.objects.create(vendor="datto_rmm", name="Acme RMM", status="ok")


@pytest.fixture
def schedule(integration: Any) -> Any:
    """The integrator on, with alerting on so alert polls are scheduled too."""
    from rmmbridge.alerts.models import AlertingConfig
    from rmmbridge.integrator.actions import do_update_schedule
    from rmmbridge.servicedesk.actions import Actor

    AlertingConfig.objects.create(integration=integration, enabled=True)
    return do_update_schedule(Actor.system("test"), integration, {"enabled": True})


def add_due_resolve(integration: Any) -> Any:
    """A resolve waiting in the outbox, so the scheduler plans an outbox job."""
    from rmmbridge.alerts.models import ResolveOutbox
    from rmmbridge.common.clock import utcnow

    return ResolveOutbox.objects.create(integration=integration, external_id="alert-1", next_attempt_at=utcnow(),
                                        created_at=utcnow())


class Recorder:
    """Job handlers that record each call, and optionally raise or return a chosen outcome."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, list[str]]] = []
        self.behaviour: dict[str, Callable[[JobRun], handlers.Outcome]] = {}

    def handler(self, kind: str) -> Callable[[JobRun], handlers.Outcome]:
        def run(job: JobRun) -> handlers.Outcome:
            self.calls.append((kind, job.pk, job.entity_list))
            if kind in self.behaviour:
                return self.behaviour[kind](job)
            return handlers.Outcome(JobStatus.SUCCESS, items=3, details={"assets.created": 2, "assets.updated": 1})

        return run


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    rec = Recorder()
    for kind in ("sync", "poll", "outbox"):
        monkeypatch.setitem(handlers.HANDLERS, kind, rec.handler(kind))
    return rec
