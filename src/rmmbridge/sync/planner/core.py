"""Planner core: what one run fetched, temporary ids, where records go, and the record fingerprint."""

from __future__ import annotations

import hashlib
import json
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from rmmbridge.connectors.rawcheck import KnownDevice, KnownLinks
from rmmbridge.connectors.records import DeviceType, RemoteCustomer, RemoteDevice, RemoteSite, RemoteUser
from rmmbridge.sync.matching import STRONG_KEYS
from rmmbridge.sync.plan import SyncSettings

#: The normalized device types (keys of type mappings without a type field).
DEVICE_TYPE_KEYS = frozenset(t.value for t in DeviceType)
DEVICE_ATTRIBUTES = (
    "hostname", "serial_number", "os_name", "manufacturer", "model", "ip_addresses", "mac_addresses",
    "last_logged_in_user", "last_seen", "online", "device_type", "vendor_type", "site_external_id",
    "customer_external_id",
)
DEFAULT_GROUP_NAME = "RMM devices"
UNCHANGED_REASON = "unchanged in the RMM since the last import"


def raw_sources(cfg: SyncSettings) -> list[str]:
    """Every device attribute and vendor field path the asset planner reads (for the connector's RawCheck)."""
    return list(dict.fromkeys([
        "hostname", "site_external_id", "customer_external_id", "parent_external_id", "device_type",
        cfg.user_source or "last_logged_in_user", *([cfg.type_field] if cfg.type_field else []),
        *(fm.source for fm in cfg.field_maps), *(r.field for r in cfg.match_rules), *STRONG_KEYS,
    ]))


@dataclass
class RemoteData:
    """Everything fetched for one run; `complete` says which entities were fetched fully without error."""

    customers: list[RemoteCustomer] = field(default_factory=list)
    sites: list[RemoteSite] = field(default_factory=list)
    users: list[RemoteUser] = field(default_factory=list)
    #: Read once (may be a draining iterator); a KnownDevice is a device the connector found unchanged (RawCheck).
    devices: Iterable[RemoteDevice | KnownDevice] = field(default_factory=list)
    complete: set[str] = field(default_factory=set)
    #: The connector's RawCheck.arm: called with the settings' key and the links' fingerprints once planned.
    arm: Callable[[str, KnownLinks], None] | None = None


class SeenIds:
    """The external ids a fetch returned, kept as 64-bit hashes (8 bytes each): a resync of a large estate keeps
    one for the whole fetch. An id whose hash equals a seen one's (a chance of about n / 2**64) counts as seen: its
    device is not taken as missing for one run, the safe side."""

    def __init__(self) -> None:
        self._hashes: array[int] = array("q")
        self._sorted = True

    def add(self, external_id: str) -> None:
        self._hashes.append(hash(external_id))
        self._sorted = False

    def __contains__(self, external_id: object) -> bool:
        if not self._sorted:
            self._hashes = array("q", sorted(self._hashes))
            self._sorted = True
        key = hash(external_id)
        position = bisect_left(self._hashes, key)
        return position < len(self._hashes) and self._hashes[position] == key

    def __len__(self) -> int:
        return len(self._hashes)


class TempIds:
    """Hands out negative temporary ids for objects the plan creates; apply maps them to real ids."""

    def __init__(self) -> None:
        self._next = -1

    def new(self) -> int:
        value = self._next
        self._next -= 1
        return value


@dataclass
class Placement:
    """Where records of a remote customer/site go: local (or pending) customer and site, and why."""

    customer_id: int
    site_id: int
    via: str


@dataclass
class Resolution:
    """Outcome of the customers/sites stage, used to place users and devices."""

    by_site: dict[str, Placement] = field(default_factory=dict)
    by_customer: dict[str, Placement] = field(default_factory=dict)
    unresolved: dict[str, str] = field(default_factory=dict)  # remote id → remote name, left for review
    site_names: dict[int, str] = field(default_factory=dict)

    def place(self, site_external_id: str | None, customer_external_id: str | None) -> Placement | None:
        if site_external_id and site_external_id in self.by_site:
            return self.by_site[site_external_id]
        if customer_external_id and customer_external_id in self.by_customer:
            return self.by_customer[customer_external_id]
        return None


def fingerprint(payload: Any) -> str:
    """A stable hash of the wanted state of one record."""
    text = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:40]
