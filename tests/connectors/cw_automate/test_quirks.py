"""ConnectWise Automate quirks over HTTP against the emulator: apitoken + ClientId, refresh, 2FA, page-until-empty,
chassis enrichment, retired computers, network devices under their probe, alerts without resolve, error bodies,
and the alert e-mail sent over SMTP."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from rmmbridge.connectors.base import Capability
from rmmbridge.connectors.cw_automate import const
from rmmbridge.connectors.cw_automate.alerts import parse_alert_email
from rmmbridge.connectors.cw_automate.connector import CwAutomateConnector
from rmmbridge.connectors.cw_automate.emulator.state import MONITORS, CwAutomateEmulatorState
from rmmbridge.connectors.errors import (
    ConnectorAuthError,
    ConnectorFatalError,
    ConnectorForbiddenError,
    ConnectorUnavailableError,
    UnsupportedCapabilityError,
)
from rmmbridge.connectors.http import RequestLog, RetryPolicy
from rmmbridge.connectors.opening import open_connector
from rmmbridge.connectors.records import AlertState, DeviceType
from rmmbridge.connectors.testing.contract import free_closed_port
from rmmbridge.connectors.testing.server import RunningEmulator, serve_emulator

FAST = RetryPolicy(max_retries=2, backoff_base=0.01, backoff_max=0.02, retry_after_cap=1.0)
API = const.API_ROOT


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    with serve_emulator("cw_automate", seed=3, customers=3, devices=60, alerts=6, page_size=10) as running:
        yield running


def connect(emulator: RunningEmulator, log: RequestLog | None = None, **overrides: str) -> Any:
    return open_connector("cw_automate", {**emulator.credentials, **overrides}, request_log=log, retry=FAST, timeout=5)


def queries(log: RequestLog, path: str) -> list[dict[str, list[str]]]:
    return [parse_qs(urlsplit(e.url).query) for e in log.entries() if urlsplit(e.url).path == path]


def state_of(emulator: RunningEmulator) -> CwAutomateEmulatorState:
    assert isinstance(emulator.state, CwAutomateEmulatorState)
    return emulator.state


# --- auth ---------------------------------------------------------------------------------------------------------


def test_login_sends_username_password_and_the_client_id_header(emulator: RunningEmulator) -> None:
    seen: list[httpx.Request] = []

    class Spy(httpx.HTTPTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return super().handle_request(request)

    with open_connector("cw_automate", emulator.credentials, transport=Spy(), retry=FAST) as connector:
        result = connector.test_connection()
    assert result.ok, result.message
    assert result.account is not None
    assert result.account.account_id == f"{urlsplit(emulator.url).netloc}/{emulator.credentials['username']}"
    assert result.account.details["InternalUserName"] == emulator.credentials["username"]
    login, call = seen[0], seen[1]
    assert (login.method, login.url.path) == ("POST", f"{API}/apitoken")
    assert login.read() == (
        b'{"UserName":"'
        + emulator.credentials["username"].encode()
        + b'","Password":"'
        + emulator.credentials["password"].encode()
        + b'"}'
    )
    assert all(r.headers["ClientId"] == emulator.credentials["client_id"] for r in seen)
    assert call.headers["Authorization"].startswith("Bearer ")
    assert (call.url.path, parse_qs(call.url.query.decode())) == (f"{API}/Clients", {"page": ["1"], "pageSize": ["1"]})


def test_a_wrong_client_id_is_invalid_auth_with_automates_message(emulator: RunningEmulator) -> None:
    with connect(emulator, client_id="00000000-0000-0000-0000-000000000000") as connector:
        result = connector.test_connection()
    assert (result.ok, result.error_key) == (False, "invalid_auth")
    assert "A valid ClientId header is required." in result.message
    assert "Client ID" in result.message


def test_a_wrong_password_names_what_to_check(emulator: RunningEmulator) -> None:
    with connect(emulator, password="not-the-password") as connector:
        result = connector.test_connection()
    assert result.error_key == "invalid_auth"
    assert result.message.startswith("Validation failed – 401 Unauthorized")
    assert "Username or password is incorrect." in result.message
    assert "Integrator" in result.message


def test_a_server_without_the_automate_api_says_to_check_the_server_url() -> None:
    with (
        serve_emulator("datto_rmm", devices=3) as other,
        open_connector(
            "cw_automate",
            {"server_url": other.url, "username": "u", "password": "p", "client_id": "c"},
            retry=FAST,
        ) as connector,
    ):
        result = connector.test_connection()
    assert result.error_key == "invalid_config"
    assert result.message.startswith(f"Validation failed – There is no Automate API at {other.url}{API}/apitoken")
    assert "Check the Server URL" in result.message


def test_a_user_with_mfa_is_told_to_use_an_integrator_user(emulator: RunningEmulator) -> None:
    state_of(emulator).two_factor_required = True
    with connect(emulator) as connector, pytest.raises(ConnectorAuthError) as info:
        list(connector.iter_customers())
    assert "two-factor" in info.value.message
    assert "Integrator user" in info.value.message
    assert emulator.state.tokens == {}


def test_token_is_cached_then_refreshed_before_it_expires(emulator: RunningEmulator) -> None:
    now = [1000.0]
    log = RequestLog(max_entries=100)
    with connect(emulator, log) as connector:
        assert isinstance(connector, CwAutomateConnector)
        connector.client.auth.clock = lambda: now[0]
        list(connector.iter_customers())
        list(connector.iter_sites())
        assert connector.client.auth.tokens_fetched == 1
        now[0] += 3600 - 60  # inside the refresh margin, not yet expired
        old = set(emulator.state.tokens)
        assert len(list(connector.iter_users())) == 12
        assert connector.client.auth.refreshes == 1
        assert connector.client.auth.tokens_fetched == 1
        now[0] += 3600 + 1  # expired: log in again
        list(connector.iter_customers())
        assert connector.client.auth.tokens_fetched == 2
    state = state_of(emulator)
    assert (state.token_requests, state.refresh_requests) == (3, 1)
    assert not old & set(state.tokens), "the refreshed token replaced the old one"
    refresh = [e for e in log.entries() if e.url.endswith("/apitoken/refresh")]
    assert len(refresh) == 1
    assert refresh[0].status == 200
    assert all(token not in refresh[0].request_body + refresh[0].response_body for token in old | set(state.tokens))


def test_a_rejected_token_mid_run_logs_in_again_once(emulator: RunningEmulator) -> None:
    with connect(emulator) as connector:
        first = list(connector.iter_devices())
        emulator.state.expire_tokens()
        assert [d.external_id for d in connector.iter_devices()] == [d.external_id for d in first]
        assert connector.client.auth.tokens_fetched == 2


# --- paging -------------------------------------------------------------------------------------------------------


def test_lists_page_from_one_until_an_empty_page_even_when_the_server_caps_page_size(
    emulator: RunningEmulator,
) -> None:
    log = RequestLog(max_entries=200)
    with connect(emulator, log) as connector:
        devices = list(connector.iter_devices())
    computers = queries(log, f"{API}/Computers")
    live = [d for d in emulator.state.iter_devices() if state_of(emulator).is_computer(d) and not d.deleted]
    pages = -(-len(live) // 10)
    assert [q["page"] for q in computers] == [[str(n)] for n in range(1, pages + 2)]
    assert all(q["pageSize"] == ["1000"] and q["orderBy"] == ["Id asc"] for q in computers)
    assert len(devices) == emulator.state.device_count()
    chassis = queries(log, f"{API}/Computers/Chassis")
    assert chassis[0]["condition"] == [f"ComputerId in ({','.join(d.id for d in live[:10])})"]
    assert len(chassis) == pages, "one chassis request per page of computers"
    assert [q["pageSize"] for q in chassis] == [["10"]] * (pages - 1) + [[str(len(live) - 10 * (pages - 1))]]


def test_a_server_ignoring_page_stops_with_an_error(emulator: RunningEmulator) -> None:
    emulator.state.faults.add(f"repeat-page:GET:{API}/Contacts:times=0")
    with connect(emulator) as connector, pytest.raises(ConnectorFatalError) as info:
        list(connector.iter_users())
    assert "same page twice" in info.value.message


def test_an_invalid_condition_is_a_fatal_error_with_automates_message(emulator: RunningEmulator) -> None:
    with connect(emulator) as connector, pytest.raises(ConnectorFatalError) as info:
        connector.client.get_list(f"{API}/Computers", {"condition": "Type = 'Server' or Type = 'Workstation'"})
    assert info.value.status == 400
    assert "(The condition" in info.value.message


def test_a_missing_permission_names_the_integrator_users_class_and_automates_message(
    emulator: RunningEmulator,
) -> None:
    emulator.state.faults.add(f"403:GET:{API}/Locations:times=0")
    with connect(emulator) as connector, pytest.raises(ConnectorForbiddenError) as info:
        list(connector.iter_sites())
    assert info.value.status == 403
    assert f"refused access to {API}/Locations (" in info.value.message
    assert "Give the Integrator user's class this permission" in info.value.message
    assert "Locations Show All" in info.value.message


def test_server_errors_quote_automates_message_after_retries(emulator: RunningEmulator) -> None:
    emulator.state.faults.add(f"500:GET:{API}/Locations:times=0")
    with connect(emulator) as connector, pytest.raises(ConnectorUnavailableError) as info:
        list(connector.iter_sites())
    assert "(An error has occurred." in info.value.message


# --- records ------------------------------------------------------------------------------------------------------


def test_records_link_customers_sites_users_and_devices(emulator: RunningEmulator) -> None:
    with connect(emulator) as connector:
        customers = {c.external_id: c for c in connector.iter_customers()}
        sites = {s.external_id: s for s in connector.iter_sites()}
        users = list(connector.iter_users())
        devices = list(connector.iter_devices())
    assert len(customers) == 3
    assert len(sites) == 6
    assert {s.customer_external_id for s in sites.values()} == set(customers)
    assert all(u.email and u.site_external_id in sites and u.customer_external_id in customers for u in users)
    assert all(
        d.site_external_id in sites and d.customer_external_id == sites[d.site_external_id].customer_external_id
        for d in devices
    )
    assert sites["1"].name == "Head Office"
    assert sites["1"].fields["Client.Name"] == customers["1"].name


def test_device_kinds_chassis_retired_and_network_devices(emulator: RunningEmulator) -> None:
    state = state_of(emulator)
    with connect(emulator) as connector:
        devices = {d.external_id: d for d in connector.iter_devices()}
    kinds = {d.device_type for d in devices.values()}
    assert {
        DeviceType.SERVER,
        DeviceType.WORKSTATION,
        DeviceType.LAPTOP,
        DeviceType.PRINTER,
        DeviceType.NETWORK_DEVICE,
    } <= kinds
    for generated in state.iter_devices():
        if not state.is_computer(generated):
            device = devices[f"nd-{generated.id}"]
            probe = state.probe_of(generated.site_id)
            assert probe is not None
            assert device.parent_external_id == probe.id
            assert devices[probe.id].fields["IsNetworkProbe"] is True
            assert device.device_type.value == generated.kind
            continue
        device = devices[generated.id]
        assert device.hostname == generated.hostname
        assert device.deleted is generated.deleted
        if generated.deleted:
            assert device.vendor_type == "Retired computer"
            assert device.online is False
            continue
        assert (device.manufacturer, device.model, device.serial_number) == (
            generated.manufacturer,
            generated.model,
            generated.serial_number,
        )
        assert device.fields["Chassis.ProductName"] == generated.model
        assert device.last_seen == generated.last_seen
        assert device.online is generated.online
        if generated.kind == "laptop":
            assert device.device_type is DeviceType.LAPTOP
    assert any(d.deleted for d in devices.values()), "the seeded estate retires some computers"


def test_missing_chassis_permission_still_yields_devices(emulator: RunningEmulator) -> None:
    emulator.state.faults.add(f"403:GET:{API}/Computers/Chassis:times=0")
    with connect(emulator) as connector:
        devices = list(connector.iter_devices())
    assert len(devices) == emulator.state.device_count()
    assert emulator.state.requests_by_path[f"GET {API}/Computers/Chassis"] == 1, "asked once, then left out"
    assert all(d.model is None for d in devices if not d.external_id.startswith("nd-"))


# --- alerts -------------------------------------------------------------------------------------------------------


def test_alerts_are_listed_but_cannot_be_resolved_through_the_api(emulator: RunningEmulator) -> None:
    state = state_of(emulator)
    with connect(emulator) as connector:
        assert Capability.ALERT_EMAIL in connector.capabilities
        assert Capability.ALERT_RESOLVE not in connector.capabilities
        assert Capability.WEBHOOKS not in connector.capabilities
        alerts = {a.external_id: a for a in connector.iter_alerts(AlertState.OPEN)}
        assert list(connector.iter_alerts(AlertState.RESOLVED)) == []
        with pytest.raises(UnsupportedCapabilityError):
            connector.resolve_alert(next(iter(alerts)))
    assert set(alerts) == {a.id for a in state.open_alerts()}
    for seeded in state.open_alerts():
        alert, device = alerts[seeded.id], state.get_device(seeded.device_id)
        assert device is not None
        expected = device.id if state.is_computer(device) else f"nd-{device.id}"
        assert (alert.device_external_id, alert.hostname, alert.message) == (expected, device.hostname, seeded.message)
        assert alert.raised_at == seeded.raised_at
        assert alert.severity
    token = httpx.post(
        f"{emulator.url}{API}/apitoken",
        headers={"ClientId": emulator.credentials["client_id"]},
        json={"username": emulator.credentials["username"], "password": emulator.credentials["password"]},
    ).json()["AccessToken"]
    answer = httpx.post(
        f"{emulator.url}{API}/Alerts/{seeded.id}",
        headers={"ClientId": emulator.credentials["client_id"], "Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 405
    assert answer.json() == {"Message": "The requested resource does not support http method 'POST'."}


def test_send_alert_email_in_automates_monitor_format(emulator: RunningEmulator) -> None:
    from aiosmtpd.controller import Controller

    received: list[Any] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received.append(envelope)
            return "250 OK"

    state = state_of(emulator)
    alert = state.open_alerts()[0]
    port = free_closed_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        for _ in range(2):
            answer = httpx.post(
                f"{emulator.url}/_emulator/send-alert-email",
                json={"alert_id": alert.id, "smtp_host": "127.0.0.1", "smtp_port": port, "to": "alerts@desk.example"},
            )
            assert answer.status_code == 200, answer.text
            state.resolve_alert(alert.id)
    finally:
        controller.stop()
    device = state.get_device(alert.device_id)
    customer = state.customer_by_id(device.customer_id) if device else None
    assert device is not None
    assert customer is not None
    site = state.site_by_id(device.site_id)
    assert site is not None
    monitor, field, result, _ = MONITORS[alert.alert_type]
    where = f"on {customer.name}\\{device.hostname} at {state.location_name(site.index)} for {field} result {result}."
    parsed, subjects = [], []
    for envelope in received:
        assert envelope.mail_from == state.alert_sender
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        subjects.append(str(message["Subject"]))
        parsed.append(parse_alert_email(str(message["Subject"]), message.get_content()))
    assert subjects == [f"{monitor} FAILED {where}", f"{monitor} SUCCESS {where}"]
    assert [(p.state, p.hostname, p.raw["client"]) for p in parsed] == [
        (AlertState.OPEN, device.hostname, customer.name),
        (AlertState.RESOLVED, device.hostname, customer.name),
    ]
    assert parsed[0].alert_type == parsed[1].alert_type
    assert parsed[0].external_id == ""


# --- control API ----------------------------------------------------------------------------------------------------


def test_devices_changed_through_the_control_api_move_between_automate_endpoints(emulator: RunningEmulator) -> None:
    control = httpx.Client(base_url=f"{emulator.url}/_emulator", timeout=5)
    added = control.post(
        "/devices",
        json={
            "hostname": "ACME-PRN-9000",
            "kind": "printer",
            "site_id": "2",
            "manufacturer": "Kyocera",
            "model": "ECOSYS M2540dn",
        },
    )
    assert added.status_code == 201, added.text
    printer_id = added.json()["id"]
    assert added.json()["device"]["DeviceType"] == {"Id": 7, "Name": "Printer"}
    live = next(d for d in emulator.state.iter_devices() if state_of(emulator).is_computer(d) and not d.deleted)
    assert control.patch(f"/devices/{live.id}", json={"deleted": True}).status_code == 200
    with connect(emulator) as connector:
        devices = {d.external_id: d for d in connector.iter_devices()}
    printer = devices[f"nd-{printer_id}"]
    probe = state_of(emulator).probe_of("2")
    assert probe is not None
    assert (printer.device_type, printer.model, printer.site_external_id, printer.parent_external_id) == (
        DeviceType.PRINTER,
        "ECOSYS M2540dn",
        "2",
        probe.id,
    )
    assert devices[live.id].deleted
    assert devices[live.id].vendor_type == "Retired computer"
    assert len(devices) == emulator.state.device_count()


def test_alerts_since_and_mappable_fields_per_device_type(emulator: RunningEmulator) -> None:
    state = state_of(emulator)
    cutoff = sorted(a.raised_at for a in state.open_alerts())[3]
    with connect(emulator) as connector:
        recent = {a.external_id for a in connector.iter_alerts(AlertState.OPEN, since=cutoff)}
        printer_fields = {f.path for f in connector.available_fields(DeviceType.PRINTER)}
        server_fields = {f.path for f in connector.available_fields(DeviceType.SERVER)}
        devices = list(connector.iter_devices())
    assert recent == {a.id for a in state.open_alerts() if a.raised_at >= cutoff}
    assert 0 < len(recent) < len(state.open_alerts())
    assert {"DeviceType.Name", "ProbeName", "IsLowOnToner"} <= printer_fields
    assert "Chassis.ProductName" not in printer_fields
    assert {"SerialNumber", "Chassis.ProductName", "VirusScanner.Name", "Client.Name"} <= server_fields
    present = set().union(*(d.fields for d in devices))
    normalized = {
        "hostname",
        "serial_number",
        "os_name",
        "manufacturer",
        "model",
        "ip_addresses",
        "mac_addresses",
        "last_logged_in_user",
        "last_seen",
        "online",
        "device_type",
        "vendor_type",
    }
    assert (server_fields | printer_fields) - normalized <= present, "every offered vendor field is really sent"


# --- issue 11: real shapes ------------------------------------------------------------------------------------------
def test_null_lists_keep_the_computer_and_no_date_is_empty(emulator: RunningEmulator) -> None:
    state = state_of(emulator)
    with connect(emulator) as connector:
        devices = {d.external_id: d for d in connector.iter_devices()}
        assert connector.skipped_records == 0
    computers = [d for d in state.iter_devices() if state.is_computer(d) and not d.deleted]
    nulls = [c for c in computers if state.computer_json(c)["LoggedInUsers"] is None]
    assert nulls  # the emulator serves null for an empty list, as servers do
    assert all(c.id in devices for c in nulls)
    no_date = [c for c in computers if state.computer_json(c)["WarrantyEndDate"] == "0001-01-01T00:00:00"]
    assert no_date
    assert all(devices[c.id].fields["WarrantyEndDate"] is None for c in no_date)


def test_offset_less_times_are_read_in_the_server_time_zone(emulator: RunningEmulator) -> None:
    from zoneinfo import ZoneInfo

    state = state_of(emulator)
    state.server_tz = ZoneInfo("America/New_York")
    with connect(emulator, server_time_zone="America/New_York") as connector:
        in_zone = {d.external_id: d.last_seen for d in connector.iter_devices()}
    with connect(emulator) as connector:  # default UTC: the same local clock reading is taken as UTC
        as_utc = {d.external_id: d.last_seen for d in connector.iter_devices()}
    computer = next(d for d in state.iter_devices() if state.is_computer(d) and not d.deleted)
    assert in_zone[computer.id] == computer.last_seen.replace(microsecond=0)
    assert as_utc[computer.id] is not None
    assert in_zone[computer.id] is not None
    assert (in_zone[computer.id] - as_utc[computer.id]).total_seconds() in (4 * 3600, 5 * 3600)  # EDT / EST


def test_a_wrong_time_zone_name_says_what_to_enter(emulator: RunningEmulator) -> None:
    from rmmbridge.connectors.cw_automate.credentials import CwAutomateCredentials

    with pytest.raises(ValueError, match="is not a time zone name; enter an IANA name such as Europe/London"):
        CwAutomateCredentials.model_validate({**emulator.credentials, "server_time_zone": "Mars/Olympus"})
    assert CwAutomateCredentials.model_validate(emulator.credentials).server_time_zone == "UTC"


def test_serial_is_the_asset_tag_and_printers_come_as_children_only_when_mapped(emulator: RunningEmulator) -> None:
    state = state_of(emulator)
    log = RequestLog()
    with connect(emulator, log) as connector:
        plain = list(connector.iter_devices())
    assert not [d for d in plain if d.external_id.startswith("printer-")]
    assert not any("/Printers" in urlsplit(e.url).path for e in log.entries())
    servers = [d for d in plain if d.device_type is DeviceType.SERVER and not d.deleted]
    assert servers
    assert all(d.fields["asset_tag"] == d.serial_number for d in servers)
    with connect(emulator) as connector:
        connector.use_type_mappings(frozenset({"server", "workstation", "printer"}))
        mapped = list(connector.iter_devices())
    printers = [d for d in mapped if d.external_id.startswith("printer-")]
    expected = {(c.id, p["Name"]) for c in state.iter_devices() for p in state.printers_json(c)}
    assert {(d.parent_external_id, d.hostname) for d in printers} == expected
    by_id = {d.external_id: d for d in mapped}
    for printer in printers:
        parent = by_id[printer.parent_external_id or ""]
        assert (printer.customer_external_id, printer.site_external_id) == (parent.customer_external_id,
                                                                            parent.site_external_id)


def test_routers_are_imported_when_mapped_with_their_guid_as_asset_tag_and_no_credentials(
        emulator: RunningEmulator) -> None:
    state = state_of(emulator)
    with connect(emulator) as connector:
        assert not [d for d in connector.iter_devices() if d.external_id.startswith("router-")]
        connector.use_type_mappings(frozenset({"network_device"}))
        routers = [d for d in connector.iter_devices() if d.external_id.startswith("router-")]
        sites = list(connector.iter_sites())
    expected = {state.location_router(i)["Guid"] for i in range(len(state.sites))  # type: ignore[index]
                if state.location_router(i)}
    assert {d.fields["asset_tag"] for d in routers} == expected
    assert all(d.vendor_type == "Router" and d.device_type is DeviceType.NETWORK_DEVICE for d in routers)
    secrets = [k for d in [*routers, *sites] for k in d.fields if k.endswith(("Password", "Username"))]
    assert secrets == []
    assert not any("router-secret" in str(v) for d in [*routers, *sites] for v in d.fields.values())


@pytest.mark.django_db
def test_the_setup_page_shows_the_server_time_zone(client: Any, admin_user: Any, emulator: RunningEmulator) -> None:
    from rmmbridge.integrations import actions
    from rmmbridge.servicedesk.actions import Actor

    integration = actions.do_create_integration(Actor.cli("test"), "cw_automate", "Automate",
                                                {**emulator.credentials, "server_time_zone": "Europe/London"},
                                                test=False)
    client.force_login(admin_user)
    page = client.get(f"/integrations/{integration.pk}/").content.decode()
    assert "Server time zone" in page
    assert "Europe/London" in page
