"""The integrator against the Datto RMM emulator over HTTP: scheduled sync, then alert polls open and close tickets."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from rmmbridge.common.clock import utcnow
from rmmbridge.connectors.testing.server import RunningEmulator, serve_emulator
from rmmbridge.integrator import tasks
from rmmbridge.integrator.models import IntegratorSchedule, JobRun


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    with serve_emulator("datto_rmm", devices=20, alerts=0, customers=2) as running:
        yield running


def control(emulator: RunningEmulator, method: str, path: str, **kwargs: Any) -> Any:
    answer = httpx.request(method, f"{emulator.url}/_emulator{path}", timeout=10, **kwargs)
    answer.raise_for_status()
    return answer.json() if answer.content else None


def run_tick(now: Any) -> list[JobRun]:
    """One scheduler tick whose jobs run inline, as the embedded worker would run them."""
    sent: list[int] = []
    tasks.tick(now, dispatch=sent.append)
    return [job for job_id in sent if (job := tasks.execute_job(job_id)) is not None]


@pytest.fixture
def integration(db: Any, emulator: RunningEmulator) -> Any:
    from rmmbridge.alerts.setup import enable_alerting
    from rmmbridge.integrations.actions import do_create_integration
    from rmmbridge.integrator.actions import do_update_schedule
    from rmmbridge.servicedesk.actions import Actor, do_create_customer, do_create_end_user
    from rmmbridge.tickets.actions import do_create_ticket_type

    actor = Actor.cli("test")
    integration = do_create_integration(actor, "datto_rmm", "Datto", dict(emulator.credentials), test=True)
    catchall = do_create_customer(actor, "Alert Catchall")
    alert_user = do_create_end_user(actor, catchall.main_site, "New Alert User")
    ticket_type = do_create_ticket_type(actor, "RMM Alert", default_priority=2)
    enable_alerting(integration, ticket_type=ticket_type, new_alert_user=alert_user)
    do_update_schedule(actor, integration, {"enabled": True, "sync_users": False})
    return integration


def test_sync_then_polls_every_five_minutes_open_and_close_tickets(emulator: RunningEmulator, integration: Any,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from rmmbridge.servicedesk.models import Asset
    from rmmbridge.tickets.choices import TicketStatus
    from rmmbridge.tickets.models import Ticket

    monkeypatch.setenv("RMMBRIDGE_OUTBOX_BACKOFF_SECONDS", "0")
    start = utcnow()
    first = run_tick(start)
    assert [(job.kind, job.status) for job in first] == [("sync", "success"), ("poll", "success")]
    sync_job = next(job for job in first if job.kind == "sync")
    assert sync_job.entities == "customers,assets"
    assert sync_job.sync_run_id is not None
    assert Asset.objects.count() == sync_job.details["assets.created"] > 0
    assert Ticket.objects.count() == 0

    device = emulator.state.device_at(0)
    assert device is not None
    alert_id = control(emulator, "POST", "/alerts", json={"device_id": device.id, "message": "Disk C: 5% free"})[
        "alert_id"]
    assert run_tick(start + timedelta(minutes=4)) == [], "not due before 5 minutes"
    polled = [job for job in run_tick(start + timedelta(minutes=5)) if job.kind == "poll"]
    assert len(polled) == 1
    assert polled[0].details["alerts.opened"] == 1
    ticket = Ticket.objects.get()
    assert ticket.status != TicketStatus.CLOSED
    assert list(ticket.assets.values_list("name", flat=True)) == [device.hostname], "on the synced device's asset"

    control(emulator, "POST", f"/alerts/{alert_id}/resolve")
    polled = [job for job in run_tick(start + timedelta(minutes=10)) if job.kind == "poll"]
    assert polled[0].details["alerts.closed"] == 1
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CLOSED
    schedule = IntegratorSchedule.objects.get(integration=integration)
    assert schedule.last_status == "success"
    assert schedule.next_run_at is not None
    assert schedule.next_run_at <= start + timedelta(minutes=15, seconds=1)


def test_ticket_closed_here_is_resolved_in_the_rmm_by_the_outbox_job(emulator: RunningEmulator, integration: Any,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from rmmbridge.servicedesk.actions import Actor
    from rmmbridge.tickets.actions import do_close_ticket
    from rmmbridge.tickets.models import Ticket

    monkeypatch.setenv("RMMBRIDGE_OUTBOX_BACKOFF_SECONDS", "0")
    start = utcnow()
    run_tick(start)
    device = emulator.state.device_at(1)
    assert device is not None
    alert_id = control(emulator, "POST", "/alerts", json={"device_id": device.id, "message": "Offline"})["alert_id"]
    run_tick(start + timedelta(minutes=5))
    ticket = Ticket.objects.get()
    do_close_ticket(Actor.cli("tech"), ticket, note="Replaced the cable.")
    outbox = [job for job in run_tick(start + timedelta(minutes=6)) if job.kind == "outbox"]
    assert outbox[0].items == 1
    calls = [str(c["alert_id"]) for c in control(emulator, "GET", "/resolve-calls")]
    assert calls == [str(alert_id)]


def test_a_poll_rejected_by_the_rmm_moves_the_integration_to_needs_reauth(emulator: RunningEmulator,
                                                                          integration: Any) -> None:
    from rmmbridge.alerts.models import AlertingConfig

    start = utcnow()
    run_tick(start)
    # The API secret is rotated in the RMM and the current token expires: the next poll is refused.
    emulator.state.credentials["api_secret"] = "rotated-in-datto-" + emulator.state.credentials["api_secret"]
    control(emulator, "POST", "/expire-tokens")
    polled = [job for job in run_tick(start + timedelta(minutes=5)) if job.kind == "poll"]
    assert [(job.status, job.error_key) for job in polled] == [("failed", "invalid_auth")]
    integration.refresh_from_db()
    assert integration.status == "needs_reauth"
    assert "Polling Datto failed" in AlertingConfig.objects.get(integration=integration).last_poll_result
    assert run_tick(start + timedelta(minutes=10)) == [], "nothing is scheduled until the credentials are fixed"
