"""Addigy's research samples through its own parsers (device audits, pages, policies, alerts, errors)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from tests.connectors.samples import Sample, sample_tests

from rmmbridge.connectors.addigy.normalize import normalize_alert, normalize_device, normalize_policy
from rmmbridge.connectors.http import error_message_from
from rmmbridge.connectors.records import AlertState, DeviceType


def check_full_device(raw: Any) -> None:
    device = normalize_device(raw)
    assert device.external_id == "5a3f2c1e-0b7d-4e59-9d3e-1f2a3b4c5d6e"
    assert device.hostname == "Jane's MacBook Pro"
    assert device.serial_number == "C02XYZ12ABCD"
    assert device.device_type is DeviceType.LAPTOP  # Apple-silicon identifier, decided by the model name
    assert device.model == "MacBook Pro (14-inch, M3, Nov 2023)"
    assert device.manufacturer == "Apple"
    assert device.os_name == "macOS 14.5"
    assert device.customer_external_id == "p1"  # policy_id
    assert device.online is True
    assert device.last_seen == datetime(2026, 1, 1, 11, 59, tzinfo=UTC)
    assert device.ip_addresses == ()  # local_ip null with an error message: that fact only is lost
    assert device.mac_addresses == ("aa:bb:cc:dd:ee:ff", "11:22:33:44:55:66")
    assert device.last_logged_in_user == "jane"
    assert device.fields["facts.total_memory_gb"] == 16


def check_devices_page(raw: Any) -> None:
    assert raw["metadata"]["page_count"] == 3
    devices = [normalize_device(item) for item in raw["items"]]
    assert [(d.external_id, d.serial_number, d.hostname) for d in devices] == [("a1", "C02XYZ", "C02XYZ")]


def check_empty_items_null(raw: Any) -> None:
    from rmmbridge.connectors.addigy.client import _page_parts

    items, meta = _page_parts(raw, "/api/v2/devices")
    assert items == []
    assert meta["page_count"] == 0


def check_error_403(raw: Any) -> None:
    response = httpx.Response(403, json=raw, request=httpx.Request("POST", "https://api.addigy.com/api/v2/devices"))
    assert "missing permission: View Devices" in error_message_from(response)


def check_policies_bare_array(raw: Any) -> None:
    assert isinstance(raw, list)  # no items, no metadata
    customers = [normalize_policy(item) for item in raw]
    assert [(c.external_id, c.name) for c in customers] == [("p1", "Base")]
    assert customers[0].fields["parent"] == ""
    assert customers[0].fields["orgid"] == "o1"


def check_alerts_page(raw: Any) -> None:
    alerts = [normalize_alert(item) for item in raw["items"]]
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert.external_id == "a1"
    assert alert.device_external_id == "dev1"  # `agent_id` of the v2 list
    assert alert.state is AlertState.OPEN  # Unattended
    assert alert.message == "Disk full"
    assert alert.raw["ticket_id"] == 42  # a number on old alerts, kept


INDEX: dict[str, Sample] = {
    "device_swagger_shape_full.json": Sample(check_full_device),
    "devices_page_addigyctl.json": Sample(check_devices_page),
    "devices_page_empty_items_null.json": Sample(check_empty_items_null),
    "error_403_addigyctl.json": Sample(check_error_403),
    "policies_query_addigyctl.json": Sample(check_policies_bare_array),
    "received_alerts_page_addigyctl.json": Sample(check_alerts_page),
}

test_every_sample_has_an_index_entry, test_sample_parses = sample_tests("addigy", INDEX)


def test_the_emulator_serves_the_samples_shapes_and_field_types() -> None:
    """Addigy's swagger is not saved: the emulator's answers keep the samples' shapes (a bare policy array, paged
    devices and alerts) and JSON types."""
    from tests.connectors.samples import load_sample

    from rmmbridge.connectors.addigy import const
    from rmmbridge.connectors.testing.server import serve_emulator

    def kinds(item: dict[str, Any]) -> dict[str, str]:
        return {k: type(v).__name__ for k, v in item.items() if v is not None}

    with serve_emulator("addigy", seed=2, customers=2, devices=8, alerts=2) as running:
        headers = {const.API_KEY_HEADER: running.credentials["client_secret"]}
        policies = httpx.post(f"{running.url}{const.POLICIES_QUERY}", json={}, headers=headers).json()
        alerts = httpx.post(f"{running.url}{const.ALERTS_QUERY}", json={"page": 1, "per_page": 10},
                            headers=headers).json()
        devices = httpx.post(f"{running.url}{const.DEVICES}", json={"page": 1, "per_page": 10},
                             headers=headers).json()
    assert isinstance(policies, list)
    for sample_name, served in (("policies_query_addigyctl.json", policies[0]),
                                ("received_alerts_page_addigyctl.json", alerts["items"][0]),
                                ("devices_page_addigyctl.json", devices["items"][0])):
        sample = load_sample("addigy", sample_name)
        first = sample[0] if isinstance(sample, list) else sample["items"][0]
        if not isinstance(sample, list):
            assert set(sample["metadata"]) == set(alerts["metadata"]) == set(devices["metadata"])
        wanted, got = kinds(first), kinds(served)
        assert {k: v for k, v in wanted.items() if k in got and k != "ticket_id"} == \
            {k: got[k] for k in wanted if k in got and k != "ticket_id"}, sample_name
