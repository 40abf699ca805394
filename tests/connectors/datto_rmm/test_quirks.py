"""Datto RMM quirks over HTTP against its emulator: auth, sites as customers, types, resolve, limits, control API."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import httpx
import pytest

from rmmbridge.connectors.datto_rmm import const
from rmmbridge.connectors.datto_rmm.alerts import parse_webhook
from rmmbridge.connectors.datto_rmm.connector import DattoRmmConnector
from rmmbridge.connectors.errors import ConnectorConfigError, ConnectorFatalError, ConnectorRateLimitedError
from rmmbridge.connectors.http import RequestLog, RetryPolicy
from rmmbridge.connectors.opening import open_connector
from rmmbridge.connectors.ratelimit import shared_limiter
from rmmbridge.connectors.records import AlertState, DeviceType
from rmmbridge.connectors.testing.contract import free_closed_port
from rmmbridge.connectors.testing.server import RunningEmulator, serve_emulator

FAST = RetryPolicy(max_retries=2, backoff_base=0.01, backoff_max=0.02, retry_after_cap=0.05)


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    with serve_emulator(const.SLUG, seed=11, customers=4, devices=120, alerts=4, page_size=50) as running:
        yield running


def connect(emulator: RunningEmulator, log: RequestLog | None = None, **overrides: str) -> Any:
    return open_connector(const.SLUG, {**emulator.credentials, **overrides}, request_log=log, retry=FAST, timeout=5)


def test_token_request_is_a_password_grant_with_the_public_client(emulator: RunningEmulator) -> None:
    log = RequestLog()
    with connect(emulator, log) as connector:
        assert connector.test_connection().ok
    token_entry = log.entries()[0]
    assert token_entry.method == "POST"
    assert token_entry.url.endswith("/auth/oauth/token")
    assert token_entry.request_body == "grant_type=password&username=***&password=***"
    assert '"access_token":"***"' in token_entry.response_body
    # the emulator checks the Basic client like Datto does
    answer = httpx.post(f"{emulator.url}/auth/oauth/token", auth=("someone", "else"),
                        data={"grant_type": "password", "username": emulator.credentials["api_key"],
                              "password": emulator.credentials["api_secret"]})
    assert answer.status_code == 401


def test_forbidden_account_is_reported_as_forbidden(emulator: RunningEmulator) -> None:
    emulator.state.faults.add("403:GET:/api/v2/account:times=1")
    with connect(emulator) as connector:
        result = connector.test_connection()
    assert result.error_key == "forbidden"
    assert result.message.startswith("Validation failed – 403 Forbidden: Datto RMM refused access to /api/v2/account")
    assert "Grant the API user this permission" in result.message


def test_one_token_serves_many_calls(emulator: RunningEmulator) -> None:
    with connect(emulator) as connector:
        connector.test_connection()
        list(connector.iter_devices())
        list(connector.iter_sites())
        assert isinstance(connector, DattoRmmConnector)
        assert connector.client.auth.tokens_fetched == 1
    assert emulator.state.requests_by_path[f"POST {const.TOKEN_PATH}"] == 1


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"api_url": "pinotage-api.centrastage.net"}, "API URL: Value error, must start with https://"),
        ({"api_url": ""}, "API URL"),
        ({"api_secret": "  "}, "API Secret Key"),
        ({"api_key": ""}, "API Key"),
        ({"extra": "x"}, "extra"),
    ],
)
def test_bad_credentials_are_rejected_before_any_request(
    emulator: RunningEmulator, overrides: dict[str, str], expected: str
) -> None:
    with pytest.raises(ConnectorConfigError) as info, connect(emulator, **overrides):
        pass
    assert expected in info.value.message
    assert emulator.state.request_count == 0


def test_api_url_with_api_suffix_is_accepted(emulator: RunningEmulator) -> None:
    with connect(emulator, api_url=emulator.url + "/api/v2/") as connector:
        assert connector.test_connection().ok


def test_sites_are_the_customers(emulator: RunningEmulator) -> None:
    with connect(emulator) as connector:
        assert connector.sites_are_customers
        sites = list(connector.iter_sites())
        customers = list(connector.iter_customers())
        devices = list(connector.iter_devices())
    assert [s.external_id for s in sites] == [c.external_id for c in customers]
    assert [s.name for s in sites] == [c.name for c in customers]
    assert all(s.customer_external_id == s.external_id for s in sites)
    assert {d.customer_external_id for d in devices} == {s.external_id for s in sites}
    assert all(d.customer_external_id == d.site_external_id for d in devices)


def test_device_types_timestamps_and_deleted_flags(emulator: RunningEmulator) -> None:
    with connect(emulator) as connector:
        devices = {d.external_id: d for d in connector.iter_devices()}
    state = emulator.state
    expected_kinds = {DeviceType(d.kind) for d in state.iter_devices()}
    assert {d.device_type for d in devices.values()} == expected_kinds
    assert {DeviceType.SERVER, DeviceType.WORKSTATION, DeviceType.LAPTOP, DeviceType.NETWORK_DEVICE,
            DeviceType.PRINTER} <= expected_kinds
    for generated in state.iter_devices():
        device = devices[generated.id]
        assert device.hostname == generated.hostname
        assert device.last_seen == generated.last_seen  # epoch milliseconds → aware datetime
        assert device.deleted == generated.deleted
        assert device.online == generated.online
        assert isinstance(device.fields["lastSeen"], int)
    assert any(d.deleted for d in devices.values())
    assert max(d.last_seen for d in devices.values() if d.last_seen) - min(  # type: ignore[operator]
        d.last_seen for d in devices.values() if d.last_seen) > timedelta(days=20)


def test_next_page_links_to_another_host_stay_on_the_configured_host(emulator: RunningEmulator) -> None:
    log = RequestLog()
    emulator.state.page_size = 40
    with connect(emulator, log) as connector:
        # the emulator builds absolute links from the Host header; pretend a proxy rewrote it
        connector.http.headers["Host"] = "elsewhere.example"
        devices = list(connector.iter_devices())
    assert len(devices) == 120
    device_urls = [e.url for e in log.entries() if "/account/devices" in e.url]
    assert len(device_urls) == 3
    assert all(url.startswith(emulator.url) for url in device_urls)


def test_device_pages_two_on_the_wire_ask_for_each_page_once(emulator: RunningEmulator) -> None:
    log = RequestLog()
    for page_size, pages in ((40, 3), (50, 3), (7, 18)):
        emulator.state.page_size = page_size
        log.clear()
        with connect(emulator, log, fetch_audits="false") as connector:
            devices = list(connector.iter_devices())
        assert sorted(d.external_id for d in devices) == sorted(d.id for d in emulator.state.iter_devices())
        device_urls = sorted(e.url for e in log.entries() if "/account/devices" in e.url)
        assert len(device_urls) == len(set(device_urls)) == pages, page_size


def test_the_next_device_page_is_asked_for_while_one_is_still_answering(emulator: RunningEmulator) -> None:
    log = RequestLog()
    emulator.state.page_size = 20
    emulator.state.faults.add("slow:GET:/api/v2/account/devices:times=0,delay=0.3")
    with connect(emulator, log, fetch_audits="false") as connector:
        assert len(list(connector.iter_devices())) == 120
    pages = sorted((e.at, e.at + timedelta(milliseconds=e.duration_ms)) for e in log.entries()
                   if "/account/devices" in e.url)
    assert len(pages) == 6
    overlapping = [1 for (_, end), (start, _) in itertools.pairwise(pages) if start < end]
    assert len(overlapping) >= 2  # pages 1-5 go two at a time (one after another: none would overlap)


def test_a_next_page_url_that_repeats_still_stops_with_pages_on_the_wire(emulator: RunningEmulator) -> None:
    emulator.state.page_size = 20
    emulator.state.faults.add("repeat-page:GET:/api/v2/account/devices:times=1,after=2")
    with connect(emulator, fetch_audits="false") as connector, pytest.raises(ConnectorFatalError,
                                                                              match="same next-page URL"):
        list(connector.iter_devices())


def test_site_devices_and_audit(emulator: RunningEmulator) -> None:
    site = emulator.state.sites[1]
    with connect(emulator) as connector:
        assert isinstance(connector, DattoRmmConnector)
        devices = list(connector.iter_site_devices(site.id))
        audit = connector.device_audit(devices[0].external_id)
    assert devices
    assert {d.site_external_id for d in devices} == {site.id}
    assert len(devices) == emulator.state.count_devices(site.id)
    generated = emulator.state.get_device(devices[0].external_id)
    assert generated is not None
    assert audit["bios"]["serialNumber"] == emulator.state.audit_serial(generated)  # type: ignore[attr-defined]
    assert audit["systemInfo"]["model"] == generated.model


def test_audits_fill_serial_make_model_and_macs(emulator: RunningEmulator) -> None:
    with connect(emulator, fetch_audits=False) as connector:
        plain = list(connector.iter_devices())
    with connect(emulator) as connector:
        assert isinstance(connector, DattoRmmConnector)
        audited = list(connector.iter_devices())
    assert all(d.serial_number is None for d in plain)
    agents = [d for d in audited if d.fields["deviceClass"] == "device" and not d.deleted]
    assert agents
    for device in agents:
        generated = emulator.state.get_device(device.external_id)
        assert generated is not None
        assert device.serial_number == emulator.state.audit_serial(generated)  # type: ignore[attr-defined]
        assert device.fields["audit.bios.serialNumber"] == device.serial_number
        assert (device.manufacturer, device.model) == (generated.manufacturer, generated.model)
        assert device.mac_addresses == (generated.mac_address.replace(":", ""),)
    assert sum(1 for d in agents if d.serial_number) >= 0.9 * len(agents)
    assert all(d.serial_number is None for d in audited if d.fields["deviceClass"] == "rmmnetworkdevice")
    audit_calls = sum(n for k, n in emulator.state.requests_by_path.items() if "/audit/device/" in k)
    assert audit_calls == len(agents)


def test_resolve_twice_is_idempotent_and_unknown_alert_fails(emulator: RunningEmulator) -> None:
    alert_id = emulator.state.open_alerts()[0].id
    with connect(emulator) as connector:
        connector.resolve_alert(alert_id)
        connector.resolve_alert(alert_id)  # 409 Conflict: already resolved
        resolved = [a.external_id for a in connector.iter_alerts(AlertState.RESOLVED)]
        with pytest.raises(ConnectorFatalError) as info:
            connector.resolve_alert("no-such-alert")
    assert info.value.status == 404
    assert [c["status"] for c in emulator.state.resolve_calls] == [200, 409, 404]
    assert alert_id in resolved


def test_alerts_since_filters_client_side(emulator: RunningEmulator) -> None:
    alerts = emulator.state.open_alerts()
    newest = max(a.raised_at for a in alerts)
    with connect(emulator) as connector:
        recent = list(connector.iter_alerts(AlertState.OPEN, since=newest))
        everything = list(connector.iter_alerts(AlertState.OPEN))
    assert [a.raised_at for a in recent] == [newest]
    assert len(everything) == len(alerts)


def test_rate_limit_of_the_emulator_answers_429_with_retry_after(emulator: RunningEmulator) -> None:
    emulator.state.rate_limit_per_minute = 3  # type: ignore[misc]
    with connect(emulator) as connector:
        assert connector.test_connection().ok  # token + account = 2 requests
        with pytest.raises(ConnectorRateLimitedError) as info:
            list(connector.iter_devices())
    assert info.value.retry_after is not None
    assert 50 <= info.value.retry_after <= 60
    assert info.value.status == 429


def test_rate_limit_slows_then_refuses_then_blocks(emulator: RunningEmulator) -> None:
    state = emulator.state
    state.rate_limit_per_minute = 6  # type: ignore[misc]
    state.rate_limit_slowdown = 0.3  # type: ignore[misc]
    state.rate_limit_block_after = 2  # type: ignore[misc]
    timings = []
    with httpx.Client(base_url=emulator.url) as raw:
        for _ in range(10):
            started = time.monotonic()
            answer = raw.get("/api/v2/account")
            timings.append((answer.status_code, time.monotonic() - started, answer.headers.get("Retry-After")))
    statuses = [s for s, _, _ in timings]
    assert statuses == [401] * 6 + [429, 429, 403, 403]  # no token: counted all the same
    assert all(t < 0.25 for _, t, _ in timings[:5])  # 90 % of 6 = 5.4: the 6th is slowed down
    assert timings[5][1] >= 0.3
    assert 50 <= int(timings[6][2]) <= 60
    assert int(timings[8][2]) == 300
    body = httpx.get(f"{emulator.url}/api/v2/account").json()
    assert body["status"] == 403
    assert "too many requests" in body["message"]


def test_client_side_limiter_counts_every_request(emulator: RunningEmulator) -> None:
    secrets = sorted([emulator.credentials["api_key"], emulator.credentials["api_secret"]])
    account = hashlib.sha256("\0".join(secrets).encode()).hexdigest()[:16]
    limiter = shared_limiter((const.SLUG, emulator.url, account), const.RATE_LIMIT_PER_MINUTE)
    before = limiter.in_window()
    with connect(emulator) as connector:
        list(connector.iter_devices())
    assert limiter.limit == 600
    assert limiter.in_window() - before == emulator.state.request_count


def test_control_api_changes_what_the_connector_sees(emulator: RunningEmulator) -> None:
    control = httpx.Client(base_url=f"{emulator.url}/_emulator")
    site = emulator.state.sites[2]
    added = control.post("/devices", json={"hostname": "NEW-PC-01", "site_id": site.id, "kind": "laptop"})
    assert added.status_code == 201
    new_id = added.json()["id"]
    assert added.json()["device"]["deviceType"]["category"] == "Laptop"
    victim = next(emulator.state.iter_devices()).id
    assert control.delete(f"/devices/{victim}").status_code == 204
    changed = control.patch(f"/devices/{new_id}", json={"hostname": "NEW-PC-02", "udf": {"udf5": "Finance"}})
    assert changed.status_code == 200
    assert control.patch("/devices/nope", json={"hostname": "x"}).status_code == 404
    assert control.post("/devices", json={"hostname": ""}).status_code == 400
    assert control.post("/devices", json={"hostname": "X", "colour": "red"}).status_code == 400
    with connect(emulator) as connector:
        devices = {d.external_id: d for d in connector.iter_devices()}
    assert victim not in devices
    assert devices[new_id].hostname == "NEW-PC-02"
    assert devices[new_id].device_type is DeviceType.LAPTOP
    assert devices[new_id].site_external_id == site.id
    assert devices[new_id].fields["udf.udf5"] == "Finance"
    assert len(devices) == 120


def test_control_api_alerts_and_faults(emulator: RunningEmulator) -> None:
    control = httpx.Client(base_url=f"{emulator.url}/_emulator")
    device_id = next(emulator.state.iter_devices()).id
    raised = control.post("/alerts", json={"device_id": device_id, "message": "Disk C: 95% full", "priority": "High"})
    assert raised.status_code == 201
    alert_id = raised.json()["alert_id"]
    with connect(emulator) as connector:
        mine = [a for a in connector.iter_alerts(AlertState.OPEN) if a.external_id == alert_id]
        seen = [(a.message, a.severity, a.device_external_id) for a in mine]
        assert seen == [("Disk C: 95% full", "High", device_id)]
        assert control.post(f"/alerts/{alert_id}/resolve").json() == {"id": alert_id, "resolved": True}
        assert alert_id not in {a.external_id for a in connector.iter_alerts(AlertState.OPEN)}
    assert control.get("/resolve-calls").json() == []  # resolved by the RMM itself, not through the API
    assert control.post("/faults", json={"spec": "bogus"}).status_code == 400
    assert control.post("/faults", json={"specs": ["503:GET:/api/v2/account"]}).status_code == 201
    assert control.get("/state").json()["faults_pending"] == ["503:GET:/api/v2/account"]


def test_send_alert_email_in_datto_format(emulator: RunningEmulator) -> None:
    from aiosmtpd.controller import Controller

    received: list[Any] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received.append(envelope)
            return "250 OK"

    port = free_closed_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        alert = emulator.state.open_alerts()[0]
        answer = httpx.post(f"{emulator.url}/_emulator/send-alert-email",
                            json={"alert_id": alert.id, "smtp_host": "127.0.0.1", "smtp_port": port,
                                  "to": "alerts@desk.example"})
    finally:
        controller.stop()
    assert answer.status_code == 200, answer.text
    device = emulator.state.get_device(alert.device_id)
    assert device is not None
    expected = f"Alert on device: {device.ip_address}, reason {alert.message} - Alert{{{alert.id}}}"
    assert answer.json()["subject"] == expected
    assert len(received) == 1
    assert received[0].mail_from == const.ALERT_EMAIL_SENDER
    assert received[0].rcpt_tos == ["alerts@desk.example"]
    message = email.message_from_bytes(received[0].content, policy=email.policy.default)
    assert message["Subject"] == expected
    assert message["From"] == const.ALERT_EMAIL_SENDER
    assert alert.id in message.get_content()


def test_send_webhook_posts_the_alerting_page_template_with_a_signature(emulator: RunningEmulator) -> None:
    captured: dict[str, Any] = {}

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            captured.update(body=body, headers=dict(self.headers))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    alert = emulator.state.open_alerts()[0]
    answer = httpx.post(f"{emulator.url}/_emulator/send-webhook",
                        json={"alert_id": alert.id, "url": f"http://127.0.0.1:{server.server_port}/hook",
                              "secret": "s3cret-hook"})
    thread.join(5)
    server.server_close()
    assert answer.json()["status"] == 204
    payload = json.loads(captured["body"])
    assert payload["alertUID"] == alert.id
    assert payload["deviceUID"] == alert.device_id
    assert payload["state"] == "open"
    assert not [v for v in payload.values() if str(v).startswith("[")]  # every variable substituted
    (parsed,) = parse_webhook(captured["body"])
    assert (parsed.external_id, parsed.device_external_id, parsed.message) == (alert.id, alert.device_id,
                                                                              alert.message)
    expected = hmac.new(b"s3cret-hook", captured["body"], hashlib.sha256).hexdigest()
    assert captured["headers"]["X-Webhook-Signature"] == f"sha256={expected}"
    assert captured["headers"]["X-Webhook-Secret"] == "s3cret-hook"


def test_udf_1_to_300_are_mappable(emulator: RunningEmulator) -> None:
    emulator.state.update_device(next(emulator.state.iter_devices()).id, udf={"udf250": "Rack 4"})
    with connect(emulator) as connector:
        paths = {f.path for f in connector.available_fields()}
        devices = list(connector.iter_devices())
    assert {f"udf.udf{i}" for i in range(1, 301)} <= paths
    assert "udf.udf301" not in paths
    assert any(d.fields.get("udf.udf250") == "Rack 4" for d in devices)
