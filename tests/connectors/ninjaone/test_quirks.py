"""NinjaOne quirks over HTTP against the emulator: `after` paging, token expiry, organizations → locations,
nodeClass mapping, alerts reset/activities, webhook payloads, error bodies."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from rmmbridge.connectors.base import Capability
from rmmbridge.connectors.errors import (
    ConnectorAuthError,
    ConnectorConfigError,
    ConnectorFatalError,
    ConnectorForbiddenError,
)
from rmmbridge.connectors.http import RequestLog, RetryPolicy
from rmmbridge.connectors.ninjaone.alerts import parse_webhook
from rmmbridge.connectors.ninjaone.client import last_id
from rmmbridge.connectors.ninjaone.connector import NinjaOneConnector
from rmmbridge.connectors.opening import open_connector
from rmmbridge.connectors.records import AlertState, DeviceType
from rmmbridge.connectors.testing.server import RunningEmulator, serve_emulator

FAST = RetryPolicy(max_retries=2, backoff_base=0.01, backoff_max=0.02, retry_after_cap=1.0)


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    with serve_emulator("ninjaone", seed=3, customers=3, devices=45, alerts=3, page_size=10) as running:
        yield running


def connect(emulator: RunningEmulator, log: RequestLog | None = None, **overrides: str) -> Any:
    return open_connector("ninjaone", {**emulator.credentials, **overrides}, request_log=log, retry=FAST, timeout=5)


def test_devices_page_with_after_set_to_the_last_id_until_an_empty_page(emulator: RunningEmulator) -> None:
    log = RequestLog(max_entries=100)
    with connect(emulator, log) as connector:
        devices = list(connector.iter_devices())
    assert [d.external_id for d in devices] == [str(i) for i in range(1, 46)]
    queries = [parse_qs(urlsplit(e.url).query) for e in log.entries() if urlsplit(e.url).path == "/v2/devices-detailed"]
    assert [q.get("after", [None])[0] for q in queries] == [None, "10", "20", "30", "40", "45"]
    assert all(q["pageSize"] == ["500"] for q in queries)


def test_token_is_cached_then_refreshed_when_it_expires(emulator: RunningEmulator) -> None:
    now = [1000.0]
    with connect(emulator) as connector:
        assert isinstance(connector, NinjaOneConnector)
        connector.client.auth.clock = lambda: now[0]
        assert connector.test_connection().ok
        assert connector.test_connection().ok
        assert emulator.state.summary()["token_requests"] == 1
        now[0] += 3600 - 59  # inside the 60 s margin before `expires_in` runs out
        assert connector.test_connection().ok
    assert emulator.state.summary()["token_requests"] == 2


def test_token_request_is_a_form_post_with_the_client_credentials_scopes(emulator: RunningEmulator) -> None:
    log = RequestLog()
    with connect(emulator, log) as connector:
        assert connector.test_connection().ok
    token_entry = next(e for e in log.entries() if e.url.endswith("/ws/oauth/token"))
    assert token_entry.method == "POST"
    form = parse_qs(token_entry.request_body)
    assert form["grant_type"] == ["client_credentials"]
    assert form["scope"] == ["monitoring"]  # reads ask only for what they need
    assert form["client_id"] == [emulator.credentials["client_id"]]
    assert emulator.credentials["client_secret"] not in token_entry.request_body
    assert '"access_token": "***"' in token_entry.response_body or '"access_token":"***"' in token_entry.response_body


def test_wrong_secret_is_invalid_auth_with_the_vendor_reason(emulator: RunningEmulator) -> None:
    with connect(emulator, client_secret="not-the-secret") as connector:
        result = connector.test_connection()
        with pytest.raises(ConnectorAuthError, match="Bad client credentials"):
            list(connector.iter_customers())
    assert result.error_key == "invalid_auth"


def test_organizations_map_to_customers_and_locations_to_their_sites(emulator: RunningEmulator) -> None:
    with connect(emulator) as connector:
        customers = list(connector.iter_customers())
        sites = list(connector.iter_sites())
        devices = list(connector.iter_devices())
    assert [c.external_id for c in customers] == ["1", "2", "3"]
    assert len(sites) == 6
    by_customer: dict[str | None, list[str]] = {}
    for site in sites:
        by_customer.setdefault(site.customer_external_id, []).append(site.name)
    assert set(by_customer) == {"1", "2", "3"}
    assert all(names[0] == "Head Office" for names in by_customer.values())
    site_owner = {s.external_id: s.customer_external_id for s in sites}
    assert all(site_owner[d.site_external_id or ""] == d.customer_external_id for d in devices)


def test_node_classes_map_to_device_types_and_vms_keep_their_host(emulator: RunningEmulator) -> None:
    with connect(emulator) as connector:
        devices = {d.external_id: d for d in connector.iter_devices()}
    hosts = [d for d in devices.values() if d.vendor_type == "VMWARE_VM_HOST"]
    guests = [d for d in devices.values() if d.vendor_type == "VMWARE_VM_GUEST"]
    assert hosts
    assert all(h.device_type is DeviceType.SERVER for h in hosts)
    assert guests
    assert all(g.device_type is DeviceType.VIRTUAL_MACHINE for g in guests)
    assert all(devices[g.parent_external_id or ""].vendor_type == "VMWARE_VM_HOST" for g in guests)
    assert all(devices[g.parent_external_id or ""].site_external_id == g.site_external_id for g in guests)
    kinds = {d.vendor_type: d.device_type for d in devices.values()}
    assert kinds.get("NMS_PRINTER", DeviceType.PRINTER) is DeviceType.PRINTER
    assert {DeviceType.LAPTOP, DeviceType.WORKSTATION, DeviceType.SERVER} <= set(kinds.values()) | {
        d.device_type for d in devices.values()
    }
    agent = next(d for d in devices.values() if d.vendor_type == "WINDOWS_WORKSTATION")
    assert agent.serial_number
    assert agent.os_name
    assert agent.fields["system.serialNumber"] == agent.serial_number
    assert agent.last_seen is not None
    assert agent.last_seen.tzinfo is not None


def test_changed_and_removed_devices_show_through_the_api(emulator: RunningEmulator) -> None:
    emulator.state.update_device("5", hostname="RENAMED-05", online=False)
    emulator.state.remove_device("6")
    added = emulator.state.add_device(hostname="NEW-PC", kind="laptop", os_name="Microsoft Windows 11 Pro")
    with connect(emulator) as connector:
        devices = {d.external_id: d for d in connector.iter_devices()}
    assert devices["5"].hostname == "RENAMED-05"
    assert devices["5"].online is False
    assert "6" not in devices
    assert devices[added.id].device_type is DeviceType.LAPTOP


def test_end_users_only_and_with_their_organization(emulator: RunningEmulator) -> None:
    with connect(emulator) as connector:
        assert connector.supports(Capability.USERS)
        users = list(connector.iter_users())
    assert len(users) == 6
    assert all(u.customer_external_id in {"1", "2", "3"} and u.email for u in users)
    assert "Sam Taylor" not in {u.name for u in users}  # the technician


def test_reset_closes_the_alert_and_shows_in_resolved_activities(emulator: RunningEmulator) -> None:
    with connect(emulator) as connector:
        before = list(connector.iter_alerts(AlertState.OPEN))
        target = before[0]
        connector.resolve_alert(target.external_id)
        connector.resolve_alert(target.external_id)  # already reset: NinjaOne answers 404, we treat it as done
        after = {a.external_id for a in connector.iter_alerts(AlertState.OPEN)}
        resolved = list(connector.iter_alerts(AlertState.RESOLVED))
    assert target.external_id not in after
    assert [a.external_id for a in resolved] == [target.external_id]
    assert resolved[0].state is AlertState.RESOLVED
    assert resolved[0].resolved_at is not None
    calls = emulator.state.resolve_calls
    assert [(c["method"], c["path"], c["status"]) for c in calls] == [
        ("POST", f"/v2/alert/{target.external_id}/reset", 204),
        ("POST", f"/v2/alert/{target.external_id}/reset", 404),
    ]


def test_resolve_rejects_a_malformed_uid_without_calling_the_api(emulator: RunningEmulator) -> None:
    with connect(emulator) as connector, pytest.raises(ConnectorConfigError, match="Not a NinjaOne alert UID"):
        connector.resolve_alert("../devices")
    assert emulator.state.resolve_calls == []


def test_alerts_since_filters_on_create_time(emulator: RunningEmulator) -> None:
    with connect(emulator) as connector:
        alerts = list(connector.iter_alerts(AlertState.OPEN))
        newest = max(a.raised_at for a in alerts if a.raised_at)
        recent = list(connector.iter_alerts(AlertState.OPEN, since=newest))
    assert [a.raised_at for a in recent] == [newest]


class _Receiver(BaseHTTPRequestHandler):
    bodies: list[tuple[bytes, dict[str, str]]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        _Receiver.bodies.append((self.rfile.read(length), dict(self.headers.items())))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def receiver() -> Iterator[str]:
    _Receiver.bodies = []
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def test_emulator_webhooks_parse_to_open_then_resolved(emulator: RunningEmulator, receiver: str) -> None:
    alert = emulator.state.raise_alert("7", message="Disk C: below 5%")
    control = f"{emulator.url}/_emulator"
    sent = httpx.post(f"{control}/send-webhook", json={"alert_id": alert.id, "url": receiver, "secret": "s3cret"})
    assert sent.json()["status"] == 204
    httpx.post(f"{control}/alerts/{alert.id}/resolve")
    httpx.post(f"{control}/send-webhook", json={"alert_id": alert.id, "url": receiver})
    (first, headers), (second, _) = _Receiver.bodies
    assert headers["X-Webhook-Secret"] == "s3cret"
    payload = json.loads(first)
    assert payload["activityType"] == "CONDITION"
    assert payload["statusCode"] == "TRIGGERED"
    assert isinstance(payload["activityTime"], float)
    assert payload["seriesUid"] == alert.id
    [opened] = parse_webhook(first, headers)
    [closed] = parse_webhook(second, {})
    assert (opened.external_id, opened.state, opened.device_external_id) == (alert.id, AlertState.OPEN, "7")
    assert opened.message == "Disk C: below 5%"
    assert (closed.external_id, closed.state) == (alert.id, AlertState.RESOLVED)


def test_configure_webhook_puts_the_condition_filter(emulator: RunningEmulator) -> None:
    with connect(emulator) as connector:
        assert isinstance(connector, NinjaOneConnector)
        connector.configure_webhook("https://bridge.example/hooks/ninjaone/t0k/", {"X-Webhook-Secret": "abc"})
    config = emulator.state.summary()["webhook"]
    assert config["url"] == "https://bridge.example/hooks/ninjaone/t0k/"
    assert config["activities"] == {"CONDITION": ["TRIGGERED", "RESET"]}
    assert config["headers"] == [{"name": "X-Webhook-Secret", "value": "abc"}]


def test_api_error_bodies_are_ninjaones(emulator: RunningEmulator) -> None:
    unauthenticated = httpx.get(f"{emulator.url}/v2/devices")
    assert unauthenticated.status_code == 401
    assert unauthenticated.json() == {
        "error": "not_authenticated",
        "error_description": "Invalid credentials",
        "error_code": 10,
    }
    token = httpx.post(
        f"{emulator.url}/ws/oauth/token",
        data={
            **{k: v for k, v in emulator.credentials.items() if k != "instance_url"},
            "grant_type": "client_credentials",
            "scope": "monitoring offline_access",
        },
    )
    assert token.status_code == 400
    assert token.json()["error"] == "invalid_scope"


def test_a_server_page_cap_below_page_size_still_reads_everything(emulator: RunningEmulator) -> None:
    emulator.state.page_size = 7
    with connect(emulator) as connector:
        assert len(list(connector.iter_devices())) == 45


def test_a_page_without_ids_is_a_fatal_error(emulator: RunningEmulator) -> None:
    emulator.state.faults.add("malformed-item:GET:/v2/organizations")
    emulator.state.page_size = 1
    with connect(emulator) as connector:
        customers = list(connector.iter_customers())
    assert len(customers) == 2
    assert connector.skipped_records == 1
    with pytest.raises(ConnectorFatalError, match="without any item id"):
        last_id([{"name": "x"}], "/v2/organizations")


def test_available_fields_depend_on_the_device_type(emulator: RunningEmulator) -> None:
    with connect(emulator) as connector:
        agent = {f.path for f in connector.available_fields(DeviceType.WORKSTATION)}
        printer = {f.path for f in connector.available_fields(DeviceType.PRINTER)}
        vm = {f.path for f in connector.available_fields(DeviceType.VIRTUAL_MACHINE)}
    assert {"system.serialNumber", "os.name", "hostname"} <= agent
    assert "system.serialNumber" not in printer
    assert "nodeClass" in printer
    assert "parentDeviceId" in vm


def test_token_endpoint_accepts_http_basic_client_authentication(emulator: RunningEmulator) -> None:
    client_id, secret = emulator.credentials["client_id"], emulator.credentials["client_secret"]
    url = f"{emulator.url}/ws/oauth/token"
    good = httpx.post(url, auth=(client_id, secret), data={"grant_type": "client_credentials", "scope": "monitoring"})
    assert good.status_code == 200
    assert good.json()["token_type"] == "Bearer"
    bad = httpx.post(url, auth=(client_id, "nope"), data={"grant_type": "client_credentials"})
    assert bad.status_code == 401
    assert bad.json()["error"] == "invalid_client"


def test_account_is_the_instance_and_api_client(emulator: RunningEmulator) -> None:
    with connect(emulator) as connector:
        result = connector.test_connection()
    assert result.ok
    netloc = emulator.url.partition("://")[2]
    assert result.account is not None
    assert result.account.account_id == f"{netloc}/{emulator.credentials['client_id']}"
    assert result.message == f"Connected to NinjaOne ({netloc})."
    assert result.account.details["client_id"] == emulator.credentials["client_id"]


def test_rate_limited_token_request_is_retried(emulator: RunningEmulator) -> None:
    emulator.state.faults.add("429:POST:/ws/oauth/token:times=1,retry_after=0")
    with connect(emulator) as connector:
        assert connector.test_connection().ok
    assert emulator.state.requests_by_path["POST /ws/oauth/token"] == 2


def test_token_endpoint_outage_is_cannot_connect_not_bad_credentials(emulator: RunningEmulator) -> None:
    emulator.state.faults.add("503:POST:/ws/oauth/token:times=0")
    with connect(emulator) as connector:
        result = connector.test_connection()
    assert not result.ok
    assert result.error_key == "cannot_connect", result.message
    assert "503" in result.message


def test_basic_device_list_expands_organization_and_location(emulator: RunningEmulator) -> None:
    with connect(emulator) as connector:
        assert isinstance(connector, NinjaOneConnector)
        [first] = connector.client.get_list("/v2/devices", {"pageSize": 1})
    assert first["references"]["organization"]["id"] == first["organizationId"]
    assert first["references"]["location"]["id"] == first["locationId"]
    assert "os" not in first  # the detailed list carries os/system


def test_scopes_follow_the_features_and_a_missing_one_is_named(emulator: RunningEmulator) -> None:
    emulator.state.scopes = frozenset({"monitoring"})  # an API client allowed to read only
    log = RequestLog(max_entries=100)
    with connect(emulator, log) as connector:
        assert connector.test_connection().ok
        assert list(connector.iter_devices())
        target = next(iter(connector.iter_alerts(AlertState.OPEN))).external_id
        with pytest.raises(ConnectorForbiddenError, match="lacks the scope 'management'") as info:
            connector.resolve_alert(target)
    assert info.value.key == "forbidden"
    assert not emulator.state.alerts[target].resolved
    scopes = [parse_qs(e.request_body)["scope"] for e in log.entries() if e.url.endswith("/ws/oauth/token")]
    assert scopes == [["monitoring"], ["monitoring management"]]


def test_reset_asks_for_the_management_scope_once(emulator: RunningEmulator) -> None:
    log = RequestLog(max_entries=100)
    with connect(emulator, log) as connector:
        alerts = list(connector.iter_alerts(AlertState.OPEN))
        for alert in alerts[:2]:
            connector.resolve_alert(alert.external_id)
    scopes = [parse_qs(e.request_body)["scope"] for e in log.entries() if e.url.endswith("/ws/oauth/token")]
    assert scopes == [["monitoring"], ["monitoring management"]]
    assert all(emulator.state.alerts[a.external_id].resolved for a in alerts[:2])


def test_a_missing_monitoring_scope_is_not_called_bad_credentials(emulator: RunningEmulator) -> None:
    emulator.state.scopes = frozenset({"control"})
    with connect(emulator) as connector:
        result = connector.test_connection()
    assert not result.ok
    assert result.error_key == "forbidden"
    assert "lacks the scope 'monitoring'" in result.message


def test_alerts_without_severity_or_device_get_both_from_lookups(emulator: RunningEmulator) -> None:
    log = RequestLog(max_entries=200)
    with connect(emulator, log) as connector:
        alerts = list(connector.iter_alerts(AlertState.OPEN))
    assert len(alerts) == 3
    state = emulator.state
    for alert in alerts:
        raw = alert.raw
        assert "severity" not in raw  # the captured shape
        assert "device" not in raw
        device = state.get_device(alert.device_external_id or "")
        assert device is not None
        assert alert.hostname == device.hostname
        expected = state.severity_of(state.alerts[alert.external_id])[0]
        if state.alert_number(state.alerts[alert.external_id]) % 3 == 2:
            expected = ""  # its activities carry no severity either (as the captured webhook)
        assert alert.severity == expected
        assert alert.alert_type
        assert not alert.alert_type.isupper()  # a readable condition, not a code
    paths = [urlsplit(e.url).path for e in log.entries()]
    assert paths.count("/v2/activities") == 1  # one page of TRIGGERED activities serves every alert
    assert sorted(p for p in paths if p.startswith("/v2/device/")) == sorted(
        {f"/v2/device/{a.device_external_id}" for a in alerts})  # one lookup per device, cached


def test_devices_with_null_or_absent_lists_are_kept_and_counted(emulator: RunningEmulator) -> None:
    with connect(emulator) as connector:
        devices = {d.external_id: d for d in connector.iter_devices()}
        assert connector.skipped_records == 0
        summary = connector.field_issues.summary("device")
    assert len(devices) == 45
    nulls = [i + 1 for i in range(45) if i % 11 == 5]  # the emulator's null-list devices (ids are index + 1)
    absent = [i + 1 for i in range(45) if i % 11 == 8]
    for device_id in nulls + absent:
        device = devices[str(device_id)]
        assert device.ip_addresses == device.mac_addresses == ()
        assert device.hostname
    assert summary == (f"{len(nulls)} devices had unreadable fields: "
                       "ipAddresses (null), macAddresses (null), tags (null)")


def test_the_reset_poll_stops_at_the_page_holding_the_first_reset_older_than_since() -> None:
    with serve_emulator("ninjaone", seed=5, customers=1, devices=3, alerts=0) as running:
        state: Any = running.state
        for number in range(300):
            state.resolve_alert(state.raise_alert(message=f"Alert {number}").id)
        since = datetime.now(UTC) - timedelta(hours=1)
        resets = [a for a in state.activities if a["statusCode"] == "RESET"]
        for activity in resets[:250]:  # the oldest 250 resets happened a day ago
            activity["activityTime"] = (since - timedelta(days=1)).timestamp()
        with connect(running) as connector:
            resolved = list(connector.iter_alerts(AlertState.RESOLVED, since=since))
            everything = list(connector.iter_alerts(AlertState.RESOLVED))
        assert {a.external_id for a in resolved} == {a["seriesUid"] for a in resets[250:]}
        assert len(everything) == 300
        # newest first, 200 a page: page 1 already reaches before `since`; without `since` 2 pages + the empty end
        assert state.requests_by_path["GET /v2/activities"] == 1 + 3
