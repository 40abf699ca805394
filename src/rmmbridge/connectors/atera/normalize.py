"""Pure mapping of Atera payloads to normalized records (no I/O)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from rmmbridge.connectors.atera.const import (
    ALERT_CATEGORIES,
    OS_TYPE_TYPES,
    PRINTER_WORDS,
    SNMP_ID_PREFIX,
    SNMP_SECRET_FIELDS,
    VIRTUAL_WORDS,
)
from rmmbridge.connectors.atera.schemas import Agent, Alert, Contact, Customer, SnmpDevice
from rmmbridge.connectors.items import ItemParser
from rmmbridge.connectors.records import (
    AlertState,
    DeviceType,
    RemoteAlert,
    RemoteCustomer,
    RemoteDevice,
    RemoteUser,
    flatten,
)
from rmmbridge.connectors.timestamps import from_epoch, from_iso

_FRACTION = re.compile(r"(\.\d{1,6})\d*")


#: Validates one Atera item; raises SkippableRecordError naming the item and what is wrong.
parse_item = ItemParser("Atera", ("AgentID", "DeviceID", "AlertID", "EndUserID", "CustomerID"))


def parse_timestamp(value: Any) -> datetime | None:
    """An Atera date-time (ISO 8601, often without an offset, e.g. '2026-11-20T14:03:11.27') → aware datetime.

    Values without an offset are taken as UTC. Epoch numbers (seconds, or milliseconds when large) are accepted too.
    Unreadable values give None rather than failing the record.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return from_epoch(value)
    if not isinstance(value, str):
        return None
    return from_iso(_FRACTION.sub(lambda m: m.group(1), value.strip()))


def _first(*values: str | None) -> str | None:
    for value in values:
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _id(value: int | None) -> str | None:
    return None if value is None else str(value)


def agent_device_type(agent: Agent) -> DeviceType:
    """OSType decides (as in Halo); a virtual platform makes a VM; a battery makes a workstation a laptop."""
    hardware = " ".join(v for v in (agent.Vendor, agent.VendorBrandModel, agent.ProductName) if v).lower()
    os_type = (agent.OSType or "").strip().lower()
    base = OS_TYPE_TYPES.get(os_type)
    if base is None and os_type:
        base = DeviceType.SERVER if "server" in os_type else None
    if hardware and any(word in hardware for word in VIRTUAL_WORDS):
        return DeviceType.VIRTUAL_MACHINE
    if base is DeviceType.WORKSTATION:
        battery = agent.BatteryInfo
        if battery is not None and (battery.DesignedCapacity or battery.FullChargeCapacity or battery.Name):
            return DeviceType.LAPTOP
        return DeviceType.WORKSTATION
    if base is not None:
        return base
    if "server" in (agent.OS or "").lower():
        return DeviceType.SERVER
    return DeviceType.OTHER if not agent.OS else DeviceType.WORKSTATION


def snmp_device_type(device: SnmpDevice) -> DeviceType:
    text = " ".join(v for v in (device.Type, device.Model, device.Name) if v).lower()
    if any(word in text for word in PRINTER_WORDS):
        return DeviceType.PRINTER
    return DeviceType.NETWORK_DEVICE


def to_customer(customer: Customer, raw: Mapping[str, Any]) -> RemoteCustomer:
    return RemoteCustomer(external_id=str(customer.CustomerID), name=customer.CustomerName.strip(),
                          fields=flatten(raw))


def to_user(contact: Contact, raw: Mapping[str, Any]) -> RemoteUser:
    name = " ".join(p.strip() for p in (contact.Firstname, contact.Lastname) if p and p.strip())
    return RemoteUser(
        external_id=str(contact.EndUserID),
        name=name or _first(contact.Email) or f"Contact {contact.EndUserID}",
        email=_first(contact.Email),
        customer_external_id=_id(contact.CustomerID),
        fields=flatten(raw),
    )


#: The raw agent keys each normalized attribute is read from (to_device), for the sync's RawCheck (agents only:
#: SNMP devices are always normalised). Every raw fingerprint also covers the keys that identify, name, place and
#: type an agent (RAW_BASE_KEYS).
AGENT_NAME_KEYS = ("MachineName", "AgentName", "SystemName")
AGENT_TYPE_KEYS = ("OSType", "OS", "Vendor", "VendorBrandModel", "ProductName", "BatteryInfo")
RAW_ATTRIBUTE_KEYS: dict[str, tuple[str, ...]] = {
    "external_id": ("AgentID",), "hostname": AGENT_NAME_KEYS, "site_external_id": (),
    "customer_external_id": ("CustomerID",), "device_type": AGENT_TYPE_KEYS, "vendor_type": ("OSType",),
    "serial_number": ("VendorSerialNumber",), "os_name": ("OS",), "manufacturer": ("Vendor",),
    "model": ("VendorBrandModel", "ProductName"), "ip_addresses": ("IpAddresses",), "mac_addresses": ("MacAddresses",),
    "last_logged_in_user": ("LastLoginUser", "CurrentLoggedUsers"), "last_seen": ("LastSeen",), "online": ("Online",),
    "parent_external_id": (), "deleted": (),
}
RAW_BASE_KEYS = ("AgentID", *AGENT_NAME_KEYS, "CustomerID", *AGENT_TYPE_KEYS)


def raw_agent_hostname(raw: Mapping[str, Any]) -> str:
    """The name to_device gives a raw agent."""
    return _first(*(v if isinstance(v, str) else None for v in (raw.get(k) for k in AGENT_NAME_KEYS))) \
        or f"agent-{raw.get('AgentID')}"


def raw_agent_macs(raw: Mapping[str, Any]) -> tuple[str, ...]:
    """A raw agent's MAC addresses as to_device reads them."""
    found = raw.get("MacAddresses")
    return tuple(m for m in found if isinstance(m, str) and m) if isinstance(found, list) else ()


def to_device(agent: Agent, raw: Mapping[str, Any], *, keep: frozenset[str] | None = None,
              digest: str = "") -> RemoteDevice:
    """An agent as a RemoteDevice; every AgentDto field is kept flattened in `fields`.

    `keep` limits `fields` to those top-level keys (the sync's RawCheck: only what is mapped is flattened);
    `digest` is stamped as the record's raw_digest.
    """
    hostname = _first(agent.MachineName, agent.AgentName, agent.SystemName) or f"agent-{agent.AgentID}"
    return RemoteDevice(
        external_id=str(agent.AgentID),
        hostname=hostname,
        customer_external_id=_id(agent.CustomerID),
        device_type=agent_device_type(agent),
        vendor_type=agent.OSType or "",
        serial_number=_first(agent.VendorSerialNumber),
        os_name=_first(agent.OS),
        manufacturer=_first(agent.Vendor),
        model=_first(agent.VendorBrandModel, agent.ProductName),
        ip_addresses=tuple(ip for ip in (agent.IpAddresses or []) if ip),
        mac_addresses=tuple(mac for mac in (agent.MacAddresses or []) if mac),
        last_logged_in_user=_first(agent.LastLoginUser, agent.CurrentLoggedUsers),
        last_seen=parse_timestamp(agent.LastSeen),
        online=agent.Online,
        fields=flatten(dict(raw) if keep is None else {k: raw[k] for k in keep if k in raw}),
        raw_digest=digest,
    )


def to_snmp_device(device: SnmpDevice, raw: Mapping[str, Any]) -> RemoteDevice:
    """An SNMP device as a RemoteDevice (child of its monitoring agent); SNMP credentials are dropped."""
    kept = {k: v for k, v in raw.items() if k not in SNMP_SECRET_FIELDS}
    return RemoteDevice(
        external_id=f"{SNMP_ID_PREFIX}{device.DeviceID}",
        hostname=_first(device.Name, device.Hostname) or f"snmp-device-{device.DeviceID}",
        customer_external_id=_id(device.CustomerID),
        device_type=snmp_device_type(device),
        vendor_type=f"SNMP {device.Type}" if device.Type else "SNMP",
        model=_first(device.Model),
        ip_addresses=(device.Hostname,) if device.Hostname and device.Hostname[:1].isdigit() else (),
        online=device.Online,
        parent_external_id=_id(device.MonitoringAgentID) if device.MonitoringAgentID else None,
        fields=flatten(kept),
    )


def alert_category(value: str | None) -> str | None:
    """An AlertCategoryID in the spec's spelling when it is one of them in another case, else as sent."""
    text = _first(value)
    if text is None:
        return None
    return next((c for c in ALERT_CATEGORIES if c.lower() == text.lower()), text)


def alert_time(alert: Alert) -> datetime | None:
    """When an alert last changed: ArchivedDate for resolved alerts, else Created."""
    return parse_timestamp(alert.ArchivedDate) if alert.Archived else parse_timestamp(alert.Created)


def to_alert(alert: Alert, raw: Mapping[str, Any], *, device_external_id: str | None = None) -> RemoteAlert:
    """An AlertDto as a RemoteAlert; `Archived` alerts are resolved (at `ArchivedDate`).

    The device is `AgentId`; alerts without one (older shapes and the documented examples carry only
    `DeviceGuid` and `DeviceName`) take the device the connector looked up (``device_external_id``).
    """
    resolved = bool(alert.Archived)
    return RemoteAlert(
        external_id=str(alert.AlertID),
        device_external_id=_id(alert.AgentId) if alert.AgentId else device_external_id,
        message=_first(alert.Title, alert.AlertMessage, alert.AdditionalInfo) or f"Atera alert {alert.AlertID}",
        severity=alert.Severity or "",
        alert_type=alert_category(alert.AlertCategoryID) or _first(alert.Source) or "",
        state=AlertState.RESOLVED if resolved else AlertState.OPEN,
        raised_at=parse_timestamp(alert.Created),
        resolved_at=parse_timestamp(alert.ArchivedDate) if resolved else None,
        hostname=_first(alert.DeviceName),
        raw=dict(raw),
    )
