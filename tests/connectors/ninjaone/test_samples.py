"""Every saved NinjaOne sample (../shared/research/samples/ninjaone) goes through the NinjaOne parsers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from tests.connectors.samples import Sample, sample_tests

from rmmbridge.connectors.items import FieldIssues, validate_item
from rmmbridge.connectors.ninjaone.alerts import parse_webhook
from rmmbridge.connectors.ninjaone.normalize import to_alert, to_device
from rmmbridge.connectors.ninjaone.schemas import Alert, Device
from rmmbridge.connectors.records import AlertState, DeviceType, RemoteDevice


def device(raw: Any, issues: FieldIssues | None = None) -> RemoteDevice:
    return to_device(validate_item(Device, raw, "device", vendor="NinjaOne", id_keys=("id",), issues=issues), raw)


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def check_alerts(data: Any) -> None:
    [raw] = data
    alert = to_alert(validate_item(Alert, raw, "alert", vendor="NinjaOne", id_keys=("uid",)), raw)
    assert alert.external_id == "50edcf11-de92-4ecb-955b-c8066488b6cc"
    assert alert.device_external_id == "33"
    assert alert.state is AlertState.OPEN
    assert alert.raised_at == at(1730332915.0) == datetime(2024, 10, 31, 0, 1, 55, tzinfo=UTC)
    assert alert.message.startswith("EventId: 41, EventTime: 2024-10-30T23:49:52Z")
    assert alert.alert_type == "Windows event log"  # sourceName is "": the condition code names it
    assert alert.severity == ""  # the capture has none; the connector asks the condition's activity
    assert alert.hostname is None  # no device object; the connector looks the device up by deviceId


def check_vm_host(data: Any) -> None:
    host = device(data)
    assert (host.external_id, host.hostname) == ("7", "ccesxi03.cc.local")
    assert host.device_type is DeviceType.SERVER
    assert host.vendor_type == "VMWARE_VM_HOST"
    assert (host.serial_number, host.manufacturer, host.model) == ("SGH811YWCM", "HPE", "ProLiant DL380 Gen10")
    assert host.os_name == "VMware ESXi 8.0.1 build-21813344"
    assert (host.customer_external_id, host.site_external_id, host.parent_external_id) == ("2", "2", "6")
    assert host.ip_addresses == ("192.168.50.43", "fe80::d267:26ff:fecb:352")
    # the capture lists one MAC twice: kept once, in order
    assert host.mac_addresses == ("d0:67:26:cb:03:52", "d0:67:26:cb:03:55", "d0:67:26:cb:03:54", "d0:67:26:cb:03:53")
    assert host.last_seen == at(1742412689.092)
    assert host.online is True
    assert host.fields["cpuModel"] == "Intel(R) Xeon(R) Silver 4114 CPU @ 2.20GHz"


def check_devices_list(data: Any) -> None:
    issues = FieldIssues()
    [item] = [device(raw, issues) for raw in data]
    assert (item.external_id, item.hostname, item.customer_external_id) == ("7", "ccesxi03.cc.local", "2")
    assert item.ip_addresses == item.mac_addresses == ()  # absent in the list answer
    assert item.last_seen == at(1742412252.744)
    assert issues.total == 0  # absent fields are not unreadable ones


def check_condition_webhook(data: Any) -> None:
    [alert] = parse_webhook(json.dumps(data).encode(), {})
    assert alert.external_id == "e6b0b0bd-5753-445d-9e4a-71c08983cbd5"
    assert alert.state is AlertState.OPEN
    assert alert.device_external_id == "7"
    assert alert.hostname == "ccesxi03.cc.local"
    assert alert.alert_type == "Memory usage ≥ 80%"  # sourceName "_average_" is a target, not a name
    assert alert.message == "Memory Utilization is greater than or equal to 80% for 5 minutes"
    assert alert.severity == ""
    assert alert.raised_at == at(1742391675.556)


def check_documented_webhook(data: Any) -> None:
    [alert] = parse_webhook(json.dumps(data).encode(), {})
    assert alert.external_id == "uuid-string"
    assert (alert.device_external_id, alert.hostname) == ("67890", "WORKSTATION-001.domain.com")
    assert alert.severity == "MAJOR"
    assert alert.alert_type == "CPU Usage Alert"
    assert alert.message == "CPU utilization exceeded 90% for device WORKSTATION-001"
    assert alert.raised_at == at(1703123456.789)


INDEX = {
    "feasibility-alerts.json": Sample(check_alerts),
    "feasibility-device-vmhost.json": Sample(check_vm_host),
    "feasibility-devices-list.json": Sample(check_devices_list),
    "feasibility-webhook-condition-triggered.json": Sample(check_condition_webhook),
    "spike-doc-webhook-example.json": Sample(check_documented_webhook),
}

test_every_sample_has_an_index_entry, test_sample_parses = sample_tests("ninjaone", INDEX)
