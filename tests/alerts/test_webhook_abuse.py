"""Webhook abuse over real HTTP (the live server): replays, stale signatures, poison bodies, bombs and floods."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from io import StringIO
from typing import Any

import httpx
import pytest
from django.core.management import call_command

from rmmbridge.alerts.intake.webhooks import MAX_ITEMS_PER_REQUEST, sign
from rmmbridge.alerts.models import AlertEvent, AlertState, Channel, EventStatus, WebhookAuth
from rmmbridge.alerts.processing import store_event
from rmmbridge.common.clock import utcnow
from rmmbridge.tickets.choices import TicketStatus
from rmmbridge.tickets.models import Ticket

from .conftest import Desk, make_desk
from .test_webhooks import _payload, _url

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def hmac_desk() -> Desk:
    desk = make_desk()
    config = desk.integration.alerting
    config.webhook_auth = WebhookAuth.HMAC_SHA256
    config.save()
    return desk


def _post(live_server: Any, desk: Desk, body: bytes, *, timestamp: int | None = None) -> httpx.Response:
    secret = desk.integration.alerting.webhook_secret
    headers = {"Content-Type": "application/json", "X-Signature-256": sign(secret, body, timestamp)}
    if timestamp is not None:
        headers["X-Signature-Timestamp"] = str(timestamp)
    return httpx.post(str(live_server) + _url(desk), content=body, headers=headers, timeout=30)


def test_a_replayed_open_after_the_resolve_opens_no_new_ticket(live_server: Any, hmac_desk: Desk) -> None:
    opened = _post(live_server, hmac_desk, _payload("r-1"))
    assert opened.status_code == 202
    assert _post(live_server, hmac_desk, _payload("r-1", "resolved")).status_code == 202
    replay = _post(live_server, hmac_desk, _payload("r-1"))
    assert replay.status_code == 200
    assert replay.json()["status"] == "duplicate"
    assert replay.json()["event_id"] == opened.json()["event_id"]
    assert Ticket.objects.count() == 1
    assert Ticket.objects.get().status == TicketStatus.CLOSED
    assert AlertEvent.objects.count() == 2  # the replay is not stored again


def test_a_timestamped_signature_is_refused_when_stale_and_replays_are_refused(
    live_server: Any, hmac_desk: Desk
) -> None:
    now = int(time.time())
    stale = _post(live_server, hmac_desk, _payload("t-1"), timestamp=now - 3600)
    assert stale.status_code == 401
    assert "timestamp" in stale.json()["error"]
    fresh = _post(live_server, hmac_desk, _payload("t-1"), timestamp=now)
    assert fresh.status_code == 202
    again = _post(live_server, hmac_desk, _payload("t-1"), timestamp=now)
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert Ticket.objects.count() == 1


def test_an_event_older_than_the_resolution_does_not_reopen(live_server: Any, hmac_desk: Desk) -> None:
    def body(state: str, at: str) -> bytes:
        payload = json.loads(_payload("o-1", state))
        payload["timestamp"] = at
        return json.dumps(payload).encode()

    before = (utcnow() - timedelta(minutes=10)).isoformat()
    assert _post(live_server, hmac_desk, body("triggered", before)).status_code == 202
    assert _post(live_server, hmac_desk, body("resolved", utcnow().isoformat())).status_code == 202
    late = _post(live_server, hmac_desk, body("triggered", (utcnow() - timedelta(minutes=5)).isoformat()))
    assert late.status_code == 202
    assert "older than the alert's resolution" in late.json()["reason"]
    assert Ticket.objects.count() == 1
    assert AlertState.objects.get(key="o-1").resolved_at is not None
    recurred = _post(live_server, hmac_desk, body("triggered", (utcnow() + timedelta(seconds=5)).isoformat()))
    assert recurred.status_code == 202
    # a real recurrence after the resolution counts again: within the flap window (noise control) it reopens the
    # condition's ticket instead of opening a second one
    ticket = Ticket.objects.get()
    assert (ticket.status, ticket.occurrences) == ("open", 2)


def test_a_lone_surrogate_is_replaced_and_noted_not_a_500(live_server: Any, hmac_desk: Desk) -> None:
    body = _payload("s-1").replace(b'"CPU above', b'"\\ud800 CPU above')
    answer = _post(live_server, hmac_desk, body)
    assert answer.status_code == 202, answer.text
    event = AlertEvent.objects.get()
    assert event.status == EventStatus.PROCESSED
    assert "lone surrogate" in event.reason
    assert "\ufffd CPU above" in Ticket.objects.get().details


@pytest.mark.parametrize(("body", "status", "reason"), [
    (b"[" * 100_000 + b"]" * 100_000, 400, "nested deeper"),
    (b'{"alertUid": "x", "deviceUid": "dev-1", "n": ' + b"9" * 5000 + b"}", 400, "a number of 5000"),
    (json.dumps([json.loads(_payload(f"f-{n}")) for n in range(1000)]).encode(), 413, "send at most"),
    (b'{"alertUid": "\xff\xfe"}', 400, "not UTF-8"),
    (b"\xff\xfe{}", 400, "not JSON"),
], ids=["deep-nesting", "5000-digit-int", "1000-items", "not-utf8", "not-json"])
def test_a_bounded_body_is_refused_clearly_and_stored_as_rejected(
    live_server: Any, hmac_desk: Desk, body: bytes, status: int, reason: str
) -> None:
    answer = _post(live_server, hmac_desk, body)
    assert answer.status_code == status, answer.text
    assert reason in answer.json()["reason"]
    event = AlertEvent.objects.get()
    assert bytes(event.raw) == body
    assert event.status == EventStatus.REJECTED
    assert reason in event.reason
    assert Ticket.objects.count() == 0


def test_the_item_cap_lets_a_full_batch_through(live_server: Any, hmac_desk: Desk) -> None:
    batch = [json.loads(_payload(f"c-{n}")) for n in range(MAX_ITEMS_PER_REQUEST)]
    answer = _post(live_server, hmac_desk, json.dumps(batch).encode())
    assert answer.status_code == 202
    assert Ticket.objects.count() == MAX_ITEMS_PER_REQUEST


def test_process_pending_marks_a_poison_event_failed_and_goes_on(hmac_desk: Desk) -> None:
    integration = hmac_desk.integration
    first = store_event(Channel.WEBHOOK, _payload("p-1"), integration=integration)
    poison = store_event(Channel.WEBHOOK, b'{"alertUid": "\\ud800", "deviceUid": "dev-1", "message": "\\udfff"}',
                         integration=integration)
    bomb = store_event(Channel.WEBHOOK, b"[" * 50_000, integration=integration)
    last = store_event(Channel.WEBHOOK, _payload("p-2"), integration=integration)
    call_command("alerts", "process-pending", stdout=StringIO())
    statuses = {e.pk: e.status for e in AlertEvent.objects.all()}
    assert statuses[first.pk] == EventStatus.PROCESSED
    assert statuses[last.pk] == EventStatus.PROCESSED
    assert statuses[bomb.pk] == EventStatus.REJECTED
    assert statuses[poison.pk] in (EventStatus.PROCESSED, EventStatus.ERROR)
    assert not AlertEvent.objects.filter(status=EventStatus.PENDING).exists()
    assert AlertEvent.objects.get(pk=poison.pk).reason
