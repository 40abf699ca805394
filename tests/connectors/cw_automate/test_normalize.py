"""Automate payloads → records, without I/O: realistic items in the API's shapes (spec field names and types),
timestamps without offsets, .NET 'no date', string vs int ids, chassis-based laptops, printers, e-mail subjects,
and credential validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rmmbridge.connectors.cw_automate.alerts import parse_alert_email
from rmmbridge.connectors.cw_automate.credentials import CwAutomateCredentials
from rmmbridge.connectors.cw_automate.normalize import (
    alert_age,
    computer_device_type,
    parse_item,
    parse_time,
    to_alert,
    to_computer,
    to_network_device,
    to_retired,
    to_site,
    to_user,
)
from rmmbridge.connectors.cw_automate.schemas import (
    Alert,
    Computer,
    ComputerChassis,
    Contact,
    Location,
    NetworkDevice,
    RetiredAsset,
)
from rmmbridge.connectors.errors import ConnectorConfigError, ConnectorFatalError, SkippableRecordError
from rmmbridge.connectors.records import AlertState, DeviceType

COMPUTER: dict[str, Any] = {
    "Id": 1432,
    "Client": {"Id": 12, "Name": "Cedar Ridge Law"},
    "Location": {"Id": 31, "Name": "Main Office"},
    "ComputerName": "CRL-LT-0107 ",
    "FriendlyName": "",
    "Type": "Workstation",
    "Status": "Offline",
    "OperatingSystemName": "Microsoft Windows 11 Pro x64",
    "OperatingSystemVersion": "10.0.22631",
    "SerialNumber": "5CG2341XYZ",
    "BiosManufacturer": "HP",
    "MACAddress": "3C-52-82-11-22-33",
    "LocalIPAddress": "192.168.10.57",
    "LastUserName": "CEDAR\\jdoe",
    "LoggedInUsers": [],
    "RemoteAgentLastContact": "2024-03-01T09:15:00",
    "LastHeartbeat": "2024-03-01T09:16:30",
    "WarrantyEndDate": "0001-01-01T00:00:00",
    "IsVirtualMachine": False,
    "VirusScanner": {"Id": "3", "Name": "Webroot SecureAnywhere"},
    "OpenPortsTCP": [135, 445],
}
CHASSIS: dict[str, Any] = {
    "ComputerId": 1432,
    "Manufacturer": "HP",
    "ProductName": "HP EliteBook 840 G9",
    "SerialNumber": "5CG2341XYZ",
    "ChassisType": "Notebook",
}


def test_computer_with_its_chassis() -> None:
    device = to_computer(
        parse_item(Computer, COMPUTER, "computer"), COMPUTER, ComputerChassis.model_validate(CHASSIS), CHASSIS
    )
    assert (device.external_id, device.hostname, device.customer_external_id, device.site_external_id) == (
        "1432",
        "CRL-LT-0107",
        "12",
        "31",
    )
    assert (device.device_type, device.vendor_type) == (DeviceType.LAPTOP, "Workstation")
    assert (device.manufacturer, device.model, device.serial_number) == ("HP", "HP EliteBook 840 G9", "5CG2341XYZ")
    assert device.last_seen == datetime(2024, 3, 1, 9, 16, 30, tzinfo=UTC)
    assert (device.online, device.last_logged_in_user, device.ip_addresses) == (
        False,
        "CEDAR\\jdoe",
        ("192.168.10.57",),
    )
    assert device.fields["VirusScanner.Name"] == "Webroot SecureAnywhere"
    assert device.fields["OpenPortsTCP"] == "135, 445"
    assert device.fields["Chassis.ChassisType"] == "Notebook"
    assert device.fields["WarrantyEndDate"] is None  # Automate's "no date" is empty, never a date


@pytest.mark.parametrize(
    ("type_", "os_name", "virtual", "chassis", "expected"),
    [
        ("Server", "Microsoft Windows Server 2022 Standard", True, None, DeviceType.SERVER),
        ("Workstation", "Microsoft Windows 10 Pro", False, "Desktop", DeviceType.WORKSTATION),
        ("Workstation", "macOS 14.5", False, "Laptop", DeviceType.LAPTOP),
        ("Workstation", "Microsoft Windows 11 Enterprise", True, "Other", DeviceType.VIRTUAL_MACHINE),
        (None, "Microsoft Windows Server 2019 Standard", None, None, DeviceType.SERVER),
        ("", "Ubuntu 22.04", None, None, DeviceType.WORKSTATION),
    ],
)
def test_computer_types(
    type_: str | None, os_name: str, virtual: bool | None, chassis: str | None, expected: DeviceType
) -> None:
    assert computer_device_type(type_, os_name, virtual, chassis) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2021-04-13T13:11:03", datetime(2021, 4, 13, 13, 11, 3, tzinfo=UTC)),
        ("2021-04-13T13:11:03.557Z", datetime(2021, 4, 13, 13, 11, 3, 557000, tzinfo=UTC)),
        ("2021-04-13T15:11:03+02:00", datetime(2021, 4, 13, 13, 11, 3, tzinfo=UTC)),
        ("/Date(1618319463000)/", datetime(2021, 4, 13, 13, 11, 3, tzinfo=UTC)),
        ("0001-01-01T00:00:00", None),
        ("", None),
        ("soon", None),
        (None, None),
    ],
)
def test_timestamps(value: Any, expected: datetime | None) -> None:
    assert parse_time(value) == expected


def test_a_computer_without_a_name_is_skipped_with_a_reason() -> None:
    with pytest.raises(SkippableRecordError) as info:
        parse_item(Computer, {**COMPUTER, "ComputerName": None}, "computer")
    assert "1432" in info.value.message
    assert "ComputerName" in info.value.message
    with pytest.raises(SkippableRecordError):
        parse_item(Computer, ["not", "an", "object"], "computer")


def test_network_devices_printers_and_retired_computers() -> None:
    printer_raw = {
        "Id": "88",
        "Name": "",
        "FriendlyName": "Reception MFP",
        "LocalIPAddress": "192.168.10.20",
        "DeviceType": {"Id": 7, "Name": "Printer"},
        "Status": "Online",
        "ManufacturerName": "Brother",
        "ModelName": "MFC-L8900CDW",
        "Location": {"Id": 31, "Name": "Main Office", "Client": {"Id": "12", "Name": "Cedar Ridge Law"}},
        "LastContact": "2024-03-01T09:00:00",
        "ProbeId": 1432,
        "ProbeName": "CRL-SRV-01",
    }
    printer = to_network_device(parse_item(NetworkDevice, printer_raw, "network device"), printer_raw)
    assert (printer.external_id, printer.hostname, printer.device_type, printer.parent_external_id) == (
        "nd-88",
        "Reception MFP",
        DeviceType.PRINTER,
        "1432",
    )
    assert (printer.customer_external_id, printer.site_external_id, printer.online) == ("12", "31", True)
    router_raw = {"Id": 5, "Name": "fw-01", "DeviceType": {"Id": 2, "Name": "Firewall"}, "ProbeId": 0}
    router = to_network_device(parse_item(NetworkDevice, router_raw, "network device"), router_raw)
    assert (router.device_type, router.parent_external_id, router.vendor_type) == (
        DeviceType.NETWORK_DEVICE,
        None,
        "Firewall",
    )
    retired_raw = {
        "Id": "9",
        "ComputerId": "1401",
        "ComputerName": "CRL-SRV-OLD",
        "OperatingSystemName": "Microsoft Windows Server 2012 R2 Standard",
        "RetiredDate": "2023-12-31T17:00:00",
        "Client": {"Id": "12"},
        "Location": {"Id": 31},
    }
    retired = to_retired(parse_item(RetiredAsset, retired_raw, "retired asset"), retired_raw)
    assert (retired.external_id, retired.deleted, retired.device_type, retired.online) == (
        "1401",
        True,
        DeviceType.SERVER,
        False,
    )


def test_sites_users_and_alerts() -> None:
    location_raw = {"Id": 31, "LocationId": 31, "Name": " Main Office", "Client": {"Id": "12", "Name": "Cedar"}}
    site = to_site(parse_item(Location, location_raw, "location"), location_raw)
    assert (site.external_id, site.name, site.customer_external_id) == ("31", "Main Office", "12")
    contact_raw = {
        "Id": "77",
        "FirstName": "Jane",
        "LastName": "Doe",
        "Email": "",
        "Client": {"Id": "12"},
        "Location": {"Id": 0},
    }
    user = to_user(parse_item(Contact, contact_raw, "contact"), contact_raw)
    assert (user.name, user.email, user.customer_external_id, user.site_external_id) == ("Jane Doe", None, "12", None)
    alert_raw = {
        "AlertId": 5512,
        "Client": {"Id": 12, "Name": "Cedar"},
        "Computer": None,
        "Device": {"Id": 88, "Name": "Reception MFP"},
        "Monitor": {"Id": 4, "Name": "Printer Offline"},
        "AlertDate": "2024-03-01T09:20:00",
        "Severity": {"Id": 2, "Name": "High"},
        "Source": "Internal Monitor",
        "Message": "",
        "FieldName": "Status",
        "AlertAge": "1.02:03:04",
    }
    alert = to_alert(parse_item(Alert, alert_raw, "alert"), alert_raw)
    assert (alert.external_id, alert.device_external_id, alert.hostname) == ("5512", "nd-88", "Reception MFP")
    assert (alert.message, alert.alert_type, alert.severity, alert.state) == (
        "Printer Offline",
        "Printer Offline",
        "High",
        AlertState.OPEN,
    )
    assert alert.raised_at == datetime(2024, 3, 1, 9, 20, tzinfo=UTC)
    assert alert_age("1.02:03:04") == timedelta(days=1, hours=2, minutes=3, seconds=4)
    assert alert_age("soon") is None


def test_alert_email_subject_or_body() -> None:
    subject = "Drive Space - C: FAILED on Cedar Ridge Law\\CRL-SRV-01 at Main Office for C: result 2.1 GB free."
    alert = parse_alert_email(subject)
    assert (alert.state, alert.hostname, alert.alert_type) == (AlertState.OPEN, "CRL-SRV-01", "Drive Space - C:")
    assert (alert.raw["location"], alert.raw["field"], alert.raw["result"]) == ("Main Office", "C:", "2.1 GB free")
    cleared = parse_alert_email("Automate alert", "Hello,\n\n" + subject.replace("FAILED", "SUCCESS") + "\n")
    assert (cleared.state, cleared.hostname) == (AlertState.RESOLVED, "CRL-SRV-01")
    with pytest.raises(ConnectorFatalError) as info:
        parse_alert_email("Your invoice", "Please pay")
    assert "Expected the monitor alert message" in info.value.message


GOOD = {"server_url": "https://acme.hostedrmm.com", "username": "halo", "password": "pw", "client_id": "abc-123"}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("acme.hostedrmm.com", "https://acme.hostedrmm.com"),
        ("https://acme.hostedrmm.com/cwa/api/v1/", "https://acme.hostedrmm.com"),
        ("https://rmm.example.com:8443/automate", "https://rmm.example.com:8443"),
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),
        ("HTTPS://Acme.HostedRMM.com/CWA/API/V1", "https://acme.hostedrmm.com"),
        ("rmm.example.com:8443/cwa", "https://rmm.example.com:8443"),
    ],
)
def test_server_url_is_normalised(url: str, expected: str) -> None:
    spec = CwAutomateCredentials.parse({**GOOD, "server_url": url})
    assert isinstance(spec, CwAutomateCredentials)
    assert spec.server_url == expected
    assert spec.secret_values() == ["pw"]


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"server_url": "http://acme.hostedrmm.com"}, "Server URL: Value error, must use https"),
        ({"server_url": "https://acme.hostedrmm.com/portal"}, "without a path (we add /cwa/api/v1)"),
        ({"server_url": "http://acme.hostedrmm.com"}, "only accepts API logins over TLS"),
        ({"server_url": "https://acme hostedrmm.com"}, "without spaces"),
        ({"server_url": "https://acme.hostedrmm.com?x=1"}, "without query"),
        ({"server_url": ""}, "enter your Automate server URL"),
        ({"password": "  "}, "Password: Value error, enter the Integrator user's password"),
        ({"client_id": "abc 123"}, "Client ID: Value error, enter the ClientId exactly"),
        ({"username": ""}, "Username"),
    ],
)
def test_bad_credentials_say_what_to_fix(changes: dict[str, str], words: str) -> None:
    with pytest.raises(ConnectorConfigError) as info:
        CwAutomateCredentials.parse({**GOOD, **changes})
    assert words in info.value.message
