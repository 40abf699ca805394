"""Pure mapping of Datto RMM payloads to normalized records (epoch-millisecond times, device types, UDFs)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from rmmbridge.connectors.datto_rmm import schemas
from rmmbridge.connectors.errors import ConnectorFatalError, SkippableRecordError
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

ALERT_CONTEXT_LABELS: dict[str, str] = {
    "online_offline_status_ctx": "Online/offline status",
    "perf_resource_usage_ctx": "Resource usage",
    "eventlog_ctx": "Event log",
    "comp_script_ctx": "Component script",
    "antivirus_ctx": "Antivirus",
    "patch_ctx": "Patch",
}


def from_epoch_ms(value: Any) -> datetime | None:
    """Datto sends epoch milliseconds (the spec says date-time; both are accepted)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    if isinstance(value, str):
        if value.isdigit():
            return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
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


def _skip(kind: str, raw: Any, exc: ValidationError) -> SkippableRecordError:
    ident = raw.get("uid") or raw.get("alertUid") or raw.get("id") if isinstance(raw, Mapping) else None
    problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:3])
    return SkippableRecordError(f"Skipped malformed Datto RMM {kind} {ident!r}: {problems}")


def _audit(raw: Mapping[str, Any], section: str, key: str) -> str | None:
    """A value from the device audit merged under raw["audit"] (serial, make and model live there)."""
    audit = raw.get("audit")
    part = audit.get(section) if isinstance(audit, Mapping) else None
    value = part.get(key) if isinstance(part, Mapping) else None
    return str(value) if value not in (None, "") else None


def _nics(raw: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    audit = raw.get("audit")
    nics = audit.get("nics") if isinstance(audit, Mapping) else None
    return [n for n in nics if isinstance(n, Mapping)] if isinstance(nics, list) else []


def normalize_device(raw: Any) -> RemoteDevice:
    """One Datto `Device` (optionally with its audit under "audit") → RemoteDevice.

    Raise SkippableRecordError when the item is malformed (e.g. a numeric uid or no hostname).
    """
    if not isinstance(raw, Mapping):
        raise SkippableRecordError(f"Skipped a Datto RMM device that is not an object: {raw!r:.80}")
    try:
        dev = schemas.Device.model_validate(raw)
    except ValidationError as exc:
        raise _skip("device", raw, exc) from None
    dtype = dev.deviceType or schemas.DeviceType()
    return RemoteDevice(
        external_id=dev.uid,
        hostname=dev.hostname,
        site_external_id=dev.siteUid,
        customer_external_id=dev.siteUid,  # Datto sites are the customers
        device_type=device_type(dtype.category, dtype.type, dev.deviceClass),
        vendor_type=" / ".join(p for p in (dtype.category, dtype.type) if p) or (dev.deviceClass or ""),
        serial_number=_audit(raw, "bios", "serialNumber"),
        os_name=dev.operatingSystem or None,
        manufacturer=_audit(raw, "systemInfo", "manufacturer"),
        model=_audit(raw, "systemInfo", "model"),
        ip_addresses=tuple(ip for ip in (dev.intIpAddress, dev.extIpAddress) if ip),
        mac_addresses=tuple(str(n["macAddress"]) for n in _nics(raw) if n.get("macAddress")),
        last_logged_in_user=dev.lastLoggedInUser or None,
        last_seen=from_epoch_ms(dev.lastSeen),
        online=dev.online,
        deleted=bool(dev.deleted),
        fields=flatten(dict(raw)),
    )


def normalize_site(raw: Any) -> RemoteSite:
    """One Datto `Site` → RemoteSite (its own customer: customer_external_id is the site uid)."""
    if not isinstance(raw, Mapping):
        raise SkippableRecordError(f"Skipped a Datto RMM site that is not an object: {raw!r:.80}")
    try:
        site = schemas.Site.model_validate(raw)
    except ValidationError as exc:
        raise _skip("site", raw, exc) from None
    return RemoteSite(external_id=site.uid, name=site.name, customer_external_id=site.uid, fields=flatten(dict(raw)))


def site_as_customer(site: RemoteSite) -> RemoteCustomer:
    """Datto RMM has no customer above the site: each site is a customer (Halo's default)."""
    return RemoteCustomer(external_id=site.external_id, name=site.name, fields=site.fields)


def alert_message(alert: schemas.Alert) -> str:
    """A readable message: the diagnostics, else a summary of the alert context."""
    if alert.diagnostics:
        return alert.diagnostics
    context = alert.alertContext or {}
    label = ALERT_CONTEXT_LABELS.get(str(context.get("@class", "")), str(context.get("@class", "Alert")))
    details = ", ".join(f"{k}={v}" for k, v in context.items() if k != "@class" and v not in (None, ""))
    return f"{label}: {details}" if details else label


def normalize_alert(raw: Any) -> RemoteAlert:
    """One Datto `Alert` → RemoteAlert; the alert type is the context class without `_ctx`."""
    if not isinstance(raw, Mapping):
        raise SkippableRecordError(f"Skipped a Datto RMM alert that is not an object: {raw!r:.80}")
    try:
        alert = schemas.Alert.model_validate(raw)
    except ValidationError as exc:
        raise _skip("alert", raw, exc) from None
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
