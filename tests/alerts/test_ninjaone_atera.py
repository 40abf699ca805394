"""End to end over HTTP: NinjaOne and Atera devices with the real APIs' quirks sync, and their alerts open tickets."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse

from rmmbridge.alerts.models import AlertEvent, Channel
from rmmbridge.alerts.opening import SEVERITY_PRIORITY
from rmmbridge.alerts.polling import RESOLVED_MARGIN, poll_alerts, resolved_since
from rmmbridge.alerts.setup import enable_alerting
from rmmbridge.common.clock import utcnow
from rmmbridge.connectors.http import RetryPolicy
from rmmbridge.connectors.testing.server import RunningEmulator, serve_emulator
from rmmbridge.integrations.actions import do_create_integration
from rmmbridge.integrations.models import ExternalRef, Integration, RefKind
from rmmbridge.servicedesk.actions import Actor, do_create_customer, do_create_end_user
from rmmbridge.servicedesk.models import Asset
from rmmbridge.sync import runner
from rmmbridge.sync.runner import run_sync
from rmmbridge.tickets.actions import do_create_ticket_type
from rmmbridge.tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "RETRY", RetryPolicy(max_retries=1, backoff_base=0.01, backoff_max=0.02,
                                                     retry_after_cap=0.05))


@pytest.fixture
def ninjaone() -> Iterator[RunningEmulator]:
    with serve_emulator("ninjaone", seed=5, customers=3, devices=24, alerts=6) as running:
        yield running


@pytest.fixture
def atera() -> Iterator[RunningEmulator]:
    with serve_emulator("atera", seed=5, customers=3, devices=30, alerts=6) as running:
        yield running


def asset_of(integration: Integration, external_id: str) -> Asset:
    ref = ExternalRef.objects.get(integration=integration, kind=RefKind.ASSET, external_id=external_id)
    return Asset.objects.get(pk=ref.object_id)


def synced_with_alerting(emulator: RunningEmulator, vendor: str) -> tuple[Integration, Any]:
    actor = Actor.cli("test")
    integration = do_create_integration(actor, vendor, vendor, dict(emulator.credentials), test=False)
    run = run_sync(integration.pk)
    assert run.status == "success", (run.errors, run.warnings)
    catchall = do_create_end_user(actor, do_create_customer(actor, "Alert Catchall").main_site, "New Alert User")
    ticket_type = do_create_ticket_type(actor, f"{vendor} alert", default_priority=3)
    enable_alerting(integration, ticket_type=ticket_type, new_alert_user=catchall)
    return integration, run


def test_ninjaone_devices_with_null_lists_sync_and_the_run_says_so(ninjaone: RunningEmulator,
                                                                  admin_client: Any) -> None:
    integration, run = synced_with_alerting(ninjaone, "ninjaone")
    state = ninjaone.state
    nulls = [state.device_at(i) for i in range(24) if i % 11 == 5]  # null ipAddresses, macAddresses and tags
    absent = [state.device_at(i) for i in range(24) if i % 11 == 8]  # the three lists left out
    for device in [*nulls, *absent]:
        assert device is not None
        assert asset_of(integration, device.id).name == device.hostname
    assert Asset.objects.count() == 24
    line = f"{len(nulls)} devices had unreadable fields: ipAddresses (null), macAddresses (null), tags (null)"
    assert line in run.warnings
    page = admin_client.get(reverse("sync:run_detail", args=[run.pk]))
    assert page.status_code == 200
    assert line in page.content.decode()


def test_ninjaone_alerts_without_severity_or_device_become_tickets_on_their_assets(ninjaone: RunningEmulator) -> None:
    integration, _ = synced_with_alerting(ninjaone, "ninjaone")
    result = poll_alerts(integration.pk)
    assert result.ok, result.message
    state = ninjaone.state
    open_alerts = state.open_alerts()
    assert result.opened == len(open_alerts) == 6
    for alert in open_alerts:
        ticket = Ticket.objects.get(alert_key=alert.id)
        assert ticket.assets.get() == asset_of(integration, alert.device_id)  # found by deviceId
        severity = state.severity_of(alert)[0]  # what the condition's activity says (when it says anything)
        if state.alert_number(alert) % 3 == 2:
            assert ticket.priority == 3  # no severity anywhere: the ticket type's default priority
        else:
            assert ticket.priority == SEVERITY_PRIORITY[severity.lower()], severity
        device = state.get_device(alert.device_id)
        assert device is not None
        assert device.hostname in ticket.summary  # the hostname came from the device lookup


def test_atera_alerts_link_by_agent_or_device_guid(atera: RunningEmulator) -> None:
    integration, _ = synced_with_alerting(atera, "atera")
    result = poll_alerts(integration.pk)
    assert result.ok, result.message
    state = atera.state
    guid_only = 0
    for alert in state.open_alerts():
        device = state.get_device(alert.device_id)
        assert device is not None
        external_id = f"snmp-{alert.device_id}" if state.is_snmp(device) else alert.device_id  # type: ignore[attr-defined]
        guid_only += "AgentId" not in state.alert_json(alert)  # type: ignore[attr-defined]
        ticket = Ticket.objects.get(alert_key=alert.id)
        assert ticket.assets.get() == asset_of(integration, external_id)
    assert guid_only  # some alerts carried only DeviceGuid, as Atera's documented examples do


def test_resolved_polls_start_at_the_previous_poll_minus_a_margin(atera: RunningEmulator) -> None:
    integration = do_create_integration(Actor.cli("test"), "atera", "Atera", dict(atera.credentials), test=False)
    lookback = timedelta(hours=24)
    before = utcnow()
    assert resolved_since(integration, lookback) >= before - lookback
    previous = utcnow() - timedelta(minutes=5)
    AlertEvent.objects.create(channel=Channel.POLL, integration=integration, raw=b"{}", received_at=previous)
    assert resolved_since(integration, lookback) == previous - RESOLVED_MARGIN
    AlertEvent.objects.filter(integration=integration).update(received_at=utcnow() - timedelta(days=3))
    assert resolved_since(integration, lookback) >= before - lookback  # never before the lookback


@pytest.mark.django_db
def test_the_captured_ninjaone_condition_webhook_opens_a_readable_ticket_on_its_asset() -> None:
    from django.test import Client
    from tests.connectors.samples import load_sample

    from .conftest import make_desk

    body = load_sample("ninjaone", "feasibility-webhook-condition-triggered.json")  # deviceId 7, type "Condition"
    desk = make_desk(vendor="ninjaone", name="NinjaOne", device_id=str(body["deviceId"]))
    config = desk.integration.alerting
    answer = Client().post(f"/hooks/ninjaone/{config.webhook_token}/", body, content_type="application/json",
                           headers={"X-Webhook-Secret": config.webhook_secret})
    assert answer.status_code == 202, answer.content
    ticket = Ticket.objects.get(pk=answer.json()["ticket_id"])
    assert ticket.assets.get() == desk.asset
    assert ticket.alert_key == body["seriesUid"]
    text = f"{ticket.summary}\n{ticket.details}"
    assert "Memory usage ≥ 80%" in text  # the condition, not "_average_" or "Condition"
    assert "_average_" not in ticket.summary
    assert "Memory Utilization is greater than or equal to 80% for 5 minutes" in text
