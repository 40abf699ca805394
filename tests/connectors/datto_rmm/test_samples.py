"""The saved Datto RMM sample payloads (../shared/research/samples/datto-rmm) parse into normalized records."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from rmmbridge.connectors.datto_rmm.normalize import from_epoch_ms, normalize_alert, normalize_device
from rmmbridge.connectors.errors import SkippableRecordError
from rmmbridge.connectors.records import AlertState, DeviceType

SAMPLES = Path(__file__).resolve().parents[4] / "shared" / "research" / "samples" / "datto-rmm"

pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason="the shared research samples are not checked out")


def load(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


def test_device_sample() -> None:
    device = normalize_device(load("device.json"))
    assert device.external_id == "device-uid-1"
    assert device.hostname == "server1"
    assert device.device_type is DeviceType.SERVER
    assert device.site_external_id == device.customer_external_id == "site-uid-1"
    assert device.os_name == "Windows Server 2019"
    assert device.ip_addresses == ("192.168.1.10", "203.0.113.5")
    assert device.last_seen == datetime(2024, 7, 16, 12, 0, tzinfo=UTC)
    assert device.online is True
    assert device.deleted is False
    assert device.fields["udf.udf1"] == "value1"
    assert device.fields["antivirus.antivirusStatus"] == "RunningAndUpToDate"
    assert device.fields["patchManagement.patchesInstalled"] == 100
    assert device.fields["deviceType.category"] == "server"


def test_network_device_sample() -> None:
    device = normalize_device(load("device-rmmnetworkdevice.json"))
    assert device.device_type is DeviceType.NETWORK_DEVICE
    assert device.os_name is None
    assert device.fields["udf.udf300"] == "SYNTHETIC-UDF-300"
    assert device.fields["antivirus"] is None


def test_devices_page_sample() -> None:
    page = load("devicesPage.json")
    assert page["pageDetails"]["nextPageUrl"] == ""
    devices = [normalize_device(raw) for raw in page["devices"]]
    assert [d.external_id for d in devices] == ["device-uid-1"]


def test_devices_page_with_a_malformed_item() -> None:
    good, bad = load("devices-page-with-malformed-item.json")["devices"]
    assert normalize_device(good).external_id == "device-uid-601"
    with pytest.raises(SkippableRecordError) as info:
        normalize_device(bad)
    assert "602" in info.value.message
    assert "uid" in info.value.message


def test_alerts_page_with_a_malformed_item() -> None:
    good, bad = load("alerts-page-with-malformed-item.json")["alerts"]
    alert = normalize_alert(good)
    assert alert.external_id == "alert-uid-701"
    assert alert.severity == "High"
    assert alert.state is AlertState.OPEN
    with pytest.raises(SkippableRecordError):
        normalize_alert(bad)


@pytest.mark.parametrize(
    ("name", "alert_type", "state", "severity"),
    [
        ("alert-context-antivirus.json", "antivirus", AlertState.OPEN, "Critical"),
        ("alert-context-comp-script.json", "comp_script", AlertState.OPEN, "Moderate"),
        ("alert-context-eventlog.json", "eventlog", AlertState.OPEN, "High"),
        ("alert-context-online-offline-status.json", "online_offline_status", AlertState.RESOLVED, "Information"),
        ("alert-context-patch.json", "patch", AlertState.RESOLVED, "Low"),
        ("alert-context-perf-resource-usage.json", "perf_resource_usage", AlertState.OPEN, "Unknown"),
    ],
)
def test_alert_context_samples(name: str, alert_type: str, state: AlertState, severity: str) -> None:
    raw = load(name)
    alert = normalize_alert(raw)
    assert alert.external_id == raw["alertUid"]
    assert alert.alert_type == alert_type
    assert alert.state is state
    assert alert.severity == severity
    assert alert.device_external_id == raw["alertSourceInfo"]["deviceUid"]
    assert alert.hostname == raw["alertSourceInfo"]["deviceName"]
    assert alert.raised_at == from_epoch_ms(raw["timestamp"])
    assert alert.message
    if state is AlertState.RESOLVED:
        assert alert.resolved_at is not None
        assert alert.resolved_at > alert.raised_at  # type: ignore[operator]


def test_alert_without_diagnostics_summarises_its_context() -> None:
    alert = normalize_alert(load("alert-context-antivirus.json"))
    assert alert.message.startswith("Antivirus:")
    assert "Trojan.GenericKD.12345" in alert.message


def test_epoch_milliseconds_and_iso_dates_are_both_read() -> None:
    assert from_epoch_ms(1721131200000) == datetime(2024, 7, 16, 12, 0, tzinfo=UTC)
    assert from_epoch_ms("2024-07-16T12:00:00Z") == datetime(2024, 7, 16, 12, 0, tzinfo=UTC)
    assert from_epoch_ms(None) is None
    assert from_epoch_ms("") is None
    assert from_epoch_ms("soon") is None
