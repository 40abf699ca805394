"""Datto RMM webhooks through the real endpoint: keys in any case, test fires answered 200 without a ticket."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from tests.alerts.conftest import Desk, make_desk

from rmmbridge.alerts.models import AlertEvent, EventStatus
from rmmbridge.connectors.datto_rmm.alerts import WEBHOOK_TEMPLATE, parse_webhook
from rmmbridge.connectors.errors import WebhookTestDelivery
from rmmbridge.connectors.records import AlertState
from rmmbridge.tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(db: Any) -> Desk:
    return make_desk()


def post(desk: Desk, body: dict[str, Any]) -> Any:
    url = f"/hooks/datto_rmm/{desk.integration.alerting.webhook_token}/"
    return Client().post(url, json.dumps(body).encode(), content_type="application/json",
                         headers={"X-Webhook-Secret": desk.integration.alerting.webhook_secret})


def test_an_alert_uid_key_in_any_case_opens_a_ticket_on_the_device(desk: Desk) -> None:
    answer = post(desk, {"alertUID": "dw-1", "DeviceUID": "dev-1", "alertMessage": "Process 'x.exe' isStopped",
                         "platform": "Pinotage"})
    assert answer.status_code == 202, answer.content
    ticket = Ticket.objects.get(pk=answer.json()["ticket_id"])
    assert ticket.assets.get() == desk.asset
    assert "Process 'x.exe' isStopped" in ticket.summary


def test_the_page_template_filled_in_by_datto_opens_and_resolves(desk: Desk) -> None:
    values = {"[alert_uid]": "dw-2", "[device_uid]": "dev-1", "[alert_message]": "CPU usage reached 97%",
              "[device_hostname]": "HD-WS01", "[alert_priority]": "High"}
    body = {k: values.get(v, v) for k, v in WEBHOOK_TEMPLATE.items()}
    opened = post(desk, body)
    assert opened.status_code == 202, opened.content
    resolved = post(desk, {**body, "state": "resolved"})
    assert resolved.status_code == 202
    assert Ticket.objects.get(pk=opened.json()["ticket_id"]).status == "closed"


def test_a_test_fire_with_unreplaced_placeholders_is_a_test_not_a_ticket(desk: Desk) -> None:
    tickets = Ticket.objects.count()
    answer = post(desk, dict(WEBHOOK_TEMPLATE))  # Datto's "test" button: every [variable] as typed
    assert answer.status_code == 200, answer.content
    assert answer.json()["status"] == "test"
    assert Ticket.objects.count() == tickets
    event = AlertEvent.objects.get(pk=answer.json()["event_id"])
    assert event.status == EventStatus.PROCESSED
    assert event.reason.startswith("Test delivery")
    assert "[alert_uid]" in event.reason
    assert event.summary == "Test delivery"


def test_parse_webhook_reads_older_bodies_and_refuses_nameless_ones() -> None:
    (halo,) = parse_webhook(json.dumps({"alertuid": "a-1", "device_uid": "d-1", "device_hostname": "PC",
                                        "alert_message": "Disk full", "alert_resolved": True}).encode())
    assert (halo.external_id, halo.device_external_id, halo.hostname) == ("a-1", "d-1", "PC")
    assert halo.state is AlertState.RESOLVED
    with pytest.raises(WebhookTestDelivery):
        parse_webhook(b'{"alertUID": "[alert_uid]", "deviceHostname": "[device_hostname]"}')


def test_the_alerting_page_shows_the_template(desk: Desk, admin_client: Any) -> None:
    page = admin_client.get(reverse("alerts:integration_alerting", args=[desk.integration.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    for variable in ("[alert_uid]", "[alert_message]", "[device_hostname]", "[sitename]", "[platform]"):
        assert variable in text
    assert "&quot;state&quot;: &quot;resolved&quot;" in text
