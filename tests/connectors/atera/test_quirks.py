"""Atera quirks over HTTP against the emulator: paging, API-key/JWT auth, SNMP devices, alerts, error bodies."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from rmmbridge.connectors.atera.client import AteraKeyAuth
from rmmbridge.connectors.atera.connector import AteraConnector
from rmmbridge.connectors.atera.emulator.state import AteraEmulatorState
from rmmbridge.connectors.atera.normalize import parse_item, to_alert
from rmmbridge.connectors.atera.schemas import Alert
from rmmbridge.connectors.base import Connector
from rmmbridge.connectors.errors import ConnectorFatalError
from rmmbridge.connectors.http import RequestLog
from rmmbridge.connectors.opening import open_connector
from rmmbridge.connectors.records import AlertState, DeviceType
from rmmbridge.connectors.testing.contract import FAST_RETRY
from rmmbridge.connectors.testing.server import RunningEmulator, serve_emulator


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    with serve_emulator("atera", seed=3, customers=3, devices=120, alerts=6) as running:
        yield running


def state_of(emulator: RunningEmulator) -> AteraEmulatorState:
    assert isinstance(emulator.state, AteraEmulatorState)
    return emulator.state


def atera(connector: Connector) -> AteraConnector:
    assert isinstance(connector, AteraConnector)
    return connector


def test_pages_ask_for_50_items_and_follow_next_link(emulator: RunningEmulator) -> None:
    log = RequestLog(max_entries=100)
    with open_connector("atera", emulator.credentials, request_log=log, retry=FAST_RETRY) as connector:
        devices = list(connector.iter_devices())
    agent_urls = [e.url for e in log.entries() if "/api/v3/agents" in e.url]
    assert agent_urls[0].endswith("/api/v3/agents?page=1&itemsInPage=50")
    assert "page=2" in agent_urls[1]
    assert "itemsInPage=50" in agent_urls[1]
    agents = [d for d in devices if not d.external_id.startswith("snmp-")]
    assert len(agent_urls) == -(-len(agents) // 50)
    assert len(devices) == state_of(emulator).device_count() == 120


def test_next_link_on_the_public_host_is_asked_of_the_configured_host(emulator: RunningEmulator) -> None:
    """The real API writes https://app.atera.com into nextLink; the client keeps to the URL it was given."""
    state_of(emulator).link_base = "https://app.atera.com"
    with open_connector("atera", emulator.credentials, retry=FAST_RETRY, timeout=5) as connector:
        atera(connector).client.items_in_page = 10
        devices = list(connector.iter_devices())
    assert len(devices) == 120
    assert emulator.state.requests_by_path["GET /api/v3/agents"] >= 9


def test_without_next_link_total_pages_drives_paging(emulator: RunningEmulator) -> None:
    state_of(emulator).next_links = False
    with open_connector("atera", emulator.credentials, retry=FAST_RETRY, timeout=5) as connector:
        atera(connector).client.items_in_page = 7
        customers = list(connector.iter_customers())
        devices = list(connector.iter_devices())
    assert len(customers) == 3
    assert len(devices) == 120
    assert emulator.state.requests_by_path["GET /api/v3/agents"] >= 14


def test_repeated_next_link_stops_with_an_error(emulator: RunningEmulator) -> None:
    emulator.state.faults.add("repeat-page:GET:/api/v3/agents:times=1")
    with open_connector("atera", emulator.credentials, retry=FAST_RETRY) as connector:
        atera(connector).client.items_in_page = 10
        with pytest.raises(ConnectorFatalError, match="twice"):
            list(connector.iter_devices())


def test_legacy_key_goes_in_x_api_key_and_a_jwt_as_bearer(emulator: RunningEmulator) -> None:
    legacy = AteraKeyAuth("a" * 32)
    request = next(legacy.auth_flow(httpx.Request("GET", "https://app.atera.com/api/v3/account")))
    assert request.headers["X-API-KEY"] == "a" * 32
    assert "Authorization" not in request.headers
    jwt = state_of(emulator).jwt
    bearer = AteraKeyAuth(jwt)
    request = next(bearer.auth_flow(httpx.Request("GET", "https://app.atera.com/api/v3/account")))
    assert request.headers["Authorization"] == f"Bearer {jwt}"
    assert "X-API-KEY" not in request.headers
    # The emulator takes the JWT only as a bearer token, so a successful connection proves the header choice.
    with open_connector("atera", {**emulator.credentials, "api_key": jwt}, retry=FAST_RETRY) as connector:
        result = connector.test_connection()
    assert result.ok, result.message
    assert result.account is not None
    assert result.account.details["auth"] == "JWT bearer"
    assert result.account.account_id == state_of(emulator).account_id
    assert result.account.display_name == "Atera – Emulated MSP"


def test_wrong_key_is_a_401_with_the_problem_details_title(emulator: RunningEmulator) -> None:
    log = RequestLog()
    with open_connector("atera", {**emulator.credentials, "api_key": "0" * 32}, request_log=log,
                        retry=FAST_RETRY) as connector:
        result = connector.test_connection()
    assert result.error_key == "invalid_auth"
    assert result.message.startswith("Validation failed – 401 Unauthorized: Atera rejected the credentials")
    body = json.loads(log.entries()[-1].response_body)
    assert body["status"] == 401
    assert body["title"] == "Unauthorized"
    assert body["type"].endswith("section-15.5.2")
    assert "0" * 32 not in log.entries()[-1].url


def test_printers_and_network_devices_come_from_the_snmp_list(emulator: RunningEmulator) -> None:
    with open_connector("atera", emulator.credentials, retry=FAST_RETRY) as connector:
        devices = list(connector.iter_devices())
    snmp = [d for d in devices if d.external_id.startswith("snmp-")]
    agents = {d.external_id: d for d in devices if not d.external_id.startswith("snmp-")}
    assert snmp, "the estate should hold SNMP devices"
    assert {d.device_type for d in snmp} <= {DeviceType.PRINTER, DeviceType.NETWORK_DEVICE}
    assert {DeviceType.PRINTER, DeviceType.NETWORK_DEVICE} <= {d.device_type for d in snmp}
    for device in snmp:
        assert device.parent_external_id in agents
        assert agents[device.parent_external_id].customer_external_id == device.customer_external_id
        assert "Community" not in device.fields
        assert device.fields["Type"] in ("Printer", "Switch", "Firewall", "Router")
    kinds = {d.device_type for d in agents.values()}
    assert {DeviceType.SERVER, DeviceType.WORKSTATION, DeviceType.LAPTOP, DeviceType.VIRTUAL_MACHINE} <= kinds
    assert any(d.online for d in agents.values())
    assert any(not d.online for d in agents.values())


def test_removed_agent_disappears_and_added_one_appears(emulator: RunningEmulator) -> None:
    state = state_of(emulator)
    agent = next(d for d in state.iter_devices() if not state.is_snmp(d))
    printer = next(d for d in state.iter_devices() if d.kind == "printer")
    with httpx.Client(base_url=emulator.url) as control:
        assert control.delete(f"/_emulator/devices/{agent.id}").status_code == 204
        assert control.patch(f"/_emulator/devices/snmp-{printer.id}", json={"deleted": True}).status_code == 200
        added = control.post("/_emulator/devices", json={"hostname": "NEW-LAPTOP-01", "kind": "laptop"})
        assert added.status_code == 201
        new_id = added.json()["id"]
    with open_connector("atera", emulator.credentials, retry=FAST_RETRY) as connector:
        ids = {d.external_id: d for d in connector.iter_devices()}
    assert agent.id not in ids
    assert f"snmp-{printer.id}" not in ids
    assert ids[new_id].hostname == "NEW-LAPTOP-01"
    assert ids[new_id].device_type is DeviceType.LAPTOP
    assert len(ids) == state.device_count() == 119


def test_resolve_is_a_put_and_resolved_alerts_are_listed_archived(emulator: RunningEmulator) -> None:
    with open_connector("atera", emulator.credentials, retry=FAST_RETRY) as connector:
        open_before = list(connector.iter_alerts(AlertState.OPEN))
        target = open_before[0]
        assert target.external_id.isdigit()
        assert target.severity in ("Information", "Warning", "Critical")
        assert target.raised_at is not None
        assert target.raised_at.tzinfo is not None
        connector.resolve_alert(target.external_id)
        connector.resolve_alert(target.external_id)  # again: still 204
        resolved = list(connector.iter_alerts(AlertState.RESOLVED))
        open_after = {a.external_id for a in connector.iter_alerts(AlertState.OPEN)}
    assert [a.external_id for a in resolved] == [target.external_id]
    assert resolved[0].state is AlertState.RESOLVED
    assert resolved[0].resolved_at is not None
    assert resolved[0].raw["Archived"] is True
    assert target.external_id not in open_after
    calls = emulator.state.resolve_calls
    assert [(c["method"], c["path"], c["status"]) for c in calls] == [
        ("PUT", f"/api/v3/alerts/{target.external_id}", 204)
    ] * 2


def test_resolving_a_deleted_alert_counts_as_resolved(emulator: RunningEmulator) -> None:
    alert_id = next(iter(emulator.state.alerts))
    with httpx.Client(base_url=emulator.url, headers={"X-API-KEY": emulator.credentials["api_key"]}) as raw:
        assert raw.delete(f"/api/v3/alerts/{alert_id}").status_code == 204
        missing = raw.get(f"/api/v3/alerts/{alert_id}")
    assert missing.status_code == 404
    assert missing.json()["status"] == 404
    assert missing.json()["title"]
    with open_connector("atera", emulator.credentials, retry=FAST_RETRY) as connector:
        connector.resolve_alert(alert_id)
    assert emulator.state.resolve_calls[-1]["status"] == 404


def test_since_filters_open_alerts_on_created(emulator: RunningEmulator) -> None:
    state = state_of(emulator)
    with httpx.Client(base_url=emulator.url) as control:
        new_id = control.post("/_emulator/alerts", json={"message": "Disk C: below 5% free",
                                                          "priority": "Critical", "alert_type": "disk"}).json()["id"]
    since = datetime.now(UTC) - timedelta(minutes=1)
    with open_connector("atera", emulator.credentials, retry=FAST_RETRY) as connector:
        recent = list(connector.iter_alerts(AlertState.OPEN, since=since))
    assert [a.external_id for a in recent] == [new_id]
    assert recent[0].message == "Disk C: below 5% free"
    assert recent[0].severity == "Critical"
    assert len(state.open_alerts()) == 7


def test_bad_alert_status_is_a_400_problem(emulator: RunningEmulator) -> None:
    with httpx.Client(base_url=emulator.url, headers={"X-API-KEY": emulator.credentials["api_key"]}) as raw:
        answer = raw.get("/api/v3/alerts", params={"alertStatus": "Closed"})
    assert answer.status_code == 400
    assert "alertStatus" in answer.json()["title"]
    with open_connector("atera", emulator.credentials, retry=FAST_RETRY) as connector:
        with pytest.raises(ConnectorFatalError, match="HTTP 400"):
            atera(connector).client.get("/api/v3/alerts", {"alertStatus": "Closed"})
        with pytest.raises(Exception, match="Not an Atera alert ID"):
            connector.resolve_alert("abc")


def test_contacts_are_users_without_archived_ones(emulator: RunningEmulator) -> None:
    state = state_of(emulator)
    with open_connector("atera", emulator.credentials, retry=FAST_RETRY) as connector:
        users = list(connector.iter_users())
        customers = {c.external_id for c in connector.iter_customers()}
    archived = [c for c in state.contacts if c["Archived"]]
    assert archived
    assert len(users) == len(state.contacts) - len(archived)
    assert all(u.email and "@" in u.email and u.customer_external_id in customers for u in users)
    assert {str(c["EndUserID"]) for c in archived}.isdisjoint(u.external_id for u in users)


def test_list_answers_are_paged_results_with_absolute_links(emulator: RunningEmulator) -> None:
    schemas = json.loads((Path(__file__).parent / "samples" / "atera-v3-schemas.json").read_text())["schemas"]
    with httpx.Client(base_url=emulator.url, headers={"X-API-KEY": emulator.credentials["api_key"]}) as raw:
        first = raw.get("/api/v3/agents", params={"itemsInPage": 500}).json()
        second = raw.get("/api/v3/agents", params={"page": 2, "itemsInPage": 50}).json()
    assert list(first) == schemas["AgentDtoPagedResult"]["properties"]
    assert first["itemsInPage"] == len(first["items"]) == 50  # itemsInPage is capped at 50
    assert first["prevLink"] is None
    assert first["nextLink"] == f"{emulator.url}/api/v3/agents?page=2&itemsInPage=50"
    assert second["prevLink"] == f"{emulator.url}/api/v3/agents?page=1&itemsInPage=50"
    assert first["totalItemCount"] == sum(1 for d in state_of(emulator).iter_devices()
                                          if not state_of(emulator).is_snmp(d))


def test_alerts_without_agent_id_link_by_device_guid(emulator: RunningEmulator) -> None:
    state = state_of(emulator)
    log = RequestLog(max_entries=200)
    with open_connector("atera", emulator.credentials, request_log=log, retry=FAST_RETRY) as connector:
        alerts = list(connector.iter_alerts(AlertState.OPEN))
    guid_only = [a for a in alerts if "AgentId" not in a.raw]
    assert guid_only, "the emulator serves the documented DeviceGuid-only shape for some alerts"
    for alert in alerts:
        device = state.alerts[alert.external_id].device_id
        expected = f"snmp-{device}" if state.is_snmp(state.get_device(device)) else device  # type: ignore[arg-type]
        assert alert.device_external_id == expected, alert.raw
    lookups = [e.url for e in log.entries() if "/api/v3/agents/machine/" in e.url]
    assert len(lookups) == len({a.raw["DeviceName"] for a in guid_only})  # one lookup per name, cached


def test_alert_device_falls_back_to_the_hostname_within_the_customer(emulator: RunningEmulator) -> None:
    state = state_of(emulator)
    agent = next(state.agent_json(d) for d in state.iter_devices() if not state.is_snmp(d))
    unknown_guid = "00000000-0000-4000-8000-000000000000"
    with open_connector("atera", emulator.credentials, retry=FAST_RETRY) as connector:
        same = Alert.model_validate({"AlertID": 1, "DeviceGuid": unknown_guid, "DeviceName": agent["MachineName"],
                                     "CustomerID": agent["CustomerID"]})
        other = Alert.model_validate({"AlertID": 2, "DeviceGuid": unknown_guid, "DeviceName": agent["MachineName"],
                                      "CustomerID": agent["CustomerID"] + 100})
        nameless = Alert.model_validate({"AlertID": 3, "DeviceGuid": agent["DeviceGuid"]})
        assert atera(connector).alert_device(same) == str(agent["AgentID"])
        assert atera(connector).alert_device(other) is None  # a same-named machine of another customer is not it
        assert atera(connector).alert_device(nameless) is None  # no name to look up, not an SNMP device's GUID


def test_resolved_alerts_are_read_from_the_newest_end_within_the_window(emulator: RunningEmulator) -> None:
    state = state_of(emulator)
    raised = [state.raise_alert(message=f"check {n}") for n in range(290)]  # 6 pages of 50
    for alert in raised:
        state.resolve_alert(alert.id)
    long_ago = datetime.now(UTC) - timedelta(days=3)
    for alert in raised[:270]:  # resolved days ago: outside the window
        alert.resolved_at = long_ago
    log = RequestLog(max_entries=200)
    since = datetime.now(UTC) - timedelta(hours=1)
    with open_connector("atera", emulator.credentials, request_log=log, retry=FAST_RETRY) as connector:
        resolved = list(connector.iter_alerts(AlertState.RESOLVED, since=since))
        everything = list(connector.iter_alerts(AlertState.RESOLVED))
    assert {a.external_id for a in resolved} == {a.id for a in raised[270:]}
    assert len(everything) == 290
    urls = [e.url for e in log.entries() if "alertStatus=Resolved" in e.url]
    assert len(urls) == 3 + 6  # windowed: 3 pages; then the unwindowed read of all 6
    pages = [parse_qs(urlsplit(url).query)["page"] for url in urls[:3]]
    # page 1 (to learn the order and page count), the newest page, and the one before it (nothing new: stop)
    assert pages == [["1"], ["6"], ["5"]]


def test_lower_case_categories_get_the_spec_spelling_and_warning_is_kept() -> None:
    raw = {"AlertID": 5, "Severity": "Warning", "AlertCategoryID": "performance", "DeviceGuid": "g",
           "Created": "2024-02-15T10:30:00Z"}
    alert = to_alert(parse_item(Alert, raw, "alert"), raw)
    assert (alert.severity, alert.alert_type) == ("Warning", "Performance")
    assert alert.device_external_id is None
    assert alert.raised_at == datetime(2024, 2, 15, 10, 30, tzinfo=UTC)
