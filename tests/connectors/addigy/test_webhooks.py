"""Addigy webhooks: AddigyAlert bodies (saved and sent by the emulator over HTTP) and the validation challenge."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from rmmbridge.connectors.addigy import const
from rmmbridge.connectors.addigy.alerts import challenge_response, parse_webhook, validation_token
from rmmbridge.connectors.errors import ConnectorFatalError
from rmmbridge.connectors.records import AlertState
from rmmbridge.connectors.testing.server import RunningEmulator, serve_emulator

SAMPLES = Path(__file__).parent / "samples"


class Receiver:
    """A loopback HTTP endpoint recording each POST; answers the challenge when `echo` is set."""

    def __init__(self, echo: bool) -> None:
        self.echo = echo
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k: v for k, v in self.headers.items()}
                receiver.requests.append((headers, body))
                answer = challenge_response(headers) if receiver.echo else None
                self.send_response(200)
                payload = b'{"ok": true}'
                if answer is not None:
                    extra, payload = answer
                    for key, value in extra.items():
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/addigy"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    with serve_emulator(const.SLUG, seed=5, customers=2, devices=12, alerts=3) as running:
        yield running


def test_a_saved_unattended_alert_opens_and_its_resolution_closes() -> None:
    [opened] = parse_webhook((SAMPLES / "alert_unattended.json").read_bytes(), {})
    assert opened.external_id == "6553f1a2b7c9d40012ab34cd"
    assert opened.device_external_id == "7b3c2f0e-3c1a-4a5e-9f1e-2d4b6a8c0e11"
    assert opened.state is AlertState.OPEN
    assert opened.message == "Low Free Disk Space (value: 4.5)"
    assert opened.severity == "Warning"
    assert opened.alert_type == "free_disk_percentage"
    assert opened.raised_at == datetime.fromtimestamp(1763647331.482, tz=UTC)
    assert opened.resolved_at is None
    assert opened.raw["orgid"] == "0e2f4a6c-8b1d-4f3e-a5c7-9e1b3d5f7a90"
    [closed] = parse_webhook((SAMPLES / "alert_resolved.json").read_bytes())
    assert closed.external_id == opened.external_id
    assert closed.state is AlertState.RESOLVED
    assert closed.resolved_at == datetime.fromtimestamp(1763650931, tz=UTC)


def test_acknowledged_is_still_open_and_a_list_is_read_item_by_item() -> None:
    raw = json.loads((SAMPLES / "alert_unattended.json").read_text())
    body = json.dumps([{**raw, "status": "Acknowledged"}, {**raw, "_id": "other", "status": "Resolved"}]).encode()
    alerts = parse_webhook(body)
    assert [(a.external_id, a.state) for a in alerts] == [
        ("6553f1a2b7c9d40012ab34cd", AlertState.OPEN), ("other", AlertState.RESOLVED)
    ]


@pytest.mark.parametrize(("body", "says"), [
    (b"not json", "not JSON"),
    (b"\xff\xfe", "not UTF-8"),
    (b'{"event_id": "x", "action": {}}', "is not an alert"),
    (b'"just text"', "is not an alert"),
    (b'{"name": "Disk", "status": "Unattended"}', "neither an alert (_id) nor a device (agentid)"),
])
def test_bodies_that_are_not_alerts_say_what_was_expected(body: bytes, says: str) -> None:
    with pytest.raises(ConnectorFatalError) as info:
        parse_webhook(body, {})
    assert says in info.value.message


def test_the_validation_challenge_is_no_alert_and_its_answer_echoes_the_token() -> None:
    headers = {"x-addigy-webhook-validation-token": "tok-123"}
    assert validation_token(headers) == "tok-123"
    assert parse_webhook(b"{}", headers) == []
    answer = challenge_response(headers)
    assert answer is not None
    reply_headers, reply_body = answer
    assert reply_headers[const.VALIDATION_HEADER] == "tok-123"
    assert json.loads(reply_body) == {const.VALIDATION_HEADER: "tok-123"}
    assert challenge_response({"Content-Type": "application/json"}) is None


def test_the_emulator_posts_addigy_alerts_that_parse_back_open_then_resolved(emulator: RunningEmulator) -> None:
    alert_id = next(iter(emulator.state.alerts))
    with Receiver(echo=False) as receiver:
        sent = httpx.post(emulator.url + "/_emulator/send-webhook",
                          json={"alert_id": alert_id, "url": receiver.url, "secret": "s3cret"})
        assert sent.json()["status"] == 200
        assert httpx.post(f"{emulator.url}/_emulator/alerts/{alert_id}/resolve").status_code == 200
        httpx.post(emulator.url + "/_emulator/send-webhook", json={"alert_id": alert_id, "url": receiver.url})
    (headers, first), (_, second) = receiver.requests
    payload = json.loads(first)
    assert {"_id", "agentid", "orgid", "name", "category", "level", "status", "fact", "value", "valuetype",
            "created_on", "resolveddate", "emails"} <= set(payload)
    assert payload["status"] == "Unattended"
    assert isinstance(payload["created_on"], float)
    assert headers["X-Webhook-Secret"] == "s3cret"
    [opened] = parse_webhook(first, headers)
    [closed] = parse_webhook(second, {})
    device = emulator.state.alerts[alert_id].device_id
    assert (opened.external_id, opened.device_external_id, opened.state) == (alert_id, device, AlertState.OPEN)
    assert closed.state is AlertState.RESOLVED
    assert closed.resolved_at is not None


def test_the_emulated_challenge_passes_only_when_the_token_is_echoed(emulator: RunningEmulator) -> None:
    url = emulator.url + "/_emulator/addigy/webhook-challenge"
    with Receiver(echo=True) as good:
        assert httpx.post(url, json={"url": good.url}).json() == {"status": 200, "validated": True}
        headers, _ = good.requests[0]
        assert validation_token(headers)
    with Receiver(echo=False) as bad:
        assert httpx.post(url, json={"url": bad.url}).json() == {"status": 200, "validated": False}
    assert httpx.post(url, json={}).status_code == 400


def test_system_events_become_alerts_or_are_ignored_with_the_reason() -> None:
    from rmmbridge.connectors.errors import IgnorableEventError

    base = {"level": "error", "sender": {"identifier": "agent-1", "name": "Mac-01", "type": "device"},
            "receiver": {"identifier": "org", "name": "Org", "type": "organization"}, "date": "2026-01-01T12:00:00Z"}
    alert_event = {**base, "action": {"name": "Alert resolved", "alert_id": "al-9", "details": "Disk OK again"},
                   "result": {"status": "resolved"}}
    [alert] = parse_webhook(json.dumps(alert_event).encode())
    assert (alert.external_id, alert.device_external_id, alert.hostname) == ("al-9", "agent-1", "Mac-01")
    assert alert.state is AlertState.RESOLVED
    assert alert.message == "Disk OK again"
    other = {**base, "action": {"name": "Script executed", "details": "ok"}, "result": {"status": "success"}}
    with pytest.raises(IgnorableEventError) as info:
        parse_webhook(json.dumps([other, other]).encode())
    assert "'Script executed' (error, success) is not an alert" in info.value.message
