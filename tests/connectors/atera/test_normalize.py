"""Pure normalisation of realistic Atera payloads (AgentDto page with a malformed item, SNMP, contacts, alerts)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from rmmbridge.connectors.atera.normalize import (
    parse_item,
    parse_timestamp,
    to_alert,
    to_customer,
    to_device,
    to_snmp_device,
    to_user,
)
from rmmbridge.connectors.atera.schemas import Agent, Alert, Contact, Customer, SnmpDevice
from rmmbridge.connectors.errors import SkippableRecordError
from rmmbridge.connectors.records import AlertState, DeviceType, RemoteDevice

SAMPLES = Path(__file__).parent / "samples"


def agents_page() -> list[dict[str, Any]]:
    items = json.loads((SAMPLES / "agents_page.json").read_text())["items"]
    assert isinstance(items, list)
    return items


def normalise_page() -> tuple[list[RemoteDevice], list[str]]:
    devices, skipped = [], []
    for raw in agents_page():
        try:
            devices.append(to_device(parse_item(Agent, raw, "agent"), raw))
        except SkippableRecordError as exc:
            skipped.append(exc.message)
    return devices, skipped


def test_saved_page_normalises_with_the_broken_item_skipped() -> None:
    devices, skipped = normalise_page()
    assert [d.external_id for d in devices] == ["1042", "1043", "1045", "1046"]
    assert len(skipped) == 1
    assert "'broken'" in skipped[0]
    assert "AgentID" in skipped[0]


def test_domain_controller_is_a_server_with_every_field_flattened() -> None:
    dc = normalise_page()[0][0]
    assert dc.hostname == "CRL-DC01"
    assert dc.device_type is DeviceType.SERVER
    assert dc.vendor_type == "Domain Controller"
    assert dc.customer_external_id == "12"
    assert dc.site_external_id is None
    assert dc.serial_number == "7XK2PQ3"
    assert (dc.manufacturer, dc.model, dc.os_name) == ("Dell Inc.", "PowerEdge R650", "Windows Server 2022 Standard")
    assert dc.ip_addresses == ("10.0.0.10", "fe80::1c2d:3e4f:5a6b:7c8d")
    assert dc.mac_addresses == ("00:1A:2B:3C:4D:5E", "00:1A:2B:3C:4D:5F")
    assert dc.last_logged_in_user == "CEDARRIDGE\\administrator"
    assert dc.last_seen == datetime(2026, 11, 20, 14, 3, 11, 273333, tzinfo=UTC)
    assert dc.online is True
    assert dc.fields["FolderName"] == "Head Office"
    assert dc.fields["HardwareDisks.0.Free"] == 81234
    assert dc.fields["MacAddresses"] == "00:1A:2B:3C:4D:5E, 00:1A:2B:3C:4D:5F"
    assert dc.fields["WindowsSerialNumber"] == "00454-60000-00001-AA123"


def test_battery_makes_a_laptop_virtual_platform_a_vm_and_names_fall_back() -> None:
    devices = {d.external_id: d for d in normalise_page()[0]}
    laptop, vm, mac = devices["1043"], devices["1045"], devices["1046"]
    assert laptop.device_type is DeviceType.LAPTOP
    assert laptop.online is False
    assert laptop.last_seen == datetime(2026, 11, 18, 22, 41, 5, tzinfo=UTC)
    assert laptop.fields["BatteryInfo.DesignedCapacity"] == 52500
    assert vm.device_type is DeviceType.VIRTUAL_MACHINE
    assert vm.last_seen == datetime(2026, 11, 20, 13, 2, 59, tzinfo=UTC)
    assert mac.device_type is DeviceType.WORKSTATION
    assert mac.hostname == "crl-mac-02"
    assert mac.last_seen is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-20T14:03:11", datetime(2026, 11, 20, 14, 3, 11, tzinfo=UTC)),
        ("2026-11-20T14:03:11.27", datetime(2026, 11, 20, 14, 3, 11, 270000, tzinfo=UTC)),
        ("2026-11-20T14:03:11.1234567Z", datetime(2026, 11, 20, 14, 3, 11, 123456, tzinfo=UTC)),
        ("2026-11-20T14:03:11-05:00", datetime(2026, 11, 20, 14, 3, 11, tzinfo=timezone(timedelta(hours=-5)))),
        ("2026-11-20", datetime(2026, 11, 20, tzinfo=UTC)),
        (1787898261, datetime.fromtimestamp(1787898261, tz=UTC)),
        (1787898261504, datetime.fromtimestamp(1787898261.504, tz=UTC)),
        ("soon", None),
        ("", None),
        (None, None),
        (True, None),
    ],
)
def test_timestamps_become_aware_datetimes(value: Any, expected: datetime | None) -> None:
    parsed = parse_timestamp(value)
    assert parsed == expected
    assert parsed is None or parsed.tzinfo is not None


@pytest.mark.parametrize(
    ("os_type", "os", "hardware", "expected"),
    [
        ("Server", "Windows Server 2019", "Dell Inc.", DeviceType.SERVER),
        ("Domain Controller", "Windows Server 2016", "HPE", DeviceType.SERVER),
        ("Work Station", "Windows 10 Pro", "HP", DeviceType.WORKSTATION),
        ("Workstation", "Windows 10 Pro", "HP", DeviceType.WORKSTATION),
        ("Work Station", "Windows 11 Pro", "Microsoft Corporation Virtual Machine", DeviceType.VIRTUAL_MACHINE),
        ("Terminal Server", "Windows Server 2022", "Dell Inc.", DeviceType.SERVER),
        (None, "Windows Server 2022 Datacenter", "Dell Inc.", DeviceType.SERVER),
        (None, None, None, DeviceType.OTHER),
    ],
)
def test_os_type_decides_the_device_type(
    os_type: str | None, os: str | None, hardware: str | None, expected: DeviceType
) -> None:
    raw = {"AgentID": 1, "MachineName": "X", "OSType": os_type, "OS": os, "Vendor": hardware}
    assert to_device(parse_item(Agent, raw, "agent"), raw).device_type is expected


def test_snmp_device_drops_its_community_and_points_at_its_monitoring_agent() -> None:
    raw = {"Name": "CRL-PRN-01", "DeviceID": 88, "DeviceGuid": "5c0e2f1a-7b3d-4e9f-a1b2-c3d4e5f6a7b8",
           "CustomerID": 12, "CustomerName": "Cedar Ridge Law", "FolderID": None, "Hostname": "10.0.0.40",
           "Online": True, "Port": "161", "Community": "s3cret-community", "Type": "Printer", "Version": "V2",
           "SecurityLevel": "NoAuthNoPriv", "Authentication": None, "Privacy": None, "Monitored": True,
           "MonitoringAgentID": 1042, "Model": "HP LaserJet Pro M404dn"}
    device = to_snmp_device(parse_item(SnmpDevice, raw, "SNMP device"), raw)
    assert device.external_id == "snmp-88"
    assert device.device_type is DeviceType.PRINTER
    assert device.parent_external_id == "1042"
    assert device.ip_addresses == ("10.0.0.40",)
    assert device.vendor_type == "SNMP Printer"
    assert "s3cret-community" not in device.fields.values()
    assert not {"Community", "Authentication", "Privacy"} & set(device.fields)
    switch = {**raw, "Type": "Switch", "Name": "CRL-SW-01", "Model": "Cisco Catalyst 9200L", "Hostname": "core-sw"}
    as_switch = to_snmp_device(parse_item(SnmpDevice, switch, "SNMP device"), switch)
    assert as_switch.device_type is DeviceType.NETWORK_DEVICE
    assert as_switch.ip_addresses == ()


def test_customer_and_contact() -> None:
    raw_customer = {"CustomerID": 12, "CustomerName": " Cedar Ridge Law ", "CreatedOn": "2021-03-10T15:06:36",
                    "Domain": "cedarridge.example", "Latitude": None}
    customer = to_customer(parse_item(Customer, raw_customer, "customer"), raw_customer)
    assert (customer.external_id, customer.name) == ("12", "Cedar Ridge Law")
    assert customer.fields["Domain"] == "cedarridge.example"
    raw_contact = {"EndUserID": 301, "CustomerID": 12, "Firstname": "Erin", "Lastname": "Nguyen",
                   "Email": "erin.nguyen@cedarridge.example", "IsContactPerson": True, "Archived": False}
    user = to_user(parse_item(Contact, raw_contact, "contact"), raw_contact)
    assert (user.external_id, user.name, user.email, user.customer_external_id) == (
        "301", "Erin Nguyen", "erin.nguyen@cedarridge.example", "12")
    nameless = {"EndUserID": 302, "CustomerID": 12, "Firstname": None, "Lastname": "", "Email": "ap@x.example"}
    assert to_user(parse_item(Contact, nameless, "contact"), nameless).name == "ap@x.example"
    with pytest.raises(SkippableRecordError, match="customer"):
        parse_item(Customer, {"CustomerID": 13, "CustomerName": ""}, "customer")


def test_alert_open_and_archived() -> None:
    raw = {"AlertID": 70012, "Code": 4, "Source": "Machine status", "Title": "Machine is offline",
           "Severity": "Critical", "Created": "2026-11-20T13:55:00", "SnoozedEndDate": None,
           "DeviceGuid": "0f6c8e2a-51b9-4f0e-9d3c-7a1e2b4c6d8f", "AgentId": 1042, "AdditionalInfo": None,
           "Archived": False, "AlertCategoryID": "Availability", "ArchivedDate": None, "TicketID": None,
           "AlertMessage": "Machine is offline", "DeviceName": "CRL-DC01", "CustomerID": 12,
           "CustomerName": "Cedar Ridge Law", "FolderID": 7, "PollingCyclesCount": 2, "DeviceType": None}
    alert = to_alert(parse_item(Alert, raw, "alert"), raw)
    assert alert.external_id == "70012"
    assert alert.device_external_id == "1042"
    assert alert.state is AlertState.OPEN
    assert (alert.message, alert.severity, alert.alert_type, alert.hostname) == (
        "Machine is offline", "Critical", "Availability", "CRL-DC01")
    assert alert.raised_at == datetime(2026, 11, 20, 13, 55, tzinfo=UTC)
    assert alert.resolved_at is None
    archived = {**raw, "Archived": True, "ArchivedDate": "2026-11-20T14:10:00", "AgentId": None, "Title": None}
    closed = to_alert(parse_item(Alert, archived, "alert"), archived)
    assert closed.state is AlertState.RESOLVED
    assert closed.resolved_at == datetime(2026, 11, 20, 14, 10, tzinfo=UTC)
    assert closed.device_external_id is None
    assert closed.message == "Machine is offline"
    with pytest.raises(SkippableRecordError, match="not an object"):
        parse_item(Alert, ["AlertID", 1], "alert")
