"""Normalized, frozen records that every connector yields, whatever the vendor."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

FieldValue = str | int | float | bool | None


class DeviceType(StrEnum):
    """Normalized device categories; vendors' own type names stay in RemoteDevice.vendor_type."""

    WORKSTATION = "workstation"
    LAPTOP = "laptop"
    SERVER = "server"
    NETWORK_DEVICE = "network_device"
    PRINTER = "printer"
    MOBILE = "mobile"
    VIRTUAL_MACHINE = "virtual_machine"
    OTHER = "other"


class AlertState(StrEnum):
    """Whether an alert is still open in the RMM."""

    OPEN = "open"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class RemoteCustomer:
    """A customer (organization, client, site-as-customer) as the RMM knows it."""

    external_id: str
    name: str
    fields: Mapping[str, FieldValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RemoteSite:
    """A site (location) of a customer in the RMM."""

    external_id: str
    name: str
    customer_external_id: str | None = None
    fields: Mapping[str, FieldValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RemoteUser:
    """A person (contact, end user) in the RMM."""

    external_id: str
    name: str
    email: str | None = None
    customer_external_id: str | None = None
    site_external_id: str | None = None
    fields: Mapping[str, FieldValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RemoteDevice:
    """A device (agent, computer, network device) in the RMM.

    `fields` holds every vendor field flattened to dotted names (e.g. "udf.udf1", "antivirus.antivirusStatus")
    so that a field mapping can target any of them; `vendor_type` is the vendor's own type label.
    """

    external_id: str
    hostname: str
    site_external_id: str | None = None
    customer_external_id: str | None = None
    device_type: DeviceType = DeviceType.OTHER
    vendor_type: str = ""
    serial_number: str | None = None
    os_name: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    ip_addresses: tuple[str, ...] = ()
    mac_addresses: tuple[str, ...] = ()
    last_logged_in_user: str | None = None
    last_seen: datetime | None = None
    online: bool | None = None
    parent_external_id: str | None = None
    deleted: bool = False
    fields: Mapping[str, FieldValue] = field(default_factory=dict)
    #: Hash of the raw item's keys the sync reads (`connectors.rawcheck`); '' when the connector does not say.
    raw_digest: str = ""


@dataclass(frozen=True, slots=True)
class RemoteAlert:
    """An alert (condition) raised by the RMM on a device."""

    external_id: str
    device_external_id: str | None
    message: str
    severity: str = ""
    alert_type: str = ""
    state: AlertState = AlertState.OPEN
    raised_at: datetime | None = None
    resolved_at: datetime | None = None
    hostname: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AccountInfo:
    """What test_connection learned about the account the credentials belong to."""

    account_id: str
    display_name: str
    details: Mapping[str, FieldValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AvailableField:
    """A vendor field a field mapping can read, for the mapping screens."""

    path: str
    label: str
    example: FieldValue = None


def flatten(value: Any, prefix: str = "", out: dict[str, FieldValue] | None = None) -> dict[str, FieldValue]:
    """Flatten nested dicts to dotted keys; lists of scalars join with ', ', lists of dicts index by position."""
    result: dict[str, FieldValue] = {} if out is None else out
    _flatten_into(value, prefix, result)
    return result


def _is_scalar(value: Any) -> bool:
    kind = type(value)
    return value is None or kind is str or kind is int or kind is float or kind is bool


def _flatten_into(value: Any, prefix: str, result: dict[str, FieldValue]) -> None:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if _is_scalar(inner):  # fast path: most vendor fields are plain scalars
                result[name] = inner
            else:
                _flatten_into(inner, name, result)
    elif isinstance(value, list | tuple):
        if all(not isinstance(v, Mapping | list | tuple) for v in value):
            result[prefix] = ", ".join("" if v is None else str(v) for v in value)
        else:
            for index, inner in enumerate(value):
                _flatten_into(inner, f"{prefix}.{index}", result)
    elif value is None or isinstance(value, str | int | float | bool):
        result[prefix] = value
    else:
        result[prefix] = str(value)
