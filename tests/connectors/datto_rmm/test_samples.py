"""Every Datto RMM sample of ../shared/research/samples/datto-rmm goes through Datto's own parsers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from tests.connectors.samples import Sample, sample_tests

from rmmbridge.connectors.datto_rmm.alerts import parse_webhook
from rmmbridge.connectors.datto_rmm.client import _next_page_url
from rmmbridge.connectors.datto_rmm.normalize import (
    from_epoch_ms,
    normalize_alert,
    normalize_device,
    normalize_site,
    site_as_customer,
)
from rmmbridge.connectors.errors import SkippableRecordError
from rmmbridge.connectors.records import AlertState, DeviceType, RemoteAlert

FOLDER = "datto-rmm"


def _readable(alert: RemoteAlert) -> None:
    """Never a dict repr or a bare class name: text a person reads in a ticket summary."""
    assert alert.message
    assert "{" not in alert.message
    assert "'" not in alert.message.replace("'AdobeARMservice'", "")
    assert "_ctx" not in alert.message


def check_device(data: Any) -> None:
    device = normalize_device(data)
    assert device.external_id == "device-uid-1"
    assert device.hostname == "server1"
    assert device.device_type is DeviceType.SERVER
    assert device.site_external_id == device.customer_external_id == "site-uid-1"
    assert device.os_name == "Windows Server 2019"
    assert device.ip_addresses == ("192.168.1.10", "203.0.113.5")
    assert device.last_seen == datetime(2024, 7, 16, 12, 0, tzinfo=UTC)  # epoch milliseconds
    assert device.online is True
    assert device.deleted is False
    assert device.serial_number is None  # not on the device record: it comes from the audit
    assert device.fields["udf.udf1"] == "value1"
    assert device.fields["lastAuditDate"] == 1721023500000
    assert device.fields["antivirus.antivirusStatus"] == "RunningAndUpToDate"
    assert device.fields["patchManagement.patchesInstalled"] == 100
    assert device.fields["deviceType.category"] == "server"


def check_network_device(data: Any) -> None:
    device = normalize_device(data)
    assert device.external_id == "device-uid-501"
    assert device.device_type is DeviceType.NETWORK_DEVICE
    assert device.os_name is None
    assert device.ip_addresses == ("192.168.1.254",)
    assert device.fields["udf.udf300"] == "SYNTHETIC-UDF-300"  # UDFs reach 300
    assert device.fields["antivirus"] is None


def check_devices_page(data: Any) -> None:
    assert _next_page_url(data) is None  # "" ends the listing
    devices = [normalize_device(raw) for raw in data["devices"]]
    assert [d.external_id for d in devices] == ["device-uid-1"]


def check_devices_page_with_malformed_item(data: Any) -> None:
    good, bad = data["devices"]
    assert normalize_device(good).external_id == "device-uid-601"
    with pytest.raises(SkippableRecordError) as info:  # a numeric uid is no id: the only reason to skip
        normalize_device(bad)
    assert "602" in info.value.message
    assert "uid" in info.value.message


def check_alerts_page_with_malformed_item(data: Any) -> None:
    good, bad = data["alerts"]
    alert = normalize_alert(good)
    assert alert.external_id == "alert-uid-701"
    assert alert.severity == "High"
    assert alert.state is AlertState.OPEN
    assert alert.raised_at == datetime(2024, 7, 16, 12, 0, tzinfo=UTC)
    assert alert.message == "Datto RMM alert"
    with pytest.raises(SkippableRecordError):
        normalize_alert(bad)


def alert_check(alert_type: str, state: AlertState, severity: str, *texts: str) -> Any:
    def check(data: Any) -> None:
        alert = normalize_alert(data)
        assert alert.external_id == data["alertUid"]
        assert alert.alert_type == alert_type
        assert alert.state is state
        assert alert.severity == severity
        assert alert.device_external_id == data["alertSourceInfo"]["deviceUid"]
        assert alert.hostname == data["alertSourceInfo"]["deviceName"]
        assert alert.raised_at == from_epoch_ms(data["timestamp"])
        if state is AlertState.RESOLVED:
            assert alert.resolved_at is not None
            assert alert.raised_at is not None
            assert alert.resolved_at > alert.raised_at
        _readable(alert)
        for text in texts:
            assert text in alert.message, alert.message

    return check


def check_aaronengels_page(data: Any) -> None:
    expected = {
        "antivirus": "Antivirus Windows Defender NotRunning",
        "eventlog": "The system has rebooted without cleanly shutting down first. (event 41, Critical)",
        "perf_disk_usage": "Disk C: has 2% free space left",
        "perf_resource_usage": "CPU usage reached 97.5%",
        "srvc_status": "Service Spooler stopped",
        "online_offline_status": "Device PC-01 offline",
    }
    alerts = [normalize_alert(raw) for raw in data["alerts"]]
    assert {a.alert_type: a.message for a in alerts} == expected
    assert all(a.device_external_id == "dev-uid" for a in alerts)


def check_juict_alert(data: Any) -> None:
    alert = normalize_alert(data)
    assert alert.alert_type == "comp_script"
    assert alert.severity == "Moderate"
    assert alert.message == "BSODView Command has Failed: ..."  # the component's sample, not {'Alert': …}
    assert alert.raised_at == datetime(2026, 8, 25, 7, 38, 15, tzinfo=UTC)
    assert alert.hostname == "LAPTOP-VOORBEELD"


def check_juict_device(data: Any) -> None:
    device = normalize_device(data)
    assert device.hostname == "SRV-VOORBEELD-01"
    assert device.last_seen == datetime(2026, 8, 25, 7, 26, tzinfo=UTC)  # this capture sends ISO text
    assert device.last_logged_in_user == "DOMEIN\\gebruiker"
    assert device.device_type is DeviceType.OTHER  # no deviceType in this capture
    assert device.fields["udf.udf9"].startswith("Ping (Lowest)")


def check_juict_site(data: Any) -> None:
    site = normalize_site(data)
    assert site.external_id == "11111111-2222-3333-4444-555555555555"
    assert site.name == "Voorbeeld Klant B.V."
    assert site.customer_external_id == site.external_id
    customer = site_as_customer(site)
    assert customer.fields["autotaskCompanyId"] == "1234"
    assert customer.fields["devicesStatus.numberOfDevices"] == 26


def check_juict_sites_page(data: Any) -> None:
    # the next page is followed on our own base URL (the token never goes to another host)
    assert _next_page_url(data) == "/api/v2/account/sites?max=2&page=1"
    assert data["sites"] == []


def check_lwhitelock_webhook(data: Any) -> None:
    (alert,) = parse_webhook(json.dumps(data).encode())
    assert alert.external_id == "fa9b26c0-3761-4927-9412-e9f4a5db38d1"  # from "alertUID", matched case-insensitively
    assert alert.message == "Process 'AdobeARMservice' isStopped"
    assert alert.state is AlertState.OPEN
    assert alert.raw["platform"] == "Pinotage"


INDEX: dict[str, Sample] = {
    "aaronengels-shaped-alerts-page.json": Sample(check_aaronengels_page),
    "alert-context-antivirus.json": Sample(alert_check(
        "antivirus", AlertState.OPEN, "Critical", "Antivirus Windows Defender: threat Trojan.GenericKD.12345",
        "(Quarantined)")),
    "alert-context-comp-script.json": Sample(alert_check(
        "comp_script", AlertState.OPEN, "Moderate", "Component Disk Cleanup exit code 1",
        "Cleanup failed: insufficient permissions", "non-zero exit code")),
    "alert-context-eventlog.json": Sample(alert_check(
        "eventlog", AlertState.OPEN, "High", "Faulting application name: app.exe",
        "event 1000", "source Application Error", "log Application", "Application crashed")),
    "alert-context-online-offline-status.json": Sample(alert_check(
        "online_offline_status", AlertState.RESOLVED, "Information", "offline for 15 min")),
    "alert-context-patch.json": Sample(alert_check(
        "patch", AlertState.RESOLVED, "Low", "Patch KB5001330 InstallError (Critical)")),
    "alert-context-perf-resource-usage.json": Sample(alert_check(
        "perf_resource_usage", AlertState.OPEN, "Unknown", "CPU usage reached 97.5% (threshold 90%)")),
    "alerts-page-with-malformed-item.json": Sample(check_alerts_page_with_malformed_item),
    "device-rmmnetworkdevice.json": Sample(check_network_device),
    "device.json": Sample(check_device),
    "devices-page-with-malformed-item.json": Sample(check_devices_page_with_malformed_item),
    "devicesPage.json": Sample(check_devices_page),
    "juict-alert.json": Sample(check_juict_alert),
    "juict-device.json": Sample(check_juict_device),
    "juict-site.json": Sample(check_juict_site),
    "juict-sites-page.json": Sample(check_juict_sites_page),
    "lwhitelock-webhook-samplealert.json": Sample(check_lwhitelock_webhook),
}

test_every_sample_has_an_index_entry, test_sample_parses = sample_tests(FOLDER, INDEX)


def test_epoch_milliseconds_and_iso_dates_are_both_read() -> None:
    assert from_epoch_ms(1721131200000) == datetime(2024, 7, 16, 12, 0, tzinfo=UTC)
    assert from_epoch_ms("2024-07-16T12:00:00Z") == datetime(2024, 7, 16, 12, 0, tzinfo=UTC)
    assert from_epoch_ms(None) is None
    assert from_epoch_ms("") is None
    assert from_epoch_ms("soon") is None
