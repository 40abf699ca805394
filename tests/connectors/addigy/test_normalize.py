"""Addigy normalisation of saved, realistic v2 payloads: device audits with facts, policies, timestamps, types."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from rmmbridge.connectors.addigy.normalize import (
    account_from,
    device_type_for,
    normalize_device,
    normalize_policy,
    to_datetime,
)
from rmmbridge.connectors.errors import SkippableRecordError
from rmmbridge.connectors.records import DeviceType, RemoteDevice

SAMPLES = Path(__file__).parent / "samples"


def page() -> list[Any]:
    items: list[Any] = json.loads((SAMPLES / "devices_page.json").read_text())["items"]
    return items


def normalized() -> tuple[list[RemoteDevice], list[str]]:
    devices, skipped = [], []
    for raw in page():
        try:
            devices.append(normalize_device(raw))
        except SkippableRecordError as exc:
            skipped.append(exc.message)
    return devices, skipped


def test_a_saved_page_normalizes_with_the_malformed_item_skipped() -> None:
    devices, skipped = normalized()
    assert len(devices) == 5
    assert len(skipped) == 1
    assert "Addigy device" in skipped[0]
    assert "agentid" in skipped[0]


def test_a_macbook_air_with_an_apple_silicon_identifier_is_a_laptop_with_every_fact_mapped() -> None:
    device = normalize_device(page()[0])
    assert device.external_id == "7b3c2f0e-3c1a-4a5e-9f1e-2d4b6a8c0e11"
    assert device.hostname == "Erin's MacBook Air"
    assert device.device_type is DeviceType.LAPTOP
    assert device.vendor_type == "Mac14,2"
    assert device.serial_number == "K7QW2XH9LM"
    assert device.os_name == "macOS 14.7.1"
    assert device.model == "MacBook Air (M2, 2022)"
    assert device.manufacturer == "Apple"
    assert device.ip_addresses == ("192.168.1.44", "198.51.100.23")
    assert device.mac_addresses == ("a4:83:e7:12:9b:01",)
    assert device.last_logged_in_user == "erin.nguyen"
    assert device.online is True
    assert device.last_seen == datetime(2026, 11, 20, 14, 1, 58, tzinfo=UTC)
    assert device.customer_external_id == "5d1f0c2e-policy-acme"
    assert device.fields["facts.total_memory_gb"] == 16
    assert device.fields["facts.filevault_enabled"] is True
    assert device.fields["facts.policy_ids"] == "5d1f0c2e-policy-acme, root-policy"
    assert device.fields["facts.ethernet_mac_address"] is None
    assert device.fields["facts.warranty_expiration_date"] == "2025-08-14T00:00:00Z"
    assert device.fields["orgid"] == "0e2f4a6c-8b1d-4f3e-a5c7-9e1b3d5f7a90"
    assert not any(key.endswith(".type") or key.endswith(".error_msg") for key in device.fields)


def test_an_iphone_read_with_agent_id_and_epoch_milliseconds() -> None:
    device = normalize_device(page()[1])
    assert device.external_id == "c0ffee00-1111-4222-8333-444455556666"
    assert device.device_type is DeviceType.MOBILE
    assert device.os_name == "iOS 18.1"
    assert device.online is False
    assert device.last_seen == datetime.fromtimestamp(1763542800, tz=UTC)
    assert device.customer_external_id == "7a7a-policy-brightwater"  # first of policy_ids when policy_id is absent
    assert device.fields["facts.imei"] == "356938035643809"


def test_a_rack_mac_pro_is_a_server_seen_at_its_audit_date() -> None:
    device = normalize_device(page()[2])
    assert device.device_type is DeviceType.SERVER
    assert device.hostname == "render-01"
    assert device.online is True  # "true" as a string
    assert device.last_seen == datetime.fromtimestamp(1763400000, tz=UTC)


def test_apple_tv_is_other_and_a_mac_mini_a_workstation() -> None:
    tv, mini = normalize_device(page()[3]), normalize_device(page()[5])
    assert tv.device_type is DeviceType.OTHER
    assert tv.last_seen is None
    assert mini.device_type is DeviceType.WORKSTATION
    assert mini.customer_external_id is None


@pytest.mark.parametrize(("facts", "expected"), [
    ({"hardware_model": "MacBookPro18,3"}, DeviceType.LAPTOP),
    ({"hardware_model": "Mac15,3", "device_model_name": "MacBook Pro (14-inch, M3, Nov 2023)"}, DeviceType.LAPTOP),
    ({"hardware_model": "Mac13,1", "device_model_name": "Mac Studio (2022)"}, DeviceType.WORKSTATION),
    ({"hardware_model": "iMac21,1"}, DeviceType.WORKSTATION),
    ({"hardware_model": "Xserve3,1"}, DeviceType.SERVER),
    ({"hardware_model": "VirtualMac2,1"}, DeviceType.VIRTUAL_MACHINE),
    ({"hardware_model": "iPad13,18", "os_platform": "iPadOS"}, DeviceType.MOBILE),
    ({"os_platform": "iOS"}, DeviceType.MOBILE),
    ({"os_platform": "macOS"}, DeviceType.WORKSTATION),
    ({}, DeviceType.OTHER),
])
def test_device_types(facts: dict[str, str], expected: DeviceType) -> None:
    assert device_type_for(facts) is expected


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-11-20T14:01:58Z", datetime(2026, 11, 20, 14, 1, 58, tzinfo=UTC)),
    ("2026-11-20T15:01:58+01:00", datetime(2026, 11, 20, 14, 1, 58, tzinfo=UTC)),
    ("2026-11-20T14:01:58", datetime(2026, 11, 20, 14, 1, 58, tzinfo=UTC)),
    (1763647331.482, datetime.fromtimestamp(1763647331.482, tz=UTC)),
    (1763647331482, datetime.fromtimestamp(1763647331.482, tz=UTC)),
    ("1763647331", datetime.fromtimestamp(1763647331, tz=UTC)),
    (None, None), ("", None), ("soon", None), (0, None), (True, None),
])
def test_timestamps_become_aware_utc(value: Any, expected: datetime | None) -> None:
    assert to_datetime(value) == expected


def test_policies_are_customers_and_name_the_organization() -> None:
    raw = {"policyId": "5d1f0c2e-policy-acme", "orgid": "org-1", "name": "Acme Dental Group", "parent": "",
           "color": "#1c6ce8", "icon": "fa fa-building-o", "creation_time": 1700000000,
           "splashtop_settings": {"enabled": True}}
    customer = normalize_policy(raw)
    assert customer.external_id == "5d1f0c2e-policy-acme"
    assert customer.name == "Acme Dental Group"
    assert customer.fields["splashtop_settings.enabled"] is True
    with pytest.raises(SkippableRecordError, match="policyId"):
        normalize_policy({"name": "no id"})
    account = account_from([raw], "https://api.addigy.com")
    assert account.account_id == "org-1"
    assert account_from([], "https://api.addigy.com").account_id == "https://api.addigy.com"
