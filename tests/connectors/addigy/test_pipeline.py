"""Addigy alerts end to end over HTTP: the emulator POSTs AddigyAlerts to rmmbridge's webhook endpoint (live server),
which opens a ticket on the linked asset and closes it when Addigy reports the alert resolved."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from rmmbridge.alerts.models import AlertEvent, AlertState
from rmmbridge.common.clock import utcnow
from rmmbridge.connectors.addigy import const
from rmmbridge.connectors.testing.server import RunningEmulator, serve_emulator
from rmmbridge.tickets.choices import TicketStatus
from rmmbridge.tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    with serve_emulator(const.SLUG, seed=9, customers=1, devices=6, alerts=0) as running:
        yield running


def make_addigy_desk(emulator: RunningEmulator, agentid: str) -> Any:
    """A customer with one Mac asset linked to the Addigy device, and alerting switched on for the integration."""
    from rmmbridge.alerts.setup import enable_alerting
    from rmmbridge.integrations.models import ExternalRef, Integration, RefKind
    from rmmbridge.servicedesk.actions import (
        Actor,
        AssetInput,
        do_create_asset_group,
        do_create_asset_type,
        do_create_customer,
        do_create_end_user,
        do_upsert_asset,
    )
    from rmmbridge.tickets.actions import do_create_ticket_type

    actor = Actor.cli("test")
    customer = do_create_customer(actor, "Acme Dental Group")
    laptop = do_create_asset_type(actor, "Laptop", do_create_asset_group(actor, "Macs"))
    site, catchall_site = customer.main_site, do_create_customer(actor, "Alert Catchall").main_site
    assert site is not None
    assert catchall_site is not None
    asset, _ = do_upsert_asset(actor, AssetInput(asset_type=laptop, site=site, name="Erin's MacBook"))
    integration = Integration(vendor=const.SLUG, name="Addigy")
    integration.set_credentials(dict(emulator.credentials))
    integration.save()
    now = utcnow()
    ExternalRef.objects.create(integration=integration, kind=RefKind.ASSET, external_id=agentid,
                               object_id=asset.pk, first_seen=now, last_seen=now)
    enable_alerting(integration, ticket_type=do_create_ticket_type(actor, "Mac alert", default_priority=2),
                    new_alert_user=do_create_end_user(actor, catchall_site, "Alert User"))
    return integration, asset


def control(emulator: RunningEmulator, path: str, **body: Any) -> Any:
    answer = httpx.post(f"{emulator.url}/_emulator{path}", json=body, timeout=20)
    assert answer.status_code < 300, answer.text
    return answer.json()


def test_addigy_alert_webhooks_open_and_close_a_ticket(emulator: RunningEmulator, live_server: Any) -> None:
    device = emulator.state.device_at(2)
    assert device is not None
    integration, asset = make_addigy_desk(emulator, device.id)
    config = integration.alerting
    url = f"{live_server.url}/hooks/{const.SLUG}/{config.webhook_token}/"
    alert_id = control(emulator, "/alerts", device_id=device.id, alert_type="perf_resource_usage",
                       priority="Moderate")["alert_id"]
    sent = control(emulator, "/send-webhook", alert_id=alert_id, url=url, secret=config.webhook_secret)
    assert sent["status"] == 202, sent
    ticket = Ticket.objects.get()
    assert ticket.assets.get() == asset
    assert ticket.source == "webhook"
    assert "Low Free Disk Space" in ticket.details
    assert AlertState.objects.get(ticket=ticket).external_id == alert_id
    assert control(emulator, "/send-webhook", alert_id=alert_id, url=url, secret="wrong")["status"] == 401
    control(emulator, f"/alerts/{alert_id}/resolve")
    control(emulator, "/send-webhook", alert_id=alert_id, url=url, secret=config.webhook_secret)
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CLOSED
    assert AlertEvent.objects.count() == 2


def test_polled_addigy_alerts_open_a_ticket_on_their_asset_and_close_it(emulator: RunningEmulator) -> None:
    from rmmbridge.alerts.polling import poll_alerts

    device = emulator.state.device_at(3)
    assert device is not None
    integration, asset = make_addigy_desk(emulator, device.id)
    alert_id = control(emulator, "/alerts", device_id=device.id, alert_type="perf_resource_usage",
                       priority="Critical")["alert_id"]
    result = poll_alerts(int(integration.pk))
    assert result.ok, result.message
    assert result.opened == 1
    ticket = Ticket.objects.get()
    assert ticket.assets.get() == asset
    assert AlertState.objects.get(ticket=ticket).external_id == alert_id
    control(emulator, f"/alerts/{alert_id}/resolve")
    result = poll_alerts(int(integration.pk))
    assert result.ok, result.message
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CLOSED


def test_a_system_event_that_is_not_an_alert_is_recorded_as_ignored(emulator: RunningEmulator,
                                                                      live_server: Any) -> None:
    device = emulator.state.device_at(1)
    assert device is not None
    integration, _ = make_addigy_desk(emulator, device.id)
    config = integration.alerting
    url = f"{live_server.url}/hooks/{const.SLUG}/{config.webhook_token}/"
    event = {"level": "info", "action": {"name": "Policy deployed", "details": "Base policy deployed"},
             "sender": {"identifier": "user@msp.example", "name": "Tech", "type": "user"},
             "receiver": {"identifier": device.id, "name": device.hostname, "type": "device"},
             "result": {"status": "success"}, "date": "2026-01-01T12:00:00Z"}
    answer = httpx.post(url, json=event, headers={"X-Webhook-Secret": config.webhook_secret}, timeout=20)
    assert answer.status_code < 300, answer.text
    stored = AlertEvent.objects.get()
    assert stored.status == "processed"
    assert "Ignored: Addigy system event 'Policy deployed'" in stored.reason
    assert not Ticket.objects.exists()
    alert_event = {**event, "level": "warning", "action": {"name": "Alert triggered", "alert_id": "al-77",
                                                           "details": "Disk almost full"}}
    answer = httpx.post(url, json=alert_event, headers={"X-Webhook-Secret": config.webhook_secret}, timeout=20)
    assert answer.status_code < 300, answer.text
    ticket = Ticket.objects.get()
    assert "Disk almost full" in ticket.details
    assert AlertState.objects.get(ticket=ticket).external_id == "al-77"
