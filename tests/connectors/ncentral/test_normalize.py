"""N-central normalisation of saved, realistic payloads (device list, assets, active issues) and timestamps."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from rmmbridge.connectors.errors import SkippableRecordError
from rmmbridge.connectors.ncentral.normalize import (
    device_type_for,
    parse_item,
    parse_time,
    to_alert,
    to_device,
)
from rmmbridge.connectors.ncentral.schemas import ActiveIssue, Device, Page
from rmmbridge.connectors.records import AlertState, DeviceType

SAMPLES = Path(__file__).parent / "samples"


def load(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


def test_device_page_normalises_and_skips_the_malformed_item() -> None:
    page = Page.model_validate(load("devices_page.json"))
    devices, skipped = [], []
    for raw in page.data:
        try:
            devices.append(to_device(parse_item(Device, raw, "device"), raw))
        except SkippableRecordError as exc:
            skipped.append(exc.message)
    assert [d.external_id for d in devices] == ["576589254", "1331507060", "612004411"]
    assert len(skipped) == 1
    assert "'broken'" in skipped[0]
    assert "deviceId" in skipped[0]
    server, laptop, switch = devices
    assert server.device_type is DeviceType.SERVER
    assert server.vendor_type == "Servers - Windows"
    assert server.hostname == "DC01"
    assert server.customer_external_id == "101"
    assert server.site_external_id == "102"
    assert server.os_name == "Windows Server 2019 Standard"
    assert server.last_logged_in_user == "CORP\\administrator"
    assert server.last_seen == datetime(2025, 1, 15, 10, 30, tzinfo=UTC)
    assert server.online is None  # the device list has no online flag
    assert server.serial_number is None  # inventory only comes from the assets endpoint
    assert server.fields["soName"] == "Example MSP"
    assert server.fields["isProbe"] is True
    assert laptop.device_type is DeviceType.LAPTOP
    assert laptop.site_external_id is None  # a device directly under the customer
    assert laptop.last_seen == datetime(2025, 5, 19, 22, 29, 40, 586000, tzinfo=UTC)
    assert switch.device_type is DeviceType.NETWORK_DEVICE
    assert switch.os_name is None


def test_assets_fill_serial_make_model_and_nics_and_are_kept_in_fields() -> None:
    raw = load("devices_page.json")["data"][1]
    assets = load("device_assets.json")["data"]
    device = to_device(parse_item(Device, raw, "device"), raw, assets)
    assert device.serial_number == "7QPRX21"
    assert (device.manufacturer, device.model) == ("Dell Inc.", "Inspiron 15 3535")
    assert device.os_name == "Microsoft Windows 11 Home"
    assert device.ip_addresses == ("192.168.10.23",)
    assert device.mac_addresses == ("00:11:22:AA:BB:CC",)
    assert device.deleted is False
    assert device.fields["assets.computersystem.totalphysicalmemory"] == "17179869184"
    assert device.fields["assets._extra.device.createdon"] == "2025-05-19 15:27:29.412 -0700"
    assert device.fields["assets.networkadapter.list.0.macaddress"] == "00:11:22:aa:bb:cc"


def test_active_issues_become_open_alerts_keyed_by_task_id() -> None:
    page = Page.model_validate(load("active_issues_page.json"))
    alerts = []
    for raw in page.data[:2]:
        alerts.append(to_alert(parse_item(ActiveIssue, raw, "active issue"), raw))
    with pytest.raises(SkippableRecordError):
        parse_item(ActiveIssue, page.data[2], "active issue")
    uac, disk = alerts
    assert uac.external_id == "2096172314"
    assert uac.device_external_id == "576589254"
    assert uac.state is AlertState.OPEN
    assert uac.severity == "High"
    assert uac.message == "Windows UAC Status is Failed on DC01"
    assert uac.raised_at == datetime(2024, 4, 2, 16, 15, 33, 432000, tzinfo=UTC)
    assert uac.hostname == "DC01"
    assert uac.alert_type == "Windows UAC Status"
    assert uac.raw["_extra"]["customerTree"] == ["System", "Example MSP", "Contoso Dental"]
    assert disk.message == "Disk (C:) is Warning on DC01"
    assert disk.severity == "Moderate"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-01-15T10:30:00Z", datetime(2025, 1, 15, 10, 30, tzinfo=UTC)),
        ("2024-04-02T16:15:33.432Z", datetime(2024, 4, 2, 16, 15, 33, 432000, tzinfo=UTC)),
        ("2025-05-19 15:29:40.586 -0700", datetime(2025, 5, 19, 22, 29, 40, 586000, tzinfo=UTC)),
        ("2025-01-15 09:00:00.000", datetime(2025, 1, 15, 9, 0, tzinfo=UTC)),
        ("2025-01-15 10:00:00.000 +0000", datetime(2025, 1, 15, 10, 0, tzinfo=UTC)),
        (1736937000000, datetime(2025, 1, 15, 10, 30, tzinfo=UTC)),
        ("", None),
        ("soon", None),
        (None, None),
    ],
)
def test_timestamps_become_aware_utc(value: Any, expected: datetime | None) -> None:
    parsed = parse_time(value)
    assert parsed == expected
    if parsed is not None:
        assert parsed.tzinfo is not None


@pytest.mark.parametrize(
    ("device_class", "kind"),
    [
        ("Servers - Windows", DeviceType.SERVER),
        ("Workstations - Windows", DeviceType.WORKSTATION),
        ("Laptop - Windows", DeviceType.LAPTOP),
        ("Servers - Linux", DeviceType.SERVER),
        ("Workstations - Mac OS X", DeviceType.WORKSTATION),
        ("Switch/Router", DeviceType.NETWORK_DEVICE),
        ("Firewall", DeviceType.NETWORK_DEVICE),
        ("Printer", DeviceType.PRINTER),
        ("Other", DeviceType.OTHER),
        (None, DeviceType.OTHER),
    ],
)
def test_device_classes_map_to_device_types(device_class: str | None, kind: DeviceType) -> None:
    assert device_type_for(device_class) is kind
