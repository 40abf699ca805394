"""Pure mapping of NinjaOne payloads to normalized records (no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from rmmbridge.connectors.errors import SkippableRecordError
from rmmbridge.connectors.items import ItemParser
from rmmbridge.connectors.ninjaone.const import (
    CONDITION_ACTIVITY_TYPES,
    CONDITION_WORDS,
    HEALTH_SEVERITIES,
    LAPTOP_CHASSIS_WORDS,
    NODE_CLASS_TYPES,
    STATUS_RESET,
    STATUS_TRIGGERED,
    WORKSTATION_CLASSES,
)
from rmmbridge.connectors.ninjaone.schemas import Activity, Alert, Device, Location, Organization, User
from rmmbridge.connectors.records import (
    AlertState,
    DeviceType,
    RemoteAlert,
    RemoteCustomer,
    RemoteDevice,
    RemoteSite,
    RemoteUser,
    flatten,
)
from rmmbridge.connectors.timestamps import from_epoch, from_iso

#: Validates one NinjaOne item; raises SkippableRecordError naming the item and what is wrong.
parse_item = ItemParser("NinjaOne", ("id", "uid"))


def epoch_seconds(value: float | int | None) -> datetime | None:
    """NinjaOne timestamps are epoch seconds with a fraction (e.g. 1787898261.504) → aware UTC datetime."""
    return None if value is None else from_epoch(float(value), ms_from=float("inf"))


def device_type_for(node_class: str, chassis_type: str | None = None) -> DeviceType:
    """Map a nodeClass (and, for workstations, the chassis type) to a normalized DeviceType."""
    if node_class in WORKSTATION_CLASSES and chassis_type:
        lowered = chassis_type.lower().replace("_", " ")
        if any(word in lowered for word in LAPTOP_CHASSIS_WORDS):
            return DeviceType.LAPTOP
    if node_class in NODE_CLASS_TYPES:
        return NODE_CLASS_TYPES[node_class]
    if node_class.startswith("NMS_"):
        return DeviceType.NETWORK_DEVICE
    return DeviceType.OTHER


def to_customer(org: Organization, raw: Mapping[str, Any]) -> RemoteCustomer:
    return RemoteCustomer(external_id=str(org.id), name=org.name, fields=flatten(raw))


def to_site(location: Location, raw: Mapping[str, Any], organization_id: int | None = None) -> RemoteSite:
    org_id = location.organizationId if location.organizationId is not None else organization_id
    return RemoteSite(
        external_id=str(location.id),
        name=location.name,
        customer_external_id=None if org_id is None else str(org_id),
        fields=flatten(raw),
    )


def to_user(user: User, raw: Mapping[str, Any]) -> RemoteUser:
    name = " ".join(p for p in (user.firstName, user.lastName) if p) or user.email or f"User {user.id}"
    return RemoteUser(
        external_id=str(user.id),
        name=name,
        email=user.email or None,
        customer_external_id=None if user.organizationId is None else str(user.organizationId),
        fields=flatten(raw),
    )


def _first(*values: str | None) -> str | None:
    for value in values:
        if value is not None and value.strip():
            return value.strip()
    return None


#: The raw device keys each normalized attribute is read from (to_device), for the sync's RawCheck. Every raw
#: fingerprint also covers the keys that identify, name, place, type and delete a device (RAW_BASE_KEYS).
NAME_KEYS = ("systemName", "dnsName", "netbiosName", "displayName", "name")
RAW_ATTRIBUTE_KEYS: dict[str, tuple[str, ...]] = {
    "external_id": ("id",), "hostname": NAME_KEYS, "site_external_id": ("locationId",),
    "customer_external_id": ("organizationId",), "device_type": ("nodeClass", "system"),
    "vendor_type": ("nodeClass",), "serial_number": ("system", "serviceTag"),
    "os_name": ("os", "guestOSFullName", "releaseName"), "manufacturer": ("system", "vendor"),
    "model": ("system", "model"), "ip_addresses": ("ipAddresses",), "mac_addresses": ("macAddresses",),
    "last_logged_in_user": ("lastLoggedInUser",), "last_seen": ("lastContact",), "online": ("offline",),
    "parent_external_id": ("parentDeviceId",), "deleted": ("approvalStatus",),
}
RAW_BASE_KEYS = ("id", *NAME_KEYS, "locationId", "organizationId", "nodeClass", "system", "approvalStatus")


def raw_hostname(raw: Mapping[str, Any]) -> str | None:
    """The name to_device gives a raw device (None: it has none and would be skipped)."""
    return _first(*(v if isinstance(v, str) else None for v in (raw.get(k) for k in NAME_KEYS)))


def raw_macs(raw: Mapping[str, Any]) -> tuple[str, ...]:
    """A raw device's MAC addresses as to_device reads them."""
    found = raw.get("macAddresses")
    return tuple(dict.fromkeys(m for m in found if isinstance(m, str) and m)) if isinstance(found, list) else ()


def to_device(device: Device, raw: Mapping[str, Any], *, keep: frozenset[str] | None = None,
              digest: str = "") -> RemoteDevice:
    """A detailed NinjaOne device as a RemoteDevice; every field is kept flattened in `fields`.

    A device without any name (systemName, dnsName, netbiosName, displayName, name) cannot be matched or shown:
    it is skipped. Anything else missing only leaves that value empty. `keep` limits `fields` to those top-level
    keys (the sync's RawCheck: only what is mapped is flattened); `digest` is stamped as the record's raw_digest.
    """
    system = device.system
    names = (device.systemName, device.dnsName, device.netbiosName, device.displayName, device.name)
    hostname = _first(*names)
    if hostname is None:
        raise SkippableRecordError(
            f"NinjaOne device {device.id!r} skipped – it has no systemName, dnsName, netbiosName or displayName"
        )
    return RemoteDevice(
        external_id=str(device.id),
        hostname=hostname,
        site_external_id=None if device.locationId is None else str(device.locationId),
        customer_external_id=None if device.organizationId is None else str(device.organizationId),
        device_type=device_type_for(device.nodeClass, system.chassisType if system else None),
        vendor_type=device.nodeClass,
        serial_number=_first(
            system.serialNumber if system else None,
            system.biosSerialNumber if system else None,
            device.serviceTag,
        ),
        os_name=_first(device.os.name if device.os else None, device.guestOSFullName, device.releaseName),
        manufacturer=_first(system.manufacturer if system else None, device.vendor),
        model=_first(system.model if system else None, device.model),
        ip_addresses=tuple(dict.fromkeys(ip for ip in device.ipAddresses if ip)),
        mac_addresses=tuple(dict.fromkeys(mac for mac in device.macAddresses if mac)),  # VM hosts repeat MACs
        last_logged_in_user=_first(device.lastLoggedInUser),
        last_seen=epoch_seconds(device.lastContact),
        online=None if device.offline is None else not device.offline,
        parent_external_id=None if device.parentDeviceId is None else str(device.parentDeviceId),
        deleted=device.approvalStatus == "DECOMMISSIONED",
        fields=flatten(dict(raw) if keep is None else {k: raw[k] for k in keep if k in raw}),
        raw_digest=digest,
    )


def _alert_message(subject: str | None, message: str | None, fallback: str) -> str:
    return _first(message, subject) or fallback


def _humanize(code: str) -> str:
    words = code.strip().lower()
    for prefix in ("condition_", "agent_", "vmm_", "nms_", "cond_"):
        words = words.removeprefix(prefix)
    words = words.removesuffix("_triggered").rstrip("0123456789_")
    parts = words.split("_")
    operator = ""
    if parts and parts[-1] in ("ge", "gt", "le", "lt", "eq"):
        operator = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<", "eq": "="}[parts.pop()]
    joined = "_".join(parts)
    label = CONDITION_WORDS.get(joined) or " ".join(parts).strip().capitalize()
    return f"{label} {operator}".strip() if label else ""


def condition_label(source_type: str | None, source_name: str | None, data: Mapping[str, Any] | None) -> str:
    """A readable condition name: the policy's sourceName, else one made from `data.message.code` or sourceType.

    Captured webhooks carry a target placeholder as sourceName ("_average_") or none at all (""), so those are
    not names; `vmm_cond_memory_usage_ge` with threshold 80 and unit % reads "Memory usage ≥ 80%".
    """
    name = (source_name or "").strip()
    if name and not (name.startswith("_") and name.endswith("_")):
        return name
    message = data.get("message") if isinstance(data, Mapping) else None
    code = message.get("code") if isinstance(message, Mapping) else None
    if isinstance(code, str) and code.strip():
        label = _humanize(code)
        params = message.get("params") if isinstance(message, Mapping) else None
        if label and label[-1] in "≥>≤<=" and isinstance(params, Mapping) and params.get("threshold") is not None:
            label = f"{label} {params['threshold']}{params.get('unit') or ''}"
        if label:
            return label
    return _humanize(source_type) if source_type else ""


def alert_severity(severity: str | None, priority: str | None, health: str | None = None) -> str:
    """The vendor's severity label, else its priority label, else one from conditionHealthStatus ("" if none)."""
    return _first(severity, priority) or HEALTH_SEVERITIES.get((health or "").strip().upper(), "")


def device_hostname(device: Mapping[str, Any] | None) -> str | None:
    """The name of a device object (an alert's `device`, or `GET /v2/device/{id}`)."""
    if not device:
        return None
    return _first(*(device.get(k) for k in ("systemName", "dnsName", "displayName", "netbiosName")
                    if isinstance(device.get(k), str)))


def to_alert(alert: Alert, raw: Mapping[str, Any], *, device: Mapping[str, Any] | None = None,
             severity: str = "") -> RemoteAlert:
    """An active alert of `GET /v2/alerts` (always open: NinjaOne lists only triggered conditions).

    Real items carry no severity, priority or device object: the connector passes the device it looked up by
    `deviceId` and the severity of the condition's activity; the alert's own values win when present.
    """
    return RemoteAlert(
        external_id=alert.uid,
        device_external_id=None if alert.deviceId is None else str(alert.deviceId),
        message=_alert_message(alert.subject, alert.message, alert.sourceName or alert.sourceType or "NinjaOne alert"),
        severity=alert_severity(alert.severity, alert.priority, alert.conditionHealthStatus) or severity,
        alert_type=alert.conditionName or condition_label(alert.sourceType, alert.sourceName, alert.data),
        state=AlertState.OPEN,
        raised_at=epoch_seconds(alert.createTime),
        hostname=device_hostname(alert.device) or device_hostname(device),
        raw=dict(raw),
    )


def activity_time(value: float | str | None) -> datetime | None:
    """An activity timestamp: epoch seconds (float or numeric string), epoch milliseconds, or ISO 8601."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return from_iso(value)
    else:
        number = float(value)
    return from_epoch(number)


def activity_status(activity: Activity) -> str:
    """TRIGGERED / RESET / … from `statusCode`, else from `status` (some senders fill only that)."""
    return (activity.statusCode or activity.status or "").strip().upper()


def activity_kind(activity: Activity) -> str:
    """The activity type (`activityType`, else `type` when a sender puts CONDITION there)."""
    kind = (activity.activityType or "").strip().upper()
    if not kind and (activity.type or "").strip().upper() in CONDITION_ACTIVITY_TYPES:
        kind = (activity.type or "").strip().upper()
    return kind


def is_condition_activity(activity: Activity) -> bool:
    """True for the activities that open or close an alert: a CONDITION, TRIGGERED or RESET."""
    return activity_kind(activity) in CONDITION_ACTIVITY_TYPES and activity_status(activity) in (
        STATUS_TRIGGERED,
        STATUS_RESET,
    )


def activity_to_alert(activity: Activity, raw: Mapping[str, Any]) -> RemoteAlert:
    """A CONDITION activity (webhook payload or activity log) as a RemoteAlert keyed by its series UID.

    Without a `seriesUid` the external id is empty, so the alerts pipeline keys the alert by device + condition.
    """
    resolved = activity_status(activity) == STATUS_RESET
    at = activity_time(activity.activityTime)
    device = activity.device or {}
    device_id = activity.deviceId if activity.deviceId is not None else device.get("id")
    kind = (activity.type or "").strip()
    condition = condition_label(None, activity.sourceName, activity.data)
    if not condition and kind and kind.upper() not in CONDITION_ACTIVITY_TYPES:
        condition = kind  # e.g. "Alert" in the documented example
    return RemoteAlert(
        external_id=activity.seriesUid or "",
        device_external_id=None if device_id is None else str(device_id),
        message=_alert_message(activity.subject, activity.message, condition or "NinjaOne condition"),
        severity=alert_severity(activity.severity, activity.priority),
        alert_type=condition,
        state=AlertState.RESOLVED if resolved else AlertState.OPEN,
        raised_at=None if resolved else at,
        resolved_at=at if resolved else None,
        hostname=device_hostname(device),
        raw=dict(raw),
    )
