"""Embedded mode: the in-process scheduler and worker threads run due jobs without any other service."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.db import OperationalError

from rmmbridge.integrator import embedded
from rmmbridge.integrator.models import JobRun, JobStatus


@pytest.mark.django_db(transaction=True)
def test_embedded_scheduler_and_worker_run_due_jobs(monkeypatch: pytest.MonkeyPatch, recorder: Any) -> None:
    from tests.integrator.conftest import add_due_resolve

    from rmmbridge.alerts.models import AlertingConfig
    from rmmbridge.integrations.models import Integration
    from rmmbridge.integrator.actions import do_update_schedule
    from rmmbridge.servicedesk.actions import Actor

    integration = Integration.objects.create(vendor="datto_rmm", name="Embedded RMM", status="ok")
    AlertingConfig.objects.create(integration=integration, enabled=True)
    add_due_resolve(integration)
    do_update_schedule(Actor.system("test"), integration, {"enabled": True})
    monkeypatch.setenv("RMMBRIDGE_SCHEDULER_TICK", "0.2")
    # The in-memory test database of SQLite can refuse a write with "table is locked" while another thread
    # writes; a job lost that way is sent again by the scheduler after this many seconds.
    monkeypatch.setenv("RMMBRIDGE_REQUEUE_AFTER", "1")
    embedded.start(workers=1)
    try:
        assert embedded.is_running()
        embedded.start(workers=1)  # a second start in the same process does nothing
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                done = set(JobRun.objects.filter(status=JobStatus.SUCCESS).values_list("kind", flat=True))
            except OperationalError:
                continue
            if {"sync", "poll", "outbox"} <= done:
                break
            time.sleep(0.1)
    finally:
        embedded.stop()
    assert not embedded.is_running()
    assert {"sync", "poll", "outbox"} <= set(JobRun.objects.filter(status="success").values_list("kind", flat=True))
    # Each due sync and poll ran exactly once although the scheduler ticked many times.
    assert JobRun.objects.filter(kind="sync").count() == 1
    assert JobRun.objects.filter(kind="poll").count() == 1
    assert sorted(kind for kind, _, _ in recorder.calls if kind != "outbox") == ["poll", "sync"]
