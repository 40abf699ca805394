"""End to end against the Datto RMM emulator over HTTP and SMTP: e-mail, polling, webhooks and the resolve outbox."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from rmmbridge.alerts.intake.smtp import SMTPReceiver
from rmmbridge.alerts.models import AlertEvent, AlertState, OutboxStatus, ResolveOutbox
from rmmbridge.alerts.outbox import deliver_due
from rmmbridge.alerts.polling import poll_alerts
from rmmbridge.common.clock import utcnow
from rmmbridge.connectors.testing.server import RunningEmulator, serve_emulator
from rmmbridge.servicedesk.actions import Actor
from rmmbridge.tickets.actions import do_close_ticket
from rmmbridge.tickets.choices import TicketStatus
from rmmbridge.tickets.models import Ticket

from .conftest import Desk, make_desk

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    with serve_emulator("datto_rmm", devices=12, alerts=0, customers=2) as running:
        yield running


@pytest.fixture
def world(emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> Desk:
    """The desk's asset is the emulator's first device (same hostname, linked by device uid)."""
    monkeypatch.setenv("RMMBRIDGE_OUTBOX_BACKOFF_SECONDS", "0")
    device = emulator.state.device_at(0)
    assert device is not None
    desk = make_desk(device_id=device.id, credentials=dict(emulator.credentials))
    desk.asset.name = device.hostname
    desk.asset.save()
    config = desk.integration.alerting
    config.from_address = "noreply@centrastage.net"
    config.save()
    for rule in desk.integration.email_rules.all():
        rule.from_address = "noreply@centrastage.net"
        rule.save()
    return desk


def control(emulator: RunningEmulator, method: str, path: str, **kwargs: Any) -> Any:
    answer = httpx.request(method, f"{emulator.url}/_emulator{path}", timeout=10, **kwargs)
    answer.raise_for_status()
    return answer.json() if answer.content else None


def raise_alert(emulator: RunningEmulator, device_index: int = 0, message: str = "Disk C: below 10% free") -> str:
    device = emulator.state.device_at(device_index)
    assert device is not None
    return str(control(emulator, "POST", "/alerts", json={"device_id": device.id, "message": message})["alert_id"])


def resolve_calls(emulator: RunningEmulator) -> list[str]:
    return [str(c["alert_id"]) for c in control(emulator, "GET", "/resolve-calls") if c.get("status", 200) < 300]


def test_alert_email_over_smtp_becomes_one_ticket_then_counts_then_resolves(
    emulator: RunningEmulator, world: Desk
) -> None:
    alert_id = raise_alert(emulator)
    with SMTPReceiver("127.0.0.1", 0) as receiver:
        sent = control(emulator, "POST", "/send-alert-email",
                       json={"alert_id": alert_id, "smtp_host": "127.0.0.1", "smtp_port": receiver.port,
                             "to": "desk@example.com"})
        assert f"Alert{{{alert_id}}}" in sent["subject"]
        ticket = Ticket.objects.get()
        assert ticket.assets.get() == world.asset
        assert (ticket.customer, ticket.end_user) == (world.customer, world.user)
        assert ticket.alert_key == alert_id
        # The RMM sends the alert again (new Message-ID): a note and a count, still one ticket.
        control(emulator, "POST", "/send-alert-email",
                json={"alert_id": alert_id, "smtp_host": "127.0.0.1", "smtp_port": receiver.port, "to": "d@x"})
    assert Ticket.objects.count() == 1
    ticket.refresh_from_db()
    assert ticket.occurrences == 2

    do_close_ticket(Actor.cli("tech"), ticket, note="Cleaned up the disk")
    assert deliver_due() == 1
    assert alert_id in resolve_calls(emulator)
    assert emulator.state.alerts[alert_id].resolved
    # The next poll sees the alert resolved: no second close, no second resolve.
    result = poll_alerts(int(world.integration.pk))
    assert result.ok, result.message
    assert result.closed == 0
    assert ResolveOutbox.objects.count() == 1
    assert ticket.actions.filter(kind="closed").count() == 1


def test_resolve_survives_two_failed_calls(emulator: RunningEmulator, world: Desk) -> None:
    alert_id = raise_alert(emulator)
    assert poll_alerts(int(world.integration.pk)).opened == 1
    ticket = Ticket.objects.get()
    control(emulator, "POST", "/faults", json={"spec": f"500:POST:/api/v2/alert/{alert_id}/resolve:times=2"})
    do_close_ticket(Actor.cli("tech"), ticket)
    assert deliver_due() == 0
    row = ResolveOutbox.objects.get()
    assert row.status == OutboxStatus.PENDING
    assert row.attempts == 1
    assert "500" in row.last_error or "Unavailable" in row.last_error
    assert deliver_due() == 0
    row.refresh_from_db()
    assert row.attempts == 2
    assert deliver_due() == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.DELIVERED, 3)
    assert resolve_calls(emulator).count(alert_id) == 1
    assert deliver_due() == 0  # delivered rows are never sent again


def test_backoff_delays_the_next_attempt(emulator: RunningEmulator, world: Desk,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RMMBRIDGE_OUTBOX_BACKOFF_SECONDS", "60")
    alert_id = raise_alert(emulator)
    poll_alerts(int(world.integration.pk))
    control(emulator, "POST", "/faults", json={"spec": f"500:POST:/api/v2/alert/{alert_id}/resolve:times=1"})
    do_close_ticket(Actor.cli("tech"), Ticket.objects.get())
    assert deliver_due() == 0
    row = ResolveOutbox.objects.get()
    assert (row.next_attempt_at - utcnow()).total_seconds() > 50
    assert deliver_due() == 0  # not due yet
    assert ResolveOutbox.objects.get().attempts == 1


def test_resolving_in_the_emulator_closes_the_ticket_on_the_next_poll(emulator: RunningEmulator, world: Desk) -> None:
    alert_id = raise_alert(emulator)
    first = poll_alerts(int(world.integration.pk))
    assert (first.opened, first.open_alerts) == (1, 1)
    again = poll_alerts(int(world.integration.pk))
    assert (again.opened, again.noted, Ticket.objects.count()) == (0, 0, 1)
    control(emulator, "POST", f"/alerts/{alert_id}/resolve")
    result = poll_alerts(int(world.integration.pk))
    assert result.closed == 1, result.message
    ticket = Ticket.objects.get()
    assert ticket.status == TicketStatus.CLOSED
    assert ticket.actions.filter(text__contains="The alert was resolved in Datto").exists()
    assert ResolveOutbox.objects.count() == 0  # no echo back to the RMM
    assert resolve_calls(emulator) == []


def test_poll_ticket_is_on_the_device_asset(emulator: RunningEmulator, world: Desk) -> None:
    raise_alert(emulator, 0)
    raise_alert(emulator, 5, "Offline")
    result = poll_alerts(int(world.integration.pk))
    assert result.opened == 2
    on_asset = Ticket.objects.filter(assets=world.asset).get()
    assert on_asset.source == "poll"
    assert on_asset.customer == world.customer
    # Device 5 has no asset here: its ticket goes to the integration's New Alert User.
    fallback = Ticket.objects.exclude(pk=on_asset.pk).get()
    assert (fallback.customer, fallback.end_user, fallback.assets.count()) == (world.other_customer,
                                                                              world.alert_user, 0)


def test_emulator_webhook_opens_and_resolves(emulator: RunningEmulator, world: Desk, live_server: Any) -> None:
    config = world.integration.alerting
    url = f"{live_server.url}/hooks/datto_rmm/{config.webhook_token}/"
    alert_id = raise_alert(emulator)
    answer = control(emulator, "POST", "/send-webhook",
                     json={"alert_id": alert_id, "url": url, "secret": config.webhook_secret})
    assert answer["status"] == 202, answer
    ticket = Ticket.objects.get()
    assert ticket.assets.get() == world.asset
    assert ticket.source == "webhook"
    bad = control(emulator, "POST", "/send-webhook", json={"alert_id": alert_id, "url": url, "secret": "wrong"})
    assert bad["status"] == 401
    assert AlertEvent.objects.count() == 1
    control(emulator, "POST", f"/alerts/{alert_id}/resolve")
    control(emulator, "POST", "/send-webhook", json={"alert_id": alert_id, "url": url, "secret": config.webhook_secret})
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CLOSED
    assert AlertState.objects.get(key=alert_id).resolved_at is not None


def test_email_for_unknown_hostname_finds_the_device_through_the_api(emulator: RunningEmulator, world: Desk) -> None:
    alert_id = raise_alert(emulator)
    world.asset.name = "renamed-here"
    world.asset.save()
    with SMTPReceiver("127.0.0.1", 0) as receiver, smtplib.SMTP("127.0.0.1", receiver.port) as _smtp:
        control(emulator, "POST", "/send-alert-email",
                json={"alert_id": alert_id, "smtp_host": "127.0.0.1", "smtp_port": receiver.port, "to": "d@x"})
    assert Ticket.objects.get().assets.get() == world.asset


def test_ninjaone_webhook_activities_open_and_reset(live_server: Any) -> None:
    with serve_emulator("ninjaone", devices=6, alerts=0, customers=1) as ninja:
        device = ninja.state.device_at(0)
        assert device is not None
        desk = make_desk(vendor="ninjaone", name="Ninja", device_id=str(device.id),
                         credentials=dict(ninja.credentials))
        config = desk.integration.alerting
        url = f"{live_server.url}/hooks/ninjaone/{config.webhook_token}/"
        alert_id = raise_alert(ninja)
        sent = control(ninja, "POST", "/send-webhook",
                       json={"alert_id": alert_id, "url": url, "secret": config.webhook_secret})
        assert sent["status"] == 202, sent
        ticket = Ticket.objects.get()
        assert ticket.assets.get() == desk.asset
        assert AlertState.objects.get(ticket=ticket).external_id == alert_id
        assert control(ninja, "POST", "/send-webhook",
                       json={"alert_id": alert_id, "url": url, "secret": "nope"})["status"] == 401
        control(ninja, "POST", f"/alerts/{alert_id}/resolve")
        control(ninja, "POST", "/send-webhook", json={"alert_id": alert_id, "url": url,
                                                      "secret": config.webhook_secret})
        ticket.refresh_from_db()
        assert ticket.status == TicketStatus.CLOSED
        # Closing here instead would resolve through NinjaOne's API: reopen, raise anew, close, deliver.
        second = raise_alert(ninja, 0, "CPU high")
        assert poll_alerts(int(desk.integration.pk)).opened == 1
        do_close_ticket(Actor.cli("tech"), Ticket.objects.get(alert_key=second))
        assert deliver_due() == 1
        assert second in resolve_calls(ninja)


def test_alert_missing_from_the_open_list_is_closed_but_not_when_the_list_is_incomplete(
    emulator: RunningEmulator, world: Desk
) -> None:
    alert_id = raise_alert(emulator)
    raise_alert(emulator, 1, "Offline")
    assert poll_alerts(int(world.integration.pk)).opened == 2
    ticket = Ticket.objects.get(alert_key=alert_id)
    # The alert vanishes from the RMM without a resolved record (e.g. deleted): a malformed page first…
    with emulator.state.lock:
        del emulator.state.alerts[alert_id]
    control(emulator, "POST", "/faults", json={"spec": "malformed-item:GET:/api/v2/account/alerts/open"})
    incomplete = poll_alerts(int(world.integration.pk))
    assert incomplete.closed == 0, incomplete.message
    ticket.refresh_from_db()
    assert ticket.status != TicketStatus.CLOSED
    # …then a complete list: the backstop closes it.
    complete = poll_alerts(int(world.integration.pk))
    assert complete.closed == 1, complete.message
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CLOSED
    assert ResolveOutbox.objects.count() == 0


def test_a_poll_event_explains_each_outcome_and_reads_as_indented_json(emulator: RunningEmulator, world: Desk,
                                                                       admin_client: Any) -> None:
    raise_alert(emulator)
    raise_alert(emulator, message="CPU above 95% for 15 minutes")
    assert poll_alerts(int(world.integration.pk)).opened == 2
    again = poll_alerts(int(world.integration.pk))
    event = AlertEvent.objects.get(pk=again.event_id)
    assert event.reason.startswith("2 ")
    assert "(" in event.reason, event.reason  # why, not only how many
    page = admin_client.get(f"/alerts/events/{event.pk}/").content.decode()
    assert '{\n  &quot;' in page  # the JSON payload, indented
    ticket = Ticket.objects.first()
    assert ticket is not None
    history = admin_client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "RMM alert via polling" in history
    assert "(Alert)" not in history
