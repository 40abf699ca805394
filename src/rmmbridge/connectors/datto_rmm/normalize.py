"""Pure mapping of Datto RMM payloads to normalized records (epoch-millisecond times, device types, UDFs)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from rmmbridge.connectors.datto_rmm import alert_text, const, schemas
from rmmbridge.connectors.errors import ConnectorFatalError
from rmmbridge.connectors.items import ItemParser
from rmmbridge.connectors.records import (
    AccountInfo,
    AlertState,
    DeviceType,
    RemoteAlert,
    RemoteCustomer,
    RemoteDevice,
    RemoteSite,
    flatten,
)
from rmmbridge.connectors.timestamps import from_epoch, from_iso

#: Keys naming a Datto item in skip messages (devices and sites by uid, alerts by alertUid).
ID_KEYS = ("uid", "alertUid", "id")
#: Lenient validation of one Datto list item (items.validate_item); the connector's stream uses the same keys.
parse_item = ItemParser(const.NAME, ID_KEYS)
#: Device classes with an audit endpoint (spec: /v2/audit/device, /v2/audit/esxihost, /v2/audit/printer).
AUDIT_CLASSES = ("device", "esxihost", "printer")
#: The audit sections kept (and cached): identity and network data; software, disks and memory lists are left out.
AUDIT_SECTIONS: dict[str, tuple[str, ...]] = {
    "device": ("systemInfo", "bios", "baseBoard", "nics", "snmpInfo"),
    "esxihost": ("systemInfo", "nics"),
    "printer": ("systemInfo", "snmpInfo", "nics", "printer"),
}


def from_epoch_ms(value: Any) -> datetime | None:
    """Datto sends epoch milliseconds (the spec says date-time; both are accepted)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return from_epoch(value, milliseconds=True)
    if isinstance(value, str):
        return from_epoch(int(value), milliseconds=True) if value.isdigit() else from_iso(value)
    return None


def device_type(category: str | None, type_: str | None, device_class: str | None) -> DeviceType:
    """Map deviceType {category, type} and deviceClass to the normalized DeviceType."""
    cat = (category or "").strip().lower()
    kind = (type_ or "").strip().lower()
    cls = (device_class or "").strip().lower()
    if cls == "printer" or "printer" in cat:
        return DeviceType.PRINTER
    if cls == "rmmnetworkdevice" or cat.startswith("network"):
        return DeviceType.NETWORK_DEVICE
    if cls == "esxihost" or "esxi" in cat:
        return DeviceType.SERVER
    if kind in ("virtual", "vm", "virtual machine"):
        return DeviceType.VIRTUAL_MACHINE
    if "server" in cat:
        return DeviceType.SERVER
    if "laptop" in cat or "notebook" in cat:
        return DeviceType.LAPTOP
    if "desktop" in cat or "workstation" in cat:
        return DeviceType.WORKSTATION
    if "mobile" in cat or "phone" in cat or "tablet" in cat:
        return DeviceType.MOBILE
    return DeviceType.OTHER


def audit_class(raw: Mapping[str, Any]) -> str | None:
    """The audit endpoint's class for a device record (`device`, `esxihost`, `printer`), None when it has none."""
    value = raw.get("deviceClass")
    cls = value.strip().lower() if isinstance(value, str) else ""
    return cls if cls in AUDIT_CLASSES else None


def prune_audit(audit: Mapping[str, Any], device_class: str) -> dict[str, Any]:
    """The sections of an audit answer that normalize_device reads (kept in the connector's audit cache)."""
    return {key: audit[key] for key in AUDIT_SECTIONS.get(device_class, ()) if key in audit}


def _section_value(raw: Mapping[str, Any], section: str, key: str) -> str | None:
    audit = raw.get("audit")
    part = audit.get(section) if isinstance(audit, Mapping) else None
    value = part.get(key) if isinstance(part, Mapping) else None
    if isinstance(value, str | int) and not isinstance(value, bool):
        text = str(value).strip()
        return text or None
    return None


def audit_identity(raw: Mapping[str, Any]) -> tuple[str | None, str | None, str | None, tuple[str, ...]]:
    """(serial, manufacturer, model, MACs) from the audit merged under raw["audit"], per device class.

    Agents: bios.serialNumber, systemInfo.manufacturer/model, nics[].macAddress. ESXi hosts: systemInfo.serviceTag
    as the serial. Printers: snmpInfo.snmpSerial. A missing or odd value gives None, never an error.
    """
    if not isinstance(raw.get("audit"), Mapping):
        return None, None, None, ()  # listed without its audit (audits off, or not fetched yet)
    cls = audit_class(raw) or "device"
    if cls == "esxihost":
        serial = _section_value(raw, "systemInfo", "serviceTag")
    elif cls == "printer":
        serial = _section_value(raw, "snmpInfo", "snmpSerial")
    else:
        serial = _section_value(raw, "bios", "serialNumber")
    manufacturer = _section_value(raw, "systemInfo", "manufacturer")
    model = _section_value(raw, "systemInfo", "model")
    if cls == "device" and manufacturer is None:
        manufacturer = _section_value(raw, "baseBoard", "manufacturer")
    return serial, manufacturer, model, audit_macs(raw)


def audit_macs(raw: Mapping[str, Any]) -> tuple[str, ...]:
    """The MAC addresses of the audit merged under raw["audit"] (nics[].macAddress), each once, in order; a
    device listed without its audit has none."""
    audit = raw.get("audit")
    if audit is None:
        return ()
    nics = audit.get("nics") if isinstance(audit, Mapping) else None
    macs: list[str] = []
    for nic in nics if isinstance(nics, list) else []:
        mac = nic.get("macAddress") if isinstance(nic, Mapping) else None
        if isinstance(mac, str) and mac.strip() and mac.strip() not in macs:
            macs.append(mac.strip())
    return tuple(macs)


def normalize_device(raw: Any) -> RemoteDevice:
    """One raw Datto `Device` (optionally with its audit under "audit") → RemoteDevice (parse_item, then to_device).

    Lenient (items.validate_item): a field of the wrong type (e.g. `udf` as a list, `deviceType: "x"`) is left out
    and counted as "udf (unreadable)"; the device is kept. Only an item whose uid or hostname is missing or
    unreadable is skipped (SkippableRecordError).
    """
    return to_device(parse_item(schemas.Device, raw, "device"), raw)


def to_device(dev: schemas.Device, raw: Mapping[str, Any], *, keep: frozenset[str] | None = None,
              digest: str = "") -> RemoteDevice:
    """A validated Datto `Device` and its raw item → RemoteDevice (serial, make, model, MACs from raw["audit"]).

    `keep` limits `fields` to those top-level keys (the sync's RawCheck: only what is mapped is flattened);
    `digest` is stamped as the record's raw_digest.
    """
    dtype = dev.deviceType or schemas.DeviceType()
    serial, manufacturer, model, macs = audit_identity(raw)
    return RemoteDevice(
        external_id=dev.uid,
        hostname=dev.hostname,
        site_external_id=dev.siteUid,
        customer_external_id=dev.siteUid,  # Datto sites are the customers
        device_type=device_type(dtype.category, dtype.type, dev.deviceClass),
        vendor_type=" / ".join(p for p in (dtype.category, dtype.type) if p) or (dev.deviceClass or ""),
        serial_number=serial,
        os_name=dev.operatingSystem or None,
        manufacturer=manufacturer,
        model=model,
        ip_addresses=tuple(ip for ip in (dev.intIpAddress, dev.extIpAddress) if ip),
        mac_addresses=macs,
        last_logged_in_user=dev.lastLoggedInUser or None,
        last_seen=from_epoch_ms(dev.lastSeen),
        online=dev.online,
        deleted=bool(dev.deleted),
        fields=flatten(dict(raw) if keep is None else {k: raw[k] for k in keep if k in raw}),
        raw_digest=digest,
    )


def normalize_site(raw: Any) -> RemoteSite:
    """One raw Datto `Site` → RemoteSite (lenient like devices: only a site without uid or name is skipped)."""
    return to_site(parse_item(schemas.Site, raw, "site"), raw)


def to_site(site: schemas.Site, raw: Mapping[str, Any]) -> RemoteSite:
    """A validated Datto `Site` → RemoteSite (its own customer: customer_external_id is the site uid)."""
    return RemoteSite(external_id=site.uid, name=site.name, customer_external_id=site.uid, fields=flatten(dict(raw)))


def site_as_customer(site: RemoteSite) -> RemoteCustomer:
    """Datto RMM has no customer above the site: each site is a customer (Halo's default)."""
    return RemoteCustomer(external_id=site.external_id, name=site.name, fields=site.fields)


def alert_message(alert: schemas.Alert) -> str:
    """A readable message: the summary of the alert context (by its @class), with Datto's diagnostics after it.

    Without a context the diagnostics alone; never a dict repr (nested values read as `key: value`).
    """
    source = alert.alertSourceInfo or schemas.AlertSourceInfo()
    context = alert.alertContext or {}
    diagnostics = " ".join((alert.diagnostics or "").split())[:300]
    if not any(k != "@class" and alert_text.text(v) for k, v in context.items()):
        # a context with nothing but its class says less than Datto's own text
        return diagnostics or (alert_text.label(str(context.get("@class") or "")) if context else "Datto RMM alert")
    summary = alert_text.summarize(context, source.deviceName or "")
    if diagnostics and diagnostics.lower() not in summary.lower():
        return f"{summary} – {diagnostics}"
    return summary


def normalize_alert(raw: Any) -> RemoteAlert:
    """One raw Datto `Alert` → RemoteAlert (lenient as devices: only an alert without alertUid is skipped)."""
    return to_alert(parse_item(schemas.Alert, raw, "alert"), raw)


def to_alert(alert: schemas.Alert, raw: Mapping[str, Any]) -> RemoteAlert:
    """A validated Datto `Alert` → RemoteAlert; the alert type is the context class without `_ctx`."""
    source = alert.alertSourceInfo or schemas.AlertSourceInfo()
    context_class = str((alert.alertContext or {}).get("@class", ""))
    return RemoteAlert(
        external_id=alert.alertUid,
        device_external_id=source.deviceUid,
        message=alert_message(alert),
        severity=alert.priority or "",
        alert_type=context_class.removesuffix("_ctx"),
        state=AlertState.RESOLVED if alert.resolved else AlertState.OPEN,
        raised_at=from_epoch_ms(alert.timestamp),
        resolved_at=from_epoch_ms(alert.resolvedOn),
        hostname=source.deviceName,
        raw=dict(raw),
    )


def normalize_account(raw: Any) -> AccountInfo:
    """GET /v2/account → AccountInfo (uid, name, device counts)."""
    try:
        account = schemas.Account.model_validate(raw)
    except ValidationError as exc:
        problem = exc.errors()[:1]
        raise ConnectorFatalError(f"Datto RMM answered /v2/account with an unexpected body: {problem}") from None
    details = {k: v for k, v in flatten(dict(raw)).items() if k.startswith(("devicesStatus.", "descriptor."))}
    details["currency"] = account.currency
    return AccountInfo(account_id=account.uid, display_name=account.name or account.uid, details=details)
