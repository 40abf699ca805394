"""N-central's research samples through its own parsers (devices, org units, active issues, tokens, errors)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.connectors.samples import Sample, sample_tests

from rmmbridge.connectors.ncentral.normalize import (
    account_from_server_info,
    parse_item,
    to_alert,
    to_customer,
    to_device,
)
from rmmbridge.connectors.ncentral.schemas import ActiveIssue, AuthResponse, Customer, Device, Page
from rmmbridge.connectors.records import AlertState, DeviceType


def _device(raw: Any) -> Any:
    return to_device(parse_item(Device, raw, "device"), raw)


def check_device_spec_example(raw: Any) -> None:
    device = _device(raw)
    assert device.external_id == "1299930810"
    assert device.hostname == "WS_01-12091-001001"
    assert device.device_type is DeviceType.WORKSTATION
    assert device.customer_external_id == "12091"
    assert device.site_external_id == "12091"
    assert device.last_logged_in_user is None  # "-" is a placeholder, not a user
    assert device.fields["stillLoggedIn"] == ""  # a string in the document, kept as sent
    assert device.last_seen == datetime(2017, 2, 16, 20, 0, tzinfo=UTC)  # +01:00 offset honoured
    assert device.os_name == "Microsoft Windows 7 Ultimate x64 Edition"


def check_device_still_logged_in_string(raw: Any) -> None:
    device = _device(raw)
    assert device.external_id == "1299930811"
    assert device.hostname == "SRV-DC01"
    assert device.device_type is DeviceType.SERVER
    assert device.last_logged_in_user == "CORP\\admin"
    assert device.site_external_id is None  # siteId null
    assert device.customer_external_id == "12091"
    assert device.online is True  # deviceStatus.state 1
    assert device.last_seen == datetime(2026, 3, 23, 21, 33, 26, 278000, tzinfo=UTC)  # no offset: read as UTC


def check_device_null_user(raw: Any) -> None:
    device = _device(raw)
    assert device.external_id == "1"
    assert device.hostname == "Device 1"
    assert device.last_logged_in_user is None
    assert device.customer_external_id == "100"
    assert device.site_external_id == "101"
    assert device.last_seen == datetime(2026, 3, 23, 21, 33, 26, 278000, tzinfo=UTC)
    assert device.online is None  # no deviceStatus: unknown, not offline


def check_active_issue(raw: Any) -> None:
    alert = to_alert(parse_item(ActiveIssue, raw, "active issue"), raw)
    assert alert.external_id == "2096172314"
    assert alert.device_external_id == "576589254"
    assert alert.state is AlertState.OPEN
    assert alert.severity == "High"  # notificationState 5 = Failed
    assert alert.alert_type == "Windows UAC Status"
    assert alert.hostname == "NCC-9996"
    assert alert.message == "Windows UAC Status is Failed on NCC-9996"
    assert alert.raised_at == datetime(2024, 4, 2, 16, 15, 33, 432000, tzinfo=UTC)


def check_authenticate(raw: Any) -> None:
    answer = AuthResponse.model_validate(raw)
    assert answer.tokens.access.token.startswith("eyJ")
    assert answer.tokens.access.expirySeconds == 3600
    assert answer.tokens.refresh is not None
    assert answer.tokens.refresh.expirySeconds == 90000


def check_customers_page(raw: Any) -> None:
    page = Page.model_validate(raw)
    customers = [to_customer(parse_item(Customer, item, "customer"), item) for item in page.data]
    assert [(c.external_id, c.name) for c in customers] == [("1", "Customer 1"), ("2", "Customer 2")]
    assert page.totalPages == 1


def check_devices_envelope(raw: Any) -> None:
    page = Page.model_validate(raw)
    assert page.data == []
    assert page.totalPages == 0
    assert page.pageSize == 1000


def check_error_401(raw: Any) -> None:
    assert raw["status"] == 401
    assert "UNAUTHORIZED" in raw["message"]


def check_server_info(raw: Any) -> None:
    account = account_from_server_info(raw, "ncentral.example.com", "https://ncentral.example.com")
    assert "version" not in account.details  # "ncentral": null
    assert account.details["api_version"] == "3.1.0"
    assert "API service 3.1.0" in account.display_name


INDEX: dict[str, Sample] = {
    "active_issue_spec_example.json": Sample(check_active_issue),
    "authenticate_spec_example.json": Sample(check_authenticate),
    "customers_page_ps_fixture.json": Sample(check_customers_page),
    "device_null_user_and_z_time.json": Sample(check_device_null_user),
    "device_spec_example.json": Sample(check_device_spec_example),
    "device_stillloggedin_true_string.json": Sample(check_device_still_logged_in_string),
    "devices_page_spec_envelope.json": Sample(check_devices_envelope),
    "error_401_spec_example.json": Sample(check_error_401),
    "server_info_spec_example.json": Sample(check_server_info),
}

test_every_sample_has_an_index_entry, test_sample_parses = sample_tests("ncentral", INDEX)


def _types_differ(sample: dict[str, Any], served: dict[str, Any]) -> list[str]:
    """Keys both have (non-null) whose JSON types differ (a dict's keys are compared one level down)."""
    out = []
    for key, value in sample.items():
        other = served.get(key)
        if value is None or other is None or key.startswith("_"):
            continue
        if type(value) is not type(other):
            out.append(f"{key}: sample {type(value).__name__}, emulator {type(other).__name__}")
        elif isinstance(value, dict):
            out += [f"{key}.{d}" for d in _types_differ(value, other)]
    return out


def test_the_emulator_serves_the_samples_field_types() -> None:
    """No saved OpenAPI document for N-central: the emulator's devices and org units keep the samples' JSON types
    (string stillLoggedIn, "-" users, object deviceStatus, string org-unit ids as in the server's document)."""
    from tests.connectors.samples import load_sample

    from rmmbridge.connectors.testing.server import serve_emulator

    with serve_emulator("ncentral", seed=2, customers=2, devices=12, alerts=2) as running:
        state: Any = running.state
        devices = [state.device_json(d) for d in state.iter_devices()]
        issue = state.issue_json(next(iter(state.alerts.values())))
    for name in ("device_spec_example.json", "device_stillloggedin_true_string.json"):
        sample = load_sample("ncentral", name)
        for served in devices:
            assert _types_differ({k: v for k, v in sample.items() if not k.endswith("Id") or k == "deviceId"},
                                 served) == [], name
    assert any(d["lastLoggedInUser"] == "-" for d in devices)
    assert all(isinstance(d["deviceStatus"], dict) for d in devices)
    assert _types_differ(load_sample("ncentral", "active_issue_spec_example.json"), issue) == []
