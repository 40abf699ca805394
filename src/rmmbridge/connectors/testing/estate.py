"""Deterministic, lazily generated estates for emulators: customers, sites, devices and alerts from a seed."""

from __future__ import annotations

import functools
import hashlib
import itertools
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

CUSTOMER_NAMES = (
    "Acme Dental Group", "Brightwater Logistics", "Cedar Ridge Law", "Dunmore Engineering", "Evergreen Veterinary",
    "Foxglove Architects", "Granite Peak Accounting", "Harbourside Hotels", "Ironbridge Manufacturing",
    "Juniper Health Clinic", "Kestrel Insurance", "Lakeside Schools Trust", "Meridian Property", "Northwind Traders",
    "Oakfield Opticians", "Pinecrest Pharmacy", "Quayside Marine", "Redwood Recruitment", "Silverline Transport",
    "Thornbury Estates", "Upland Farms Co-op", "Valley Credit Union", "Westgate Surveyors", "Yardley Print Works",
    "Zenith Media",
)
SITE_SUFFIXES = ("Head Office", "Warehouse", "Branch North", "Branch South", "Clinic", "Depot", "Studio")
CITY_NAMES = ("Leeds", "Bristol", "Denver", "Austin", "Dublin", "Manchester", "Perth", "Toronto", "Utrecht", "Lyon")
FIRST_NAMES = ("alice", "bob", "carmen", "dev", "erin", "farid", "grace", "hiro", "ines", "jonas", "kate", "liam")
LAST_NAMES = ("smith", "patel", "garcia", "obrien", "nguyen", "muller", "rossi", "kowalski", "jones", "tanaka")

#: (kind, weight) of generated devices; kinds are records.DeviceType values.
DEVICE_MIX: tuple[tuple[str, int], ...] = (
    ("workstation", 42), ("laptop", 25), ("server", 13), ("network_device", 8), ("printer", 7),
    ("virtual_machine", 5),
)
_KINDS = tuple(k for k, _ in DEVICE_MIX)
_CUM_WEIGHTS = tuple(itertools.accumulate(w for _, w in DEVICE_MIX))

OS_BY_KIND: dict[str, tuple[str, ...]] = {
    "workstation": ("Microsoft Windows 11 Pro", "Microsoft Windows 10 Pro", "Microsoft Windows 11 Enterprise",
                    "macOS Sonoma 14.5", "Ubuntu 22.04.4 LTS"),
    "laptop": ("Microsoft Windows 11 Pro", "Microsoft Windows 10 Pro", "macOS Sonoma 14.5", "macOS Ventura 13.6"),
    "server": ("Microsoft Windows Server 2022 Standard", "Microsoft Windows Server 2019 Standard",
               "Microsoft Windows Server 2016 Datacenter", "Ubuntu 22.04.4 LTS", "Red Hat Enterprise Linux 9.3"),
    "virtual_machine": ("Microsoft Windows Server 2022 Standard", "Ubuntu 24.04 LTS", "Debian GNU/Linux 12"),
    "network_device": ("",),
    "printer": ("",),
}
HARDWARE_BY_KIND: dict[str, tuple[tuple[str, str], ...]] = {
    "workstation": (("Dell Inc.", "OptiPlex 7010"), ("HP", "EliteDesk 800 G6"), ("Lenovo", "ThinkCentre M70q"),
                    ("Apple Inc.", "iMac21,1")),
    "laptop": (("Dell Inc.", "Latitude 5440"), ("HP", "EliteBook 840 G9"), ("Lenovo", "ThinkPad T14 Gen 3"),
               ("Apple Inc.", "MacBookPro18,3")),
    "server": (("Dell Inc.", "PowerEdge R650"), ("HPE", "ProLiant DL380 Gen10"), ("Lenovo", "ThinkSystem SR650")),
    "virtual_machine": (("VMware, Inc.", "VMware Virtual Platform"), ("Microsoft Corporation", "Virtual Machine")),
    "network_device": (("Cisco", "Catalyst 9200L"), ("Ubiquiti", "UniFi Switch 24"), ("Fortinet", "FortiGate 60F")),
    "printer": (("HP", "LaserJet Pro M404dn"), ("Brother", "MFC-L8900CDW"), ("Kyocera", "ECOSYS M2540dn")),
}
HOST_PREFIX = {"workstation": "WS", "laptop": "LT", "server": "SRV", "virtual_machine": "VM", "network_device": "NET",
               "printer": "PRN"}


@dataclass
class EmulatedCustomer:
    """A customer (organization; a site for vendors whose sites are the customers)."""

    id: str
    index: int
    name: str
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class EmulatedSite:
    """A site (location) of a customer."""

    id: str
    index: int
    name: str
    customer_id: str
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class EmulatedDevice:
    """A device in vendor-neutral form; each vendor renders it into its own JSON."""

    id: str
    index: int
    hostname: str
    site_id: str
    customer_id: str
    kind: str
    os_name: str
    serial_number: str
    manufacturer: str
    model: str
    ip_address: str
    external_ip: str
    mac_address: str
    last_user: str
    last_seen: datetime
    created_at: datetime
    online: bool
    deleted: bool = False
    parent_id: str | None = None
    udf: dict[str, str | None] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class EmulatedAlert:
    """An alert on a device; `alert_type` is the vendor's condition name, `context` its details."""

    id: str
    device_id: str
    message: str
    priority: str
    alert_type: str
    raised_at: datetime
    resolved: bool = False
    resolved_at: datetime | None = None
    resolved_by: str = ""
    context: dict[str, Any] = field(default_factory=dict)


@functools.lru_cache(maxsize=256)
def _uuid_parts(seed: int, kind: str) -> tuple[str, int]:
    digest = hashlib.sha256(f"{seed}:{kind}".encode()).digest()
    head = uuid.UUID(bytes=digest[:16], version=4).hex[:20]
    mask = int.from_bytes(digest[16:22], "big")
    return head, mask


def stable_uuid(seed: int, kind: str, index: int) -> str:
    """A UUID that is the same for (seed, kind, index); its last group encodes the index (masked)."""
    head, mask = _uuid_parts(seed, kind)
    return str(uuid.UUID(hex=f"{head}{(index ^ mask) & 0xFFFFFFFFFFFF:012x}"))


def index_from_uuid(value: str, seed: int, kind: str) -> int | None:
    """The index stable_uuid(seed, kind, index) encodes, or None when `value` is not one of them."""
    head, mask = _uuid_parts(seed, kind)
    try:
        text = uuid.UUID(value).hex
    except (ValueError, AttributeError, TypeError):
        return None
    if not text.startswith(head):
        return None
    return int(text[20:], 16) ^ mask


def rng_for(seed: int, kind: str, index: int) -> random.Random:
    """A private random generator for one generated thing, so any item can be generated on its own."""
    return random.Random(f"{seed}:{kind}:{index}")


def customer_name(seed: int, index: int) -> str:
    names = list(CUSTOMER_NAMES)
    random.Random(seed).shuffle(names)
    base = names[index % len(names)]
    return base if index < len(names) else f"{base} {CITY_NAMES[(index // len(names)) % len(CITY_NAMES)]} {index}"


def site_name(seed: int, customer: str, site_index_in_customer: int) -> str:
    if site_index_in_customer == 0:
        return f"{customer} – {SITE_SUFFIXES[0]}"
    rng = rng_for(seed, "site", site_index_in_customer)
    return f"{customer} – {SITE_SUFFIXES[site_index_in_customer % len(SITE_SUFFIXES)]} {rng.choice(CITY_NAMES)}"


def abbreviation(name: str) -> str:
    letters = "".join(word[0] for word in name.split() if word[:1].isalpha()).upper()
    return (letters or "DEV")[:4]


@dataclass(frozen=True, slots=True)
class DeviceTraits:
    """The randomly drawn parts of a generated device (everything but ids and site)."""

    kind: str
    os_name: str
    manufacturer: str
    model: str
    serial_number: str
    ip_last_octet: int
    mac_address: str
    last_user: str
    seen_minutes_ago: int
    created_days_ago: int
    deleted: bool


def draw_traits(seed: int, index: int) -> DeviceTraits:
    """Deterministic traits of device `index`: kind mix, OS, hardware, serial, last-seen spread, ~2 % deleted."""
    rng = rng_for(seed, "device", index)
    kind = rng.choices(_KINDS, cum_weights=_CUM_WEIGHTS)[0]
    manufacturer, model = rng.choice(HARDWARE_BY_KIND[kind])
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
    serial = "".join(rng.choice(alphabet) for _ in range(10 if manufacturer != "Dell Inc." else 7))
    roll = rng.random()
    if roll < 0.65:
        minutes = rng.randint(0, 9)  # online now
    elif roll < 0.85:
        minutes = rng.randint(10, 60 * 24 * 7)
    else:
        minutes = rng.randint(60 * 24 * 30, 60 * 24 * 200)  # stale
    user = "" if kind in ("network_device", "printer") else f"{rng.choice(FIRST_NAMES)}.{rng.choice(LAST_NAMES)}"
    mac = ":".join(f"{rng.randint(0, 255):02X}" for _ in range(6))
    return DeviceTraits(
        kind=kind,
        os_name=rng.choice(OS_BY_KIND[kind]),
        manufacturer=manufacturer,
        model=model,
        serial_number=serial,
        ip_last_octet=10 + index % 240,
        mac_address=mac,
        last_user=user,
        seen_minutes_ago=minutes,
        created_days_ago=rng.randint(30, 1500),
        deleted=rng.random() < 0.02,
    )


def device_hostname(customer: str, kind: str, index: int) -> str:
    return f"{abbreviation(customer)}-{HOST_PREFIX.get(kind, 'DEV')}-{index:04d}"


def minutes_before(now: datetime, minutes: int) -> datetime:
    return now - timedelta(minutes=minutes)
