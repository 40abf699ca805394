"""Pure N-central → record conversion: customers, sites, devices (+ optional assets), active issues → alerts."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from rmmbridge.connectors.items import ItemParser
from rmmbridge.connectors.ncentral.const import (
    DEVICE_CLASS_KEYWORDS,
    DEVICE_CLASS_TYPES,
    NOTIFICATION_STATES,
    STATE_SEVERITY,
)
from rmmbridge.connectors.ncentral.schemas import ActiveIssue, Customer, Device, Site
from rmmbridge.connectors.records import (
    AccountInfo,
    AlertState,
    DeviceType,
    FieldValue,
    RemoteAlert,
    RemoteCustomer,
    RemoteDevice,
    RemoteSite,
    flatten,
)
from rmmbridge.connectors.timestamps import from_epoch, from_iso

#: "2025-05-19 15:29:40.586 -0700" / "2025-01-15 09:00:00.000" (assets and task timestamps).
_SPACED = re.compile(r"^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?)(?: ?([+-]\d{2}:?\d{2}|Z|UTC))?$")


#: Keys naming an N-central item in skip messages; the connector's stream uses the same.
ID_KEYS = ("deviceId", "customerId", "siteId", "taskId", "soId")
#: Validate one N-central list item leniently; SkippableRecordError names the item and what is wrong.
parse_item = ItemParser("N-central", ID_KEYS)


def parse_time(value: Any) -> datetime | None:
    """N-central timestamps → aware UTC datetime.

    ISO-8601 ("2025-01-15T10:30:00Z", with milliseconds), the assets style "2025-05-19 15:29:40.586 -0700",
    naive values (taken as UTC) and epoch milliseconds/seconds. Anything unreadable gives None.
    """
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return from_epoch(value)
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
    parsed = from_iso(text)
    return parsed.astimezone(UTC) if parsed is not None else None


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
    """An org-unit id (int or string in the API) as a string; None, '', 0 and negatives mean none."""
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    if not text or (text.lstrip("-").isdigit() and int(text) <= 0):
        return None
    return text


def to_customer(customer: Customer, raw: Mapping[str, Any]) -> RemoteCustomer:
    return RemoteCustomer(external_id=str(customer.customerId).strip(), name=customer.customerName, fields=flatten(raw))


def to_site(site: Site, raw: Mapping[str, Any]) -> RemoteSite:
    return RemoteSite(
        external_id=str(site.siteId).strip(),
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


#: `lastLoggedInUser` placeholders that mean "no user" (the server's OpenAPI example is "-").
NO_USER = frozenset({"", "-", "--", "n/a", "none", "null", "unknown"})
_ONLINE_WORDS = frozenset({"online", "up", "connected", "true", "normal", "ok"})
_OFFLINE_WORDS = frozenset({"offline", "down", "disconnected", "false", "stale", "no data"})


def user_name(value: Any) -> str | None:
    """A real user name, or None for null, empty and placeholder values such as "-"."""
    text = _text(value)
    return None if text is None or text.lower() in NO_USER else text


def still_logged_in(value: Any) -> bool | None:
    """`stillLoggedIn` as a boolean: the document types it as a string ("", "true", "false"), old clients as bool."""
    if isinstance(value, bool):
        return value
    text = _text(value)
    if text is None:
        return None
    lowered = text.lower()
    if lowered in ("true", "yes", "1"):
        return True
    if lowered in ("false", "no", "0"):
        return False
    return None


def _word_online(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _ONLINE_WORDS:
            return True
        if lowered in _OFFLINE_WORDS:
            return False
    return None


def online_from_status(status: Any) -> bool | None:
    """Whether the device is online, from `deviceStatus`.

    Read leniently because the document only names the object's keys (`state`, `status`): a boolean or a word
    ("Online"/"Offline", "Connected"/"Disconnected") anywhere in it decides; a numeric `state` of 1 is online and 0
    offline (UNVERIFIED – see README). Anything else gives None (unknown), never a guess.
    """
    direct = _word_online(status)
    if direct is not None or not isinstance(status, Mapping):
        return direct
    for key in ("online", "isOnline", "state", "status", "availability"):
        found = _word_online(status.get(key))
        if found is not None:
            return found
    state = status.get("state")
    if type(state) is int and state in (0, 1):
        return state == 1
    return None


def to_device(device: Device, raw: Mapping[str, Any], assets: Mapping[str, Any] | None = None) -> RemoteDevice:
    """A device from the list; `assets` (the `data` of the assets endpoint) adds serial, make, model, NICs."""
    fields: dict[str, FieldValue] = flatten(raw)
    summary: dict[str, Any] = {}
    if assets is not None:
        flatten(assets, "assets", fields)
        summary = asset_summary(assets)
    return RemoteDevice(
        external_id=str(device.deviceId).strip(),
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
        last_logged_in_user=user_name(device.lastLoggedInUser),
        last_seen=parse_time(device.lastApplianceCheckinTime),
        online=online_from_status(device.deviceStatus),
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


def account_from_server_info(info: Any, server: str, server_url: str) -> AccountInfo:
    """The account shown after a connection test, from `GET /api/server-info`.

    `ncentral` (the N-central version) may be null (the document's own example): the API-service `version` is shown
    then, so the message always names what the server told.
    """
    body = info if isinstance(info, Mapping) else {}
    version = _text(body.get("ncentral"))
    api_version = _text(body.get("version"))
    details: dict[str, FieldValue] = {"server_url": server_url}
    if version:
        details["version"] = version
    if api_version:
        details["api_version"] = api_version
    if version:
        shown = f"N-central {version} at {server}"
    elif api_version:
        shown = f"N-central at {server} (API service {api_version}; the server did not name its N-central version)"
    else:
        shown = f"N-central at {server}"
    return AccountInfo(account_id=server, display_name=shown, details=details)
