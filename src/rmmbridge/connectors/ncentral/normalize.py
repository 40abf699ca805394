"""Pure N-central → record conversion: customers, sites, devices (+ optional assets), active issues → alerts."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from rmmbridge.connectors.items import validate_item
from rmmbridge.connectors.ncentral.const import (
    DEVICE_CLASS_KEYWORDS,
    DEVICE_CLASS_TYPES,
    NOTIFICATION_STATES,
    STATE_SEVERITY,
)
from rmmbridge.connectors.ncentral.schemas import ActiveIssue, Customer, Device, Site
from rmmbridge.connectors.records import (
    AlertState,
    DeviceType,
    FieldValue,
    RemoteAlert,
    RemoteCustomer,
    RemoteDevice,
    RemoteSite,
    flatten,
)

M = TypeVar("M", bound=BaseModel)

#: "2025-05-19 15:29:40.586 -0700" / "2025-01-15 09:00:00.000" (assets and task timestamps).
_SPACED = re.compile(r"^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?)(?: ?([+-]\d{2}:?\d{2}|Z|UTC))?$")


def parse_item(model: type[M], raw: Any, what: str) -> M:
    """Validate one N-central list item; raise SkippableRecordError naming the item and what is wrong."""
    return validate_item(model, raw, what, vendor="N-central",
                         id_keys=("deviceId", "customerId", "siteId", "taskId", "soId"))


def parse_time(value: Any) -> datetime | None:
    """N-central timestamps → aware UTC datetime.

    ISO-8601 ("2025-01-15T10:30:00Z", with milliseconds), the assets style "2025-05-19 15:29:40.586 -0700",
    naive values (taken as UTC) and epoch milliseconds/seconds. Anything unreadable gives None.
    """
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = value / 1000 if abs(value) > 1e11 else value
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str):
        return None
    text = value.strip()
    match = _SPACED.match(text)
    if match:
        day, clock, zone = match.groups()
        zone = "+00:00" if zone in (None, "Z", "UTC") else zone
        if len(zone) == 5:
            zone = f"{zone[:3]}:{zone[3:]}"
        text = f"{day}T{clock}{zone}"
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def device_type_for(device_class: str | None) -> DeviceType:
    """deviceClass ("Servers - Windows", "Laptop - Windows", "Switch/Router" …) → normalized DeviceType."""
    if not device_class:
        return DeviceType.OTHER
    exact = DEVICE_CLASS_TYPES.get(device_class.strip())
    if exact is not None:
        return exact
    lowered = device_class.lower()
    for word, kind in DEVICE_CLASS_KEYWORDS:
        if word in lowered:
            return kind
    return DeviceType.OTHER


def _str_id(value: int | str | None) -> str | None:
    if value is None or value == "" or (isinstance(value, int) and value <= 0):
        return None
    return str(value)


def to_customer(customer: Customer, raw: Mapping[str, Any]) -> RemoteCustomer:
    return RemoteCustomer(external_id=str(customer.customerId), name=customer.customerName, fields=flatten(raw))


def to_site(site: Site, raw: Mapping[str, Any]) -> RemoteSite:
    return RemoteSite(
        external_id=str(site.siteId),
        name=site.siteName,
        customer_external_id=_str_id(site.parentId),
        fields=flatten(raw),
    )


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _section(assets: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = assets.get(name)
    return value if isinstance(value, Mapping) else {}


def _adapter_list(assets: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    adapters = _section(assets, "networkadapter").get("list")
    return [a for a in adapters if isinstance(a, Mapping)] if isinstance(adapters, list) else []


def asset_summary(assets: Mapping[str, Any]) -> dict[str, Any]:
    """Serial, manufacturer, model, IPs and MACs from the `data` of `GET /api/devices/{id}/assets`."""
    system = _section(assets, "computersystem")
    adapters = _adapter_list(assets)
    ips = tuple(dict.fromkeys(ip for a in adapters for ip in _split(a.get("ipaddress"))))
    macs = tuple(dict.fromkeys(m.upper() for a in adapters for m in _split(a.get("macaddress"))))
    device = _section(assets, "device")
    return {
        "serial_number": _text(system.get("serialnumber")),
        "manufacturer": _text(system.get("manufacturer")),
        "model": _text(system.get("model")),
        "os_name": _text(_section(assets, "os").get("reportedos")),
        "ip_addresses": ips,
        "mac_addresses": macs,
        "deleted": str(device.get("deleted", "")).lower() == "true",
    }


def _split(value: Any) -> list[str]:
    if not value:
        return []
    return [part.strip() for part in str(value).replace(";", ",").split(",") if part.strip()]


def to_device(device: Device, raw: Mapping[str, Any], assets: Mapping[str, Any] | None = None) -> RemoteDevice:
    """A device from the list; `assets` (the `data` of the assets endpoint) adds serial, make, model, NICs."""
    fields: dict[str, FieldValue] = flatten(raw)
    summary: dict[str, Any] = {}
    if assets is not None:
        flatten(assets, "assets", fields)
        summary = asset_summary(assets)
    return RemoteDevice(
        external_id=str(device.deviceId),
        hostname=device.longName.strip() or (device.discoveredName or ""),
        site_external_id=_str_id(device.siteId),
        customer_external_id=_str_id(device.customerId),
        device_type=device_type_for(device.deviceClass),
        vendor_type=device.deviceClassLabel or device.deviceClass or "",
        serial_number=summary.get("serial_number"),
        os_name=summary.get("os_name") or device.supportedOsLabel or device.supportedOs or None,
        manufacturer=summary.get("manufacturer"),
        model=summary.get("model"),
        ip_addresses=summary.get("ip_addresses", ()),
        mac_addresses=summary.get("mac_addresses", ()),
        last_logged_in_user=device.lastLoggedInUser or None,
        last_seen=parse_time(device.lastApplianceCheckinTime),
        online=None,
        deleted=bool(summary.get("deleted", False)),
        fields=fields,
    )


def state_label(code: int | None) -> str:
    """notificationState code → N-central's label ("Failed", "Warning" …); unknown codes as "State <n>"."""
    if code is None:
        return ""
    return NOTIFICATION_STATES.get(code, f"State {code}")


def to_alert(issue: ActiveIssue, raw: Mapping[str, Any]) -> RemoteAlert:
    """An active issue → open alert. Its identity is the `taskId` (one monitored service on one device).

    The N-central state ("Failed", "Warning" …) is in the message; `severity` is High/Moderate/Low for the pipeline.
    """
    extra = issue.extra_info or {}
    label = state_label(issue.notificationState)
    service = issue.serviceName or "Service"
    ident = _text(extra.get("taskIdent"))
    subject = f"{service} ({ident})" if ident and ident not in service else service
    hostname = _text(extra.get("deviceName"))
    message = f"{subject} is {label}" if label else subject
    if hostname:
        message = f"{message} on {hostname}"
    return RemoteAlert(
        external_id=str(issue.taskId),
        device_external_id=str(issue.deviceId),
        message=message,
        severity=STATE_SEVERITY.get(issue.notificationState or 0, "Moderate" if label else ""),
        alert_type=service,
        state=AlertState.OPEN,
        raised_at=parse_time(extra.get("transitionTime")),
        hostname=hostname,
        raw=dict(raw),
    )
