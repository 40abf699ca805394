"""Reading device values for the asset planner, and the small helpers it shares with its callers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from rmmbridge.connectors.records import RemoteDevice
from rmmbridge.sync.matching import normalise_value
from rmmbridge.sync.plan import LocalRef
from rmmbridge.sync.planner.core import DEVICE_ATTRIBUTES


def device_value(device: RemoteDevice, path: str) -> Any:
    """The value of a field path on a device: a normalized attribute or a flattened vendor field."""
    if path in DEVICE_ATTRIBUTES:
        return _plain(getattr(device, path))
    return _plain(device.fields.get(path[7:] if path.startswith("fields.") else path))


def _plain(value: Any) -> Any:
    if value is None or type(value) is str:
        return value
    if isinstance(value, tuple):
        return ", ".join(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


def type_label(key: str) -> str:
    """'network_device' → 'Network device'."""
    text = key.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def field_label(key: str, labels: dict[str, str]) -> str:
    return {"name": "name", "asset_type": "asset type", "site": "site", "end_user": "user"}.get(
        key, labels.get(key, key))


def first_item(value: Any) -> str:
    """The first item of a (possibly comma-separated or listed) value, as text ('' when empty)."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return str(value[0]).strip() if value else ""
    return str(value).split(",")[0].strip()


def device_macs(device: RemoteDevice) -> list[str]:
    return [normalise_value("mac_addresses", m) for m in device.mac_addresses]


@dataclass(slots=True)
class ChangedDevice:
    """A device whose record changed (or is new): planned once its linked asset is read."""

    device: RemoteDevice
    type_id: int
    type_reason: str
    fingerprint: str
    ref: LocalRef | None
