"""Pure mapping of NinjaOne payloads (spec field names) to normalized records."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from rmmbridge.connectors.errors import SkippableRecordError
from rmmbridge.connectors.items import FieldIssues, validate_item
from rmmbridge.connectors.ninjaone.normalize import (
    device_type_for,
    epoch_seconds,
    parse_item,
    to_alert,
    to_customer,
    to_device,
    to_site,
    to_user,
)
from rmmbridge.connectors.ninjaone.schemas import Alert, Device, Location, Organization, User
from rmmbridge.connectors.records import AlertState, DeviceType

AGENT: dict[str, Any] = {
    "id": 42,
    "uid": "6f0b3c1e-1b7e-4d0e-9a53-2d1f7c9a0b11",
    "organizationId": 3,
    "locationId": 7,
    "nodeClass": "WINDOWS_WORKSTATION",
    "approvalStatus": "APPROVED",
    "offline": False,
    "displayName": "Reception PC",
    "systemName": "WS-0042",
    "dnsName": "ws-0042.corp.local",
    "lastContact": 1787898261.504,
    "lastUpdate": 1787898270.0,
    "ipAddresses": ["10.0.0.42", "fe80::1"],
    "macAddresses": ["00:11:22:33:44:55"],
    "publicIP": "203.0.113.9",
    "os": {"name": "Windows 11 Professional Edition", "buildNumber": "10.0.22631"},
    "system": {
        "manufacturer": "Dell Inc.",
        "model": "Latitude 5440",
        "serialNumber": "ABC123",
        "chassisType": "LAPTOP",
    },
    "lastLoggedInUser": "CORP\\alice",
    "userData": {"assetTag": "A-17"},
}


def test_agent_device_maps_every_normalized_field() -> None:
    device = to_device(parse_item(Device, AGENT, "device"), AGENT)
    assert device.external_id == "42"
    assert device.hostname == "WS-0042"
    assert device.customer_external_id == "3"
    assert device.site_external_id == "7"
    assert device.device_type is DeviceType.LAPTOP
    assert device.vendor_type == "WINDOWS_WORKSTATION"
    assert device.serial_number == "ABC123"
    assert device.os_name == "Windows 11 Professional Edition"
    assert (device.manufacturer, device.model) == ("Dell Inc.", "Latitude 5440")
    assert device.ip_addresses == ("10.0.0.42", "fe80::1")
    assert device.mac_addresses == ("00:11:22:33:44:55",)
    assert device.last_logged_in_user == "CORP\\alice"
    assert device.last_seen == datetime(2026, 8, 28, 6, 24, 21, 504000, tzinfo=UTC)
    assert device.online is True
    assert device.parent_external_id is None
    assert device.deleted is False
    assert device.fields["system.serialNumber"] == "ABC123"
    assert device.fields["userData.assetTag"] == "A-17"
    assert device.fields["ipAddresses"] == "10.0.0.42, fe80::1"


def test_child_vm_keeps_parent_and_guest_os() -> None:
    raw = {
        "id": 9,
        "organizationId": 1,
        "locationId": 1,
        "parentDeviceId": 8,
        "nodeClass": "VMWARE_VM_GUEST",
        "offline": True,
        "displayName": "VM-0009",
        "guestOSFullName": "Microsoft Windows Server 2022",
    }
    device = to_device(parse_item(Device, raw, "device"), raw)
    assert device.parent_external_id == "8"
    assert device.device_type is DeviceType.VIRTUAL_MACHINE
    assert device.os_name == "Microsoft Windows Server 2022"
    assert device.hostname == "VM-0009"
    assert device.online is False


def test_decommissioned_device_is_marked_deleted() -> None:
    raw = dict(AGENT, approvalStatus="DECOMMISSIONED")
    assert to_device(parse_item(Device, raw, "device"), raw).deleted is True


@pytest.mark.parametrize(
    ("node_class", "chassis", "expected"),
    [
        ("WINDOWS_WORKSTATION", "DESKTOP", DeviceType.WORKSTATION),
        ("WINDOWS_WORKSTATION", "LAPTOP", DeviceType.LAPTOP),
        ("MAC", "NOTEBOOK", DeviceType.LAPTOP),
        ("LINUX_WORKSTATION", None, DeviceType.WORKSTATION),
        ("WINDOWS_SERVER", "LAPTOP", DeviceType.SERVER),
        ("LINUX_SERVER", None, DeviceType.SERVER),
        ("VMWARE_VM_HOST", None, DeviceType.SERVER),
        ("HYPERV_VMM_GUEST", None, DeviceType.VIRTUAL_MACHINE),
        ("NMS_SWITCH", None, DeviceType.NETWORK_DEVICE),
        ("NMS_FIREWALL", None, DeviceType.NETWORK_DEVICE),
        ("NMS_PRINTER", None, DeviceType.PRINTER),
        ("APPLE_IOS", None, DeviceType.MOBILE),
        ("CLOUD_MONITOR_TARGET", None, DeviceType.OTHER),
        ("NMS_SOMETHING_NEW", None, DeviceType.NETWORK_DEVICE),
        ("BRAND_NEW_CLASS", None, DeviceType.OTHER),
    ],
)
def test_node_class_mapping(node_class: str, chassis: str | None, expected: DeviceType) -> None:
    assert device_type_for(node_class, chassis) is expected


def test_organization_and_location_map_to_customer_and_site() -> None:
    org_raw = {"id": 3, "name": "Acme Dental", "nodeApprovalMode": "AUTOMATIC", "userData": {"tier": "gold"}}
    customer = to_customer(parse_item(Organization, org_raw, "organization"), org_raw)
    assert (customer.external_id, customer.name, customer.fields["userData.tier"]) == ("3", "Acme Dental", "gold")
    loc_raw = {"id": 7, "name": "Head Office", "address": "1 High Street", "organizationId": 3}
    site = to_site(parse_item(Location, loc_raw, "location"), loc_raw)
    assert (site.external_id, site.name, site.customer_external_id) == ("7", "Head Office", "3")
    # `GET /v2/organization/{id}/locations` returns Location without organizationId: the caller supplies it.
    bare = {"id": 8, "name": "Branch"}
    assert to_site(parse_item(Location, bare, "location"), bare, organization_id=3).customer_external_id == "3"


def test_end_user_maps_name_email_and_organization() -> None:
    raw = {"id": 5, "firstName": "Alice", "lastName": "Archer", "email": "a@x.example", "organizationId": 3}
    user = to_user(parse_item(User, raw, "user"), raw)
    assert (user.external_id, user.name, user.email) == ("5", "Alice Archer", "a@x.example")
    assert user.customer_external_id == "3"


def test_active_alert_is_open_with_epoch_seconds() -> None:
    raw = {
        "uid": "0d9a4c61-6b55-4c64-8a77-1f0c5e5a2b3c",
        "deviceId": 42,
        "message": "Disk C: free space is below 10%",
        "createTime": 1787898000.25,
        "sourceType": "CONDITION_AGENT_DISK_FREE_SPACE",
        "severity": "MAJOR",
        "device": {"systemName": "WS-0042"},
    }
    alert = to_alert(parse_item(Alert, raw, "alert"), raw)
    assert alert.external_id == raw["uid"]
    assert alert.device_external_id == "42"
    assert alert.state is AlertState.OPEN
    assert alert.severity == "MAJOR"
    assert alert.alert_type == "Free disk space"  # readable, from sourceType
    assert alert.hostname == "WS-0042"
    assert alert.raised_at == epoch_seconds(1787898000.25)


@pytest.mark.parametrize(
    "raw",
    [
        {"id": "not-a-number", "organizationId": 1, "nodeClass": "MAC", "systemName": "X"},
        {"id": None, "systemName": "X"},
        {"id": 1, "organizationId": 1, "nodeClass": "MAC"},  # no name at all
        {"id": 1, "systemName": None, "dnsName": "", "displayName": None},
        ["not", "an", "object"],
    ],
)
def test_device_without_id_or_name_is_skipped_with_the_reason(raw: Any) -> None:
    with pytest.raises(SkippableRecordError, match="NinjaOne device"):
        to_device(parse_item(Device, raw, "device"), raw)


def test_null_lists_and_odd_fields_cost_only_those_fields() -> None:
    issues = FieldIssues()
    raw = {"id": 9, "organizationId": "not-a-number", "nodeClass": None, "systemName": "WS-9",
           "ipAddresses": None, "macAddresses": None, "tags": None, "os": {"name": 7}}
    device = to_device(validate_item(Device, raw, "device", vendor="NinjaOne", id_keys=("id",), issues=issues), raw)
    assert (device.external_id, device.hostname) == ("9", "WS-9")
    assert device.ip_addresses == device.mac_addresses == ()
    assert device.customer_external_id is None
    assert device.device_type is DeviceType.OTHER
    assert device.fields["ipAddresses"] is None  # the raw value stays available
    summary = issues.summary("device")
    assert summary.startswith("1 device had unreadable fields: ")
    for label in ("ipAddresses (null)", "macAddresses (null)", "tags (null)", "organizationId (unreadable)",
                  "nodeClass (null)", "os.name (unreadable)"):
        assert label in summary


def test_epoch_seconds_handles_none_and_out_of_range() -> None:
    assert epoch_seconds(None) is None
    assert epoch_seconds(1e20) is None
    assert epoch_seconds(0) == datetime(1970, 1, 1, tzinfo=UTC)


def test_vm_host_uses_its_vendor_model_service_tag_and_release() -> None:
    raw = {
        "id": 20,
        "organizationId": 1,
        "locationId": 2,
        "nodeClass": "VMWARE_VM_HOST",
        "systemName": "ESX-01",
        "vendor": "Dell Inc.",
        "model": "PowerEdge R750",
        "serviceTag": "7XK2Q3",
        "releaseName": "VMware ESXi 8.0.2",
    }
    device = to_device(parse_item(Device, raw, "device"), raw)
    assert device.device_type is DeviceType.SERVER
    assert (device.manufacturer, device.model, device.serial_number) == ("Dell Inc.", "PowerEdge R750", "7XK2Q3")
    assert device.os_name == "VMware ESXi 8.0.2"
