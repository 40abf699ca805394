"""N-central quirks over HTTP against the emulator: JWT → access/refresh tokens, pageNumber paging, assets,
active issues, the concurrency 429 without Retry-After, error bodies and Custom PSA push payloads."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from rmmbridge.connectors.errors import ConnectorAuthError, ConnectorFatalError
from rmmbridge.connectors.http import RequestLog, RetryPolicy
from rmmbridge.connectors.ncentral.alerts import parse_webhook
from rmmbridge.connectors.ncentral.connector import NcentralConnector
from rmmbridge.connectors.opening import open_connector
from rmmbridge.connectors.records import AlertState, DeviceType
from rmmbridge.connectors.testing.server import RunningEmulator, serve_emulator

FAST = RetryPolicy(max_retries=3, backoff_base=0.01, backoff_max=0.05, retry_after_cap=1.0)


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    with serve_emulator("ncentral", seed=5, customers=3, devices=40, alerts=4, page_size=15) as running:
        yield running


def connect(emulator: RunningEmulator, log: RequestLog | None = None, **overrides: str) -> Any:
    return open_connector("ncentral", {**emulator.credentials, **overrides}, request_log=log, retry=FAST, timeout=5)


def paths(log: RequestLog) -> list[tuple[str, str, int | None]]:
    return [(e.method, urlsplit(e.url).path, e.status) for e in log.entries()]


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


# --- auth -----------------------------------------------------------------------------------------------------------
def test_authenticates_once_with_the_jwt_then_uses_the_access_token(emulator: RunningEmulator) -> None:
    log = RequestLog()
    with connect(emulator, log) as connector:
        result = connector.test_connection()
        list(connector.iter_customers())
    assert result.ok, result.message
    assert result.account is not None
    assert result.account.details["version"]
    assert result.message.startswith("Connected to N-central 2025.2.0.16 at 127.0.0.1:")
    assert paths(log)[:2] == [("POST", "/api/auth/authenticate", 200), ("GET", "/api/server-info", 200)]
    assert emulator.state.authentications == 1  # type: ignore[attr-defined]
    assert len(emulator.state.tokens) == 1


def test_expired_access_token_is_renewed_with_the_refresh_token_not_the_jwt(emulator: RunningEmulator) -> None:
    log = RequestLog()
    with connect(emulator, log) as connector:
        assert connector.test_connection().ok
        emulator.state.expire_tokens()
        assert connector.test_connection().ok
    state: Any = emulator.state
    assert (state.authentications, state.refreshes) == (1, 1)
    refresh = [e for e in log.entries() if e.url.endswith("/api/auth/refresh")]
    assert len(refresh) == 1
    assert refresh[0].status == 200
    assert refresh[0].request_body == "***"  # the refresh token itself is the body, redacted
    assert [p for p in paths(log) if p[1] == "/api/server-info"][1] == ("GET", "/api/server-info", 401)


def test_access_token_is_renewed_before_it_expires_without_a_401(emulator: RunningEmulator) -> None:
    log = RequestLog()
    with connect(emulator, log) as connector:
        assert connector.test_connection().ok
        auth = connector.client.auth
        later = time.monotonic() + 3590  # inside the 60 s margin before the 1 h access token expires
        auth.clock = lambda: later
        assert connector.test_connection().ok
    statuses = paths(log)
    assert ("POST", "/api/auth/refresh", 200) in statuses
    assert all(status != 401 for _, _, status in statuses)


def test_refused_refresh_token_falls_back_to_authenticating_with_the_jwt(emulator: RunningEmulator) -> None:
    state: Any = emulator.state
    with connect(emulator) as connector:
        assert connector.test_connection().ok
        state.expire_tokens()
        state.expire_refresh_tokens()
        assert connector.test_connection().ok
    assert (state.authentications, state.refreshes) == (2, 0)


def test_wrong_jwt_is_invalid_auth_with_the_vendor_message(emulator: RunningEmulator) -> None:
    token = emulator.credentials["api_token"]
    header, payload, _ = token.split(".")
    with connect(emulator, api_token=f"{header}.{payload}.forged") as connector:
        result = connector.test_connection()
        with pytest.raises(ConnectorAuthError) as info:
            list(connector.iter_devices())
    assert result.error_key == "invalid_auth"
    assert "User-API token is invalid" in result.message
    assert "Generate a new JSON Web Token" in info.value.message


def test_tokens_never_reach_the_request_log(emulator: RunningEmulator) -> None:
    log = RequestLog()
    state: Any = emulator.state
    with connect(emulator, log) as connector:
        assert connector.test_connection().ok
        state.expire_tokens()
        list(connector.iter_sites())
    text = "\n".join(f"{e.url} {e.request_body} {e.response_body}" for e in log.entries())
    issued = [*state.tokens, *state.refresh_tokens, emulator.credentials["api_token"]]
    assert issued
    assert all(value not in text for value in issued)
    assert '"token": "***"' in text.replace('"token":"***"', '"token": "***"')


# --- paging -----------------------------------------------------------------------------------------------------------
def test_devices_page_by_page_number_from_one_until_total_pages(emulator: RunningEmulator) -> None:
    log = RequestLog()
    with connect(emulator, log) as connector:
        devices = list(connector.iter_devices())
    assert len(devices) == 40
    device_calls = [e for e in log.entries() if urlsplit(e.url).path == "/api/devices"]
    assert [query(e.url)["pageNumber"] for e in device_calls] == ["1", "2", "3"]  # 15 + 15 + 10, no extra call
    assert {query(e.url)["pageSize"] for e in device_calls} == {"1000"}


def test_page_envelope_and_bad_page_parameters(emulator: RunningEmulator) -> None:
    state: Any = emulator.state
    headers = {"Authorization": f"Bearer {state.issue_pair()['tokens']['access']['token']}"}
    with httpx.Client(base_url=emulator.url, headers=headers) as raw:
        page = raw.get("/api/devices", params={"pageNumber": 3, "pageSize": 15}).json()
        too_big = raw.get("/api/devices", params={"pageSize": 1001})
        zero = raw.get("/api/devices", params={"pageNumber": 0})
        beyond = raw.get("/api/devices", params={"pageNumber": 9, "pageSize": 15}).json()
        unauthenticated = httpx.get(f"{emulator.url}/api/devices")
    assert (page["pageNumber"], page["pageSize"], page["itemCount"]) == (3, 15, 10)
    assert (page["totalItems"], page["totalPages"]) == (40, 3)
    assert page["_links"]["previousPage"].endswith("pageNumber=2")
    assert "nextPage" not in page["_links"]
    assert page["data"][0]["deviceId"] == 1_000_000_030
    assert too_big.status_code == 400
    assert "pageSize" in too_big.json()["message"]
    assert zero.status_code == 400
    assert "pageNumber" in zero.json()["message"]
    assert beyond["data"] == []
    assert beyond["totalPages"] == 3
    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["status"] == 401


def test_server_ignoring_page_number_stops_with_an_error() -> None:
    with serve_emulator("ncentral", seed=5, customers=40, devices=3, alerts=0, page_size=10) as big:
        big.state.faults.add("repeat-page:GET:/api/customers:times=0")
        with connect(big) as connector, pytest.raises(ConnectorFatalError) as info:
            list(connector.iter_customers())
    assert "same page twice" in info.value.message
    assert big.state.requests_by_path["GET /api/customers"] == 2


def test_a_large_estate_costs_one_request_per_thousand_devices() -> None:
    with serve_emulator("ncentral", seed=2, customers=4, devices=2500, alerts=0) as big:
        with connect(big) as connector:
            count = sum(1 for _ in connector.iter_devices())
        assert count == 2500
        assert big.state.requests_by_path["GET /api/devices"] == 3


# --- org units and devices ----------------------------------------------------------------------------------------
def test_customers_and_sites_follow_the_org_unit_tree(emulator: RunningEmulator) -> None:
    with connect(emulator) as connector:
        customers = list(connector.iter_customers())
        sites = list(connector.iter_sites())
        devices = list(connector.iter_devices())
    assert [c.external_id for c in customers] == ["1000", "1001", "1002"]
    assert customers[0].fields["parentId"] == "50"  # org-unit ids are strings in the server's OpenAPI document
    assert customers[0].fields["orgUnitType"] == "CUSTOMER"
    assert len(sites) == 6
    assert {s.customer_external_id for s in sites} == {"1000", "1001", "1002"}
    site_ids = {s.external_id for s in sites}
    assert all(d.site_external_id in site_ids for d in devices)
    by_site = {s.external_id: s.customer_external_id for s in sites}
    assert all(by_site[d.site_external_id or ""] == d.customer_external_id for d in devices)
    kinds = {d.device_type for d in devices}
    assert {DeviceType.SERVER, DeviceType.WORKSTATION, DeviceType.LAPTOP} <= kinds
    assert all(d.serial_number is None for d in devices)


def test_fetch_assets_option_fetches_inventory_per_device(emulator: RunningEmulator) -> None:
    with connect(emulator, fetch_assets="true") as connector:
        assert isinstance(connector, NcentralConnector)
        assert connector.include_assets is True
        devices = list(connector.iter_devices())
        fields = {f.path for f in connector.available_fields()}
    state = emulator.state
    assert state.requests_by_path["GET /api/devices"] == 3
    assert sum(n for k, n in state.requests_by_path.items() if k.endswith("/assets")) == 40
    for device in devices[:5]:
        expected = state.get_device(device.external_id)
        assert expected is not None
        assert device.serial_number == expected.serial_number
        assert (device.manufacturer, device.model) == (expected.manufacturer, expected.model)
        assert device.mac_addresses == (expected.mac_address.upper(),)
        assert device.fields["assets.device.deviceid"] == device.external_id
    assert "assets.computersystem.serialnumber" in fields


def test_refused_assets_import_devices_without_inventory(emulator: RunningEmulator) -> None:
    emulator.state.faults.add("403:GET:/api/devices/*/assets:times=0")
    with connect(emulator, fetch_assets="true") as connector:
        devices = list(connector.iter_devices())
        assert connector.include_assets is False
        assert "Fetch inventory" in connector.assets_warning
    assert len(devices) == 40
    assert all(d.serial_number is None for d in devices)
    assert sum(n for k, n in emulator.state.requests_by_path.items() if k.endswith("/assets")) == 1


def test_device_removed_while_listing_keeps_its_list_record(emulator: RunningEmulator) -> None:
    with connect(emulator) as connector:
        assert isinstance(connector, NcentralConnector)
        assert connector.device_assets("1000000039") is not None
        emulator.state.remove_device("1000000039")
        assert connector.device_assets("1000000039") is None


# --- alerts -----------------------------------------------------------------------------------------------------------
def test_active_issues_are_read_per_customer_and_site_org_unit(emulator: RunningEmulator) -> None:
    state = emulator.state
    raised = state.raise_alert(message="Disk C: below 5 %", priority="Critical", alert_type="perf_resource_usage")
    with connect(emulator) as connector:
        alerts = {a.external_id: a for a in connector.iter_alerts(AlertState.OPEN)}
        resolved = list(connector.iter_alerts(AlertState.RESOLVED))
        state.resolve_alert(raised.id)
        still_open = {a.external_id for a in connector.iter_alerts(AlertState.OPEN)}
    assert set(alerts) == {a.id for a in state.alerts.values()}  # each issue once, though customer and site list it
    alert = alerts[raised.id]
    device = state.get_device(raised.device_id)
    assert device is not None
    assert alert.device_external_id == raised.device_id
    assert alert.hostname == device.hostname
    assert alert.severity == "High"
    assert alert.alert_type == "CPU"
    assert alert.message == f"CPU is Failed on {device.hostname}"
    assert alert.raised_at == raised.raised_at
    assert resolved == []  # no history endpoint: absence from the active list is the resolution
    assert raised.id not in still_open
    asked = sorted(k for k in state.requests_by_path if k.endswith("/active-issues"))
    units = [c.id for c in state.customers] + [s.id for s in state.sites]
    assert asked == sorted(f"GET /api/org-units/{u}/active-issues" for u in units)
    assert "GET /api/org-units/50/active-issues" not in state.requests_by_path  # the service org lists none


def test_first_poll_of_a_large_tenant_stays_within_the_in_flight_limit() -> None:
    with serve_emulator("ncentral", seed=6, customers=30, devices=300, alerts=20, page_size=50) as running:
        state: Any = running.state
        state.response_delay = 0.002
        with connect(running) as connector:
            alerts = list(connector.iter_alerts())
        assert {a.external_id for a in alerts} == {a.id for a in state.open_alerts()}
        assert state.concurrency_refusals == 0  # one request at a time: never a 429 for too many in flight


def test_server_info_without_the_ncentral_version_names_the_api_version(emulator: RunningEmulator) -> None:
    emulator.state.ncentral_version_hidden = True  # type: ignore[attr-defined]
    with connect(emulator) as connector:
        result = connector.test_connection()
    assert result.ok, result.message
    assert result.account is not None
    assert "version" not in result.account.details
    assert result.account.details["api_version"] == "3.1.0"
    assert "API service 3.1.0" in result.message


def test_devices_carry_online_and_no_placeholder_users(emulator: RunningEmulator) -> None:
    with connect(emulator) as connector:
        devices = {d.external_id: d for d in connector.iter_devices()}
    state: Any = emulator.state
    assert connector.skipped_records == 0
    emulated_devices = list(state.iter_devices())
    assert len(devices) == len(emulated_devices)
    for emulated in emulated_devices:
        device = devices[emulated.id]
        assert device.online is emulated.online
        assert device.last_logged_in_user != "-"
        assert device.last_seen is not None
        assert device.last_seen.tzinfo is not None
    assert any(d.fields["lastLoggedInUser"] == "-" and d.last_logged_in_user is None for d in devices.values())
    assert {type(d.fields["stillLoggedIn"]) for d in devices.values()} == {str}


def test_too_many_concurrent_requests_answer_429_without_retry_after(emulator: RunningEmulator) -> None:
    state: Any = emulator.state
    state.response_delay = 0.4
    token = state.issue_pair()["tokens"]["access"]["token"]
    answers: list[httpx.Response] = []

    def call() -> None:
        answers.append(httpx.get(f"{emulator.url}/api/customers", headers={"Authorization": f"Bearer {token}"}))

    threads = [threading.Thread(target=call) for _ in range(state.concurrency_limit + 3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    refused = [a for a in answers if a.status_code == 429]
    assert len(refused) == 3
    assert sum(a.status_code == 200 for a in answers) == state.concurrency_limit
    assert all("retry-after" not in a.headers for a in refused)
    assert refused[0].json()["message"] == "Too many concurrent requests to this endpoint."
    state.response_delay = 0.0
    with connect(emulator) as connector:  # the connector backs off exponentially on such a 429
        emulator.state.faults.add("429:GET:/api/customers:times=2")
        assert len(list(connector.iter_customers())) == 3


# --- push ------------------------------------------------------------------------------------------------------
def test_custom_psa_requests_parse_into_open_and_resolved_alerts(emulator: RunningEmulator) -> None:
    state = emulator.state
    alert = next(iter(state.alerts.values()))
    created = parse_webhook(json.dumps(state.webhook_payload(alert)).encode())
    state.resolve_alert(alert.id)
    resolved = parse_webhook(json.dumps(state.webhook_payload(alert)).encode())
    assert [a.state for a in created + resolved] == [AlertState.OPEN, AlertState.RESOLVED]
    assert created[0].external_id == resolved[0].external_id == f"psa-{alert.id}"
    assert created[0].alert_type == "CREATE"
    assert resolved[0].raw["psaTicketNumber"]
    assert created[0].message.startswith(state.get_device(alert.device_id).hostname)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"not json", "not JSON"),
        (b'{"title": "x"}', "without action and ncentralTicketId"),
        (b'{"action": "CREATE"}', "without ncentralTicketId"),
        (b"[1]", "not an object"),
    ],
)
def test_bad_custom_psa_bodies_say_what_was_expected(body: bytes, says: str) -> None:
    with pytest.raises(ConnectorFatalError) as info:
        parse_webhook(body)
    assert says in info.value.message


class _FakeNcentral(BaseHTTPRequestHandler):
    """A minimal N-central answering what the emulator never does: an empty body, and a bare list."""

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        tokens = {"access": {"token": "acc-1", "expirySeconds": 3600}, "refresh": {"token": "ref-1"}}
        self._send(200, json.dumps({"tokens": tokens}).encode())

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/api/customers":
            self._send(200, json.dumps({"data": None, "totalItems": 0, "totalPages": 0}).encode())
        elif path == "/api/sites":
            self._send(200, json.dumps({"data": [{"siteId": "51", "siteName": "HQ"}], "totalPages": 1}).encode())
        elif path == "/api/org-units/51/active-issues":
            self._send(200, b"")
        else:
            self._send(200, json.dumps([{"deviceId": 1, "longName": "x"}]).encode())


def test_empty_answers_are_empty_pages_and_a_bare_list_is_an_error() -> None:
    server = HTTPServer(("127.0.0.1", 0), _FakeNcentral)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    credentials = {"server_url": f"http://127.0.0.1:{server.server_address[1]}",
                   "api_token": "eyJhbGciOiJIUzUxMiJ9.eyJzdWIiOiJ4In0.c2ln"}
    try:
        with open_connector("ncentral", credentials, retry=FAST, timeout=5) as connector:
            assert list(connector.iter_alerts()) == []
            assert list(connector.iter_customers()) == []
            with pytest.raises(ConnectorFatalError) as info:
                list(connector.iter_devices())
    finally:
        server.shutdown()
        server.server_close()
    assert "instead of a page" in info.value.message


def test_org_unit_device_lists_are_scoped_to_the_org_unit(emulator: RunningEmulator) -> None:
    state: Any = emulator.state
    headers = {"Authorization": f"Bearer {state.issue_pair()['tokens']['access']['token']}"}
    with httpx.Client(base_url=emulator.url, headers=headers) as raw:
        everything = raw.get("/api/org-units/50/devices", params={"pageSize": 1000}).json()
        customer = raw.get("/api/org-units/1001/devices", params={"pageSize": 1000}).json()
        site = raw.get("/api/org-units/100003/devices", params={"pageSize": 1000}).json()
        missing = raw.get("/api/org-units/77/devices")
    assert everything["totalItems"] == 40
    assert {d["customerId"] for d in customer["data"]} == {1001}
    assert {d["siteId"] for d in site["data"]} == {100003}
    assert customer["totalItems"] == sum(1 for d in state.iter_devices() if d.customer_id == "1001")
    assert missing.status_code == 404


def test_emulator_pushes_custom_psa_requests_over_http(emulator: RunningEmulator) -> None:
    received: list[tuple[dict[str, str], bytes]] = []

    class Psa(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = HTTPServer(("127.0.0.1", 0), Psa)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    alert = next(iter(emulator.state.alerts.values()))
    try:
        answer = httpx.post(f"{emulator.url}/_emulator/send-webhook", json={
            "alert_id": alert.id, "url": f"http://127.0.0.1:{server.server_address[1]}/psa", "secret": "s3cret"})
    finally:
        server.shutdown()
        server.server_close()
    assert answer.status_code == 200
    headers, body = received[0]
    assert headers["x-webhook-secret"] == "s3cret"
    assert headers["authorization"].startswith("Basic ")
    parsed = parse_webhook(body, headers)
    assert [(a.external_id, a.state) for a in parsed] == [(f"psa-{alert.id}", AlertState.OPEN)]
