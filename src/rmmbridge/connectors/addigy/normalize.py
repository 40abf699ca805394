"""Pure mapping of Addigy API v2 payloads (device audits, policies, alerts) to normalized records (no I/O)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from rmmbridge.connectors.addigy.const import ALERT_STATUS_RESOLVED
from rmmbridge.connectors.addigy.schemas import AddigyAlert, DeviceAudit, Policy, WhoAmI
from rmmbridge.connectors.errors import SkippableRecordError
from rmmbridge.connectors.items import ItemParser
from rmmbridge.connectors.records import (
    AccountInfo,
    AlertState,
    DeviceType,
    FieldValue,
    RemoteAlert,
    RemoteCustomer,
    RemoteDevice,
    flatten,
)
from rmmbridge.connectors.timestamps import from_epoch, from_iso

#: Epoch values above this are milliseconds (year 2286 in seconds).
_MS_THRESHOLD = 10_000_000_000
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


#: Validates one Addigy item; raises SkippableRecordError naming the item and what is wrong.
parse_item = ItemParser("Addigy", ("agentid", "agent_id", "policyId", "_id"))


def to_datetime(value: Any) -> datetime | None:
    """Epoch seconds or milliseconds (number or numeric string) or an ISO 8601 string → aware UTC datetime."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if _NUMBER.match(text):
            value = float(text)
        else:
            parsed = from_iso(text)
            return parsed.astimezone(UTC) if parsed is not None else None
    if isinstance(value, int | float):
        return from_epoch(float(value), ms_from=_MS_THRESHOLD) if value > 0 else None
    return None


def fact_values(audit: DeviceAudit) -> dict[str, Any]:
    """fact id → value (the fact's `type` and `error_msg` dropped)."""
    return {key: fact.value for key, fact in audit.facts.items()}


def _text(facts: Mapping[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = facts.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    return None


def device_type_for(facts: Mapping[str, Any]) -> DeviceType:
    """Apple hardware → DeviceType: iPhone/iPad/iPod mobile, VirtualMac VM, Xserve and rack Mac Pro server,
    MacBook laptop, other Macs (iMac, Mac mini, Mac Studio, Mac Pro tower) workstation, Apple TV and the rest other.

    Apple-silicon model identifiers (`Mac14,2`) do not say laptop or desktop, so the model name decides.
    """
    model_id = (_text(facts, "hardware_model") or "").lower()
    names = " ".join(
        (_text(facts, key) or "").lower() for key in ("device_model_name", "product_name", "product_description")
    )
    platform = (_text(facts, "os_platform") or "").lower()
    everything = f"{model_id} {names}"
    if any(word in everything for word in ("iphone", "ipad", "ipod")) or platform in ("ios", "ipados"):
        return DeviceType.MOBILE
    if "appletv" in everything or "apple tv" in everything or platform == "tvos":
        return DeviceType.OTHER
    if "virtualmac" in everything or "virtual machine" in names:
        return DeviceType.VIRTUAL_MACHINE
    if "xserve" in everything or "rack" in names:
        return DeviceType.SERVER
    if "macbook" in everything:
        return DeviceType.LAPTOP
    if any(word in everything for word in ("imac", "macmini", "mac mini", "macpro", "mac pro", "mac studio")):
        return DeviceType.WORKSTATION
    if model_id.startswith("mac") or platform == "macos":
        return DeviceType.WORKSTATION
    return DeviceType.OTHER


def device_fields(audit: DeviceAudit, raw: Mapping[str, Any]) -> dict[str, FieldValue]:
    """Every vendor field flattened: `agentid`, `orgid`, `audit_date`, … and `facts.<id>` holding the fact value."""
    base = {k: v for k, v in raw.items() if k != "facts"}
    base["agentid"] = audit.agentid
    return flatten({**base, "facts": fact_values(audit)})


def normalize_device(raw: Any) -> RemoteDevice:
    """One `POST /api/v2/devices` item → RemoteDevice (the customer is the device's policy)."""
    return to_device(parse_item(DeviceAudit, raw, "device"), raw)


def to_device(audit: DeviceAudit, raw: Mapping[str, Any]) -> RemoteDevice:
    """A validated device audit → RemoteDevice."""
    facts = fact_values(audit)
    hostname = _text(facts, "device_name", "host_name", "localhost_name", "serial_number") or audit.agentid
    platform = _text(facts, "os_platform")
    version = _text(facts, "os_version", "mac_os_x_version")
    os_name = " ".join(p for p in (platform, version) if p) or None
    model = _text(facts, "device_model_name", "product_name", "hardware_model")
    ips = tuple(dict.fromkeys(ip for ip in (_text(facts, "local_ip"), _text(facts, "client_ip")) if ip))
    listed = facts.get("ethernet_ma_cs")  # pliancy's fact id for the list of Ethernet MACs
    ethernet = [m.strip() for m in listed if isinstance(m, str) and m.strip()] if isinstance(listed, list) else []
    macs = tuple(dict.fromkeys(
        m for m in (_text(facts, "ethernet_mac_address"), *ethernet, _text(facts, "wifi_mac_address")) if m
    ))
    last_seen = (to_datetime(facts.get("last_online")) or to_datetime(audit.agent_audit_date)
                 or to_datetime(audit.audit_date))
    policy = _text(facts, "policy_id")
    if policy is None:
        ids = facts.get("policy_ids")
        if isinstance(ids, list) and ids and isinstance(ids[0], str):
            policy = ids[0]
    return RemoteDevice(
        external_id=audit.agentid,
        hostname=hostname,
        customer_external_id=policy,
        device_type=device_type_for(facts),
        vendor_type=_text(facts, "hardware_model") or _text(facts, "product_name") or "",
        serial_number=_text(facts, "serial_number"),
        os_name=os_name,
        manufacturer="Apple" if model else None,
        model=model,
        ip_addresses=ips,
        mac_addresses=macs,
        last_logged_in_user=_text(facts, "current_user"),
        last_seen=last_seen,
        online=_bool(facts.get("online")),
        fields=device_fields(audit, raw),
    )


def normalize_policy(raw: Any) -> RemoteCustomer:
    """One policy → RemoteCustomer (Halo maps each Halo customer to an Addigy policy)."""
    return to_customer(parse_item(Policy, raw, "policy"), raw)


def to_customer(policy: Policy, raw: Mapping[str, Any]) -> RemoteCustomer:
    """A validated policy → RemoteCustomer."""
    return RemoteCustomer(external_id=policy.policyId, name=policy.name, fields=flatten(dict(raw)))


def account_from_whoami(raw: Any, api_url: str) -> AccountInfo:
    """The organization behind the API key, from `GET /configuration/whoami` (`{name, organization_id}`)."""
    who = parse_item(WhoAmI, raw, "account (whoami)")
    name = (who.name or "").strip()
    shown = f"Addigy – {name}" if name else f"Addigy organization {who.organization_id}"
    details: dict[str, FieldValue] = {"orgid": who.organization_id, "api_url": api_url}
    if name:
        details["name"] = name
    return AccountInfo(account_id=who.organization_id, display_name=shown, details=details)


def account_from(policies: list[Any], api_url: str) -> AccountInfo:
    """The organization from the first policy's `orgid`: only a fallback when whoami is refused (403)."""
    for raw in policies:
        if isinstance(raw, Mapping) and isinstance(raw.get("orgid"), str) and raw["orgid"]:
            org = raw["orgid"]
            return AccountInfo(account_id=org, display_name=f"Addigy organization {org}",
                               details={"orgid": org, "api_url": api_url})
    return AccountInfo(account_id=api_url, display_name=f"Addigy ({api_url})", details={"api_url": api_url})


def normalize_alert(raw: Any) -> RemoteAlert:
    """An AddigyAlert (webhook body or alert list item) → RemoteAlert."""
    return to_alert(parse_item(AddigyAlert, raw, "alert"), raw)


def alert_time(raw: Any) -> datetime | None:
    """When a raw alert was raised (`created_on`, else `created_date`); None when unreadable."""
    if not isinstance(raw, Mapping):
        return None
    return to_datetime(raw.get("created_on")) or to_datetime(raw.get("created_date"))


def to_alert(alert: AddigyAlert, raw: Mapping[str, Any]) -> RemoteAlert:
    """A validated alert → RemoteAlert; status "Resolved" closes it, anything else is open."""
    if str(alert.id).strip() == "" and not alert.agentid:
        raise SkippableRecordError("Addigy alert without an id or a device skipped")
    resolved = (alert.status or "").strip().lower() == ALERT_STATUS_RESOLVED.lower()
    condition = alert.fact_identifier or alert.fact or alert.fact_name or ""
    message = alert.name or condition or "Addigy alert"
    if alert.value not in (None, "") and not isinstance(alert.value, dict | list):
        message = f"{message} (value: {alert.value})"
    return RemoteAlert(
        external_id=str(alert.id).strip(),
        device_external_id=alert.agentid or None,
        message=message,
        severity=alert.level or "",
        alert_type=condition or alert.category or "",
        state=AlertState.RESOLVED if resolved else AlertState.OPEN,
        raised_at=to_datetime(alert.created_on) or to_datetime(alert.created_date),
        resolved_at=to_datetime(alert.resolveddate) if resolved else None,
        raw={k: v for k, v in dict(raw).items() if isinstance(k, str)},
    )
