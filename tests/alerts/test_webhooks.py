"""Webhooks: token + shared secret / HMAC authentication, raw storage, the documented Datto JSON template."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from rmmbridge.alerts.intake.webhooks import DATTO_TEMPLATE, sign
from rmmbridge.alerts.models import AlertEvent, AlertState, EventStatus
from rmmbridge.tickets.choices import TicketStatus
from rmmbridge.tickets.models import Ticket

from .conftest import Desk

pytestmark = pytest.mark.django_db


def _payload(uid: str, state: str = "triggered", device: str = "dev-1") -> bytes:
    values = {
        "[alert_uid]": uid, "[device_uid]": device, "[device_hostname]": "HD-WS01", "[device_ip]": "10.0.0.5",
        "[sitename]": "Main", "[alert_priority]": "High", "[alert_type]": "perf_resource_usage_ctx",
        "[alert_message]": "CPU above 90% for 15 minutes",
    }
    body = {k: values.get(v, v) for k, v in DATTO_TEMPLATE.items()}
    body["state"] = state
    return json.dumps(body).encode()


def _url(desk: Desk) -> str:
    return f"/hooks/{desk.integration.vendor}/{desk.integration.alerting.webhook_token}/"


def test_webhook_with_shared_secret_opens_a_ticket_by_device_id(desk: Desk) -> None:
    body = _payload("w-1")
    answer = Client().post(_url(desk), body, content_type="application/json",
                           headers={"X-Webhook-Secret": desk.integration.alerting.webhook_secret})
    assert answer.status_code == 202, answer.content
    ticket = Ticket.objects.get(pk=answer.json()["ticket_id"])
    assert ticket.assets.get() == desk.asset
    assert ticket.source == "webhook"
    assert ticket.priority == 2
    assert "CPU above 90%" in ticket.details
    event = AlertEvent.objects.get(pk=answer.json()["event_id"])
    assert bytes(event.raw) == body


def test_resolved_webhook_closes_the_ticket(desk: Desk) -> None:
    secret = {"X-Webhook-Secret": desk.integration.alerting.webhook_secret}
    opened = Client().post(_url(desk), _payload("w-2"), content_type="application/json", headers=secret).json()
    closed = Client().post(_url(desk), _payload("w-2", "resolved"), content_type="application/json", headers=secret)
    assert closed.status_code == 202
    assert Ticket.objects.get(pk=opened["ticket_id"]).status == TicketStatus.CLOSED
    assert AlertState.objects.get(key="w-2").resolved_at is not None


@pytest.mark.parametrize("headers", [
    {},
    {"X-Webhook-Secret": "wrong"},
    {"Authorization": "Bearer nope"},
], ids=["missing", "wrong-secret", "wrong-bearer"])
def test_bad_secret_is_401_and_nothing_is_stored(desk: Desk, headers: dict[str, str]) -> None:
    answer = Client().post(_url(desk), _payload("w-3"), content_type="application/json", headers=headers)
    assert answer.status_code == 401
    assert AlertEvent.objects.count() == 0
    assert Ticket.objects.count() == 0


def test_hmac_signature(desk: Desk) -> None:
    config = desk.integration.alerting
    config.webhook_auth = "hmac"
    config.save()
    body = _payload("w-4")
    bad = Client().post(_url(desk), body, content_type="application/json",
                        headers={"X-Signature-256": sign("not-the-key", body)})
    assert bad.status_code == 401
    tampered = Client().post(_url(desk), body + b" ", content_type="application/json",
                             headers={"X-Signature-256": sign(config.webhook_secret, body)})
    assert tampered.status_code == 401
    assert AlertEvent.objects.count() == 0
    good = Client().post(_url(desk), body, content_type="application/json",
                         headers={"X-Webhook-Signature": sign(config.webhook_secret, body)})
    assert good.status_code == 202
    assert Ticket.objects.count() == 1


def test_unknown_token_or_wrong_vendor_is_404(desk: Desk) -> None:
    assert Client().post("/hooks/datto_rmm/nope/", b"{}", content_type="application/json").status_code == 404
    token = desk.integration.alerting.webhook_token
    assert Client().post(f"/hooks/ninjaone/{token}/", b"{}", content_type="application/json").status_code == 404


def test_bad_json_is_kept_with_a_reason(desk: Desk) -> None:
    answer = Client().post(_url(desk), b"{not json", content_type="application/json",
                           headers={"X-Webhook-Secret": desk.integration.alerting.webhook_secret})
    assert answer.status_code == 400  # stored as rejected; the sender learns its body is wrong
    event = AlertEvent.objects.get()
    assert event.status == EventStatus.REJECTED
    assert "not JSON" in event.reason


def test_webhook_retry_of_same_activity_is_not_counted_twice(desk: Desk) -> None:
    secret = {"X-Webhook-Secret": desk.integration.alerting.webhook_secret}
    body = json.loads(_payload("w-5"))
    body["id"] = 777
    for _ in range(2):
        Client().post(_url(desk), json.dumps(body), content_type="application/json", headers=secret)
    assert Ticket.objects.get().occurrences == 1
    body["id"] = 778
    Client().post(_url(desk), json.dumps(body), content_type="application/json", headers=secret)
    assert Ticket.objects.get().occurrences == 2


def test_hook_needs_no_login_but_pages_do(desk: Desk, client: Any) -> None:
    assert client.get("/alerts/").status_code == 302
