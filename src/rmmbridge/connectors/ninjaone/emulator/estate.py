"""Deterministic NinjaOne estate for the emulator: organizations → locations, devices, end users, alerts.

Everything derives from a seed, so two emulators with the same seed serve byte-identical payloads (apart from
timestamps, which are offsets from the moment the estate was built). Payloads use the spec's field names and types.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from typing import Any

ORG_PREFIXES = (
    "Acme",
    "Northwind",
    "Bluebird",
    "Contoso",
    "Fabrikam",
    "Harbor",
    "Juniper",
    "Keystone",
    "Lakeside",
    "Maple",
    "Oakridge",
    "Pinecrest",
    "Redwood",
    "Silverline",
    "Summit",
    "Tidewater",
    "Vantage",
    "Willow",
    "Granite",
    "Evergreen",
)
ORG_SUFFIXES = (
    "Dental",
    "Logistics",
    "Law Group",
    "Accounting",
    "Engineering",
    "Medical Centre",
    "Architects",
    "Foods",
    "Insurance",
    "Realty",
    "Manufacturing",
    "Veterinary",
    "Consulting",
    "Schools",
    "Hotels",
)
CITIES = ("Leeds", "Bristol", "Austin", "Denver", "Dublin", "Perth", "Toronto", "Lyon", "Utrecht", "Malmo")
STREETS = ("High Street", "Market Road", "Station Lane", "Church Way", "Harbour Drive", "Mill Road")
FIRST_NAMES = ("Alice", "Ben", "Chloe", "Dev", "Ella", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Kira", "Liam")
LAST_NAMES = ("Archer", "Byrne", "Chen", "Dubois", "Evans", "Fischer", "Garcia", "Hughes", "Ito", "Jensen")

WINDOWS_VERSIONS = (
    ("Windows 11 Professional Edition", "10.0.22631", "23H2"),
    ("Windows 11 Enterprise Edition", "10.0.22631", "23H2"),
    ("Windows 10 Professional Edition", "10.0.19045", "22H2"),
)
SERVER_VERSIONS = (
    ("Windows Server 2022 Standard Edition", "10.0.20348", "21H2"),
    ("Windows Server 2019 Standard Edition", "10.0.17763", "1809"),
    ("Windows Server 2016 Datacenter Edition", "10.0.14393", "1607"),
)
LINUX_VERSIONS = (("Ubuntu 22.04.4 LTS", "22.04", ""), ("Debian GNU/Linux 12 (bookworm)", "12", ""))
MAC_VERSIONS = (("macOS Sonoma", "14.5", ""), ("macOS Ventura", "13.6.7", ""))
DESKTOP_MODELS = (("Dell Inc.", "OptiPlex 7010"), ("HP", "EliteDesk 800 G6"), ("LENOVO", "ThinkCentre M70q"))
LAPTOP_MODELS = (("Dell Inc.", "Latitude 5440"), ("HP", "EliteBook 840 G9"), ("LENOVO", "ThinkPad T14 Gen 4"))
SERVER_MODELS = (("Dell Inc.", "PowerEdge R650"), ("HPE", "ProLiant DL360 Gen10"), ("LENOVO", "ThinkSystem SR630"))
NETWORK_CLASSES = (
    ("NMS_SWITCH", "Switch", "Cisco", "Catalyst 9200"),
    ("NMS_ROUTER", "Router", "MikroTik", "RB4011"),
    ("NMS_FIREWALL", "Firewall", "Fortinet", "FortiGate 60F"),
    ("NMS_WAP", "AP", "Ubiquiti", "U6-Pro"),
)
PRINTERS = (("NMS_PRINTER", "HP", "LaserJet Pro M404"), ("NMS_PRINTER", "Brother", "MFC-L8900CDW"))

#: (kind, weight) mix of top-level devices; each VM host adds 2–3 child VMs (parentDeviceId).
DEVICE_MIX: tuple[tuple[str, int], ...] = (
    ("desktop", 30),
    ("laptop", 22),
    ("mac", 6),
    ("windows_server", 10),
    ("linux_server", 5),
    ("network", 10),
    ("printer", 7),
    ("vm_host", 4),
)
ALERT_SOURCES: tuple[tuple[str, str, str, str], ...] = (
    ("CONDITION_AGENT_DISK_FREE_SPACE", "Disk free space", "MAJOR", "Disk C: free space is below 10%"),
    ("CONDITION_AGENT_CPU", "CPU utilisation", "MODERATE", "CPU utilisation above 90% for 15 minutes"),
    ("AGENT_OFFLINE", "Device offline", "CRITICAL", "Device has been offline for more than 30 minutes"),
    ("CONDITION_WINDOWS_SERVICE_STATE_CHANGED", "Service stopped", "MAJOR", "Service 'Spooler' is stopped"),
    ("CONDITION_AGENT_MEMORY", "Memory utilisation", "MINOR", "Memory utilisation above 95% for 10 minutes"),
)
SEVERITY_PRIORITY = {"CRITICAL": "HIGH", "MAJOR": "HIGH", "MODERATE": "MEDIUM", "MINOR": "LOW", "NONE": "NONE"}


@dataclass
class Estate:
    """The emulated NinjaOne account: plain dicts in API shape, keyed by id."""

    organizations: dict[int, dict[str, Any]] = field(default_factory=dict)
    locations: dict[int, dict[str, Any]] = field(default_factory=dict)
    devices: dict[int, dict[str, Any]] = field(default_factory=dict)
    users: dict[int, dict[str, Any]] = field(default_factory=dict)


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _mac(rng: random.Random) -> str:
    return ":".join(f"{rng.randrange(256):02X}" for _ in range(6))


def _serial(rng: random.Random, prefix: str) -> str:
    return prefix + "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(8))


def build_estate(seed: int, customers: int, devices: int, now: float) -> Estate:
    """Build `customers` organizations with 1–3 locations each, `devices` devices and end users per organization."""
    rng = random.Random(seed)
    estate = Estate()
    location_id = 0
    for org_id in range(1, customers + 1):
        prefix = ORG_PREFIXES[(org_id - 1) % len(ORG_PREFIXES)]
        suffix = ORG_SUFFIXES[rng.randrange(len(ORG_SUFFIXES))]
        name = f"{prefix} {suffix}" if org_id <= len(ORG_PREFIXES) else f"{prefix} {suffix} {org_id}"
        estate.organizations[org_id] = {
            "id": org_id,
            "name": name,
            "description": f"Managed customer since {2015 + rng.randrange(10)}",
            "nodeApprovalMode": "AUTOMATIC",
            "userData": {},
        }
        for index in range(1 + rng.randrange(3)):
            location_id += 1
            city = CITIES[rng.randrange(len(CITIES))]
            label = "Head Office" if index == 0 else f"{city} Branch"
            estate.locations[location_id] = {
                "id": location_id,
                "name": label,
                "address": f"{1 + rng.randrange(200)} {STREETS[rng.randrange(len(STREETS))]}, {city}",
                "description": "",
                "userData": {},
                "organizationId": org_id,
            }
        for _ in range(2 + rng.randrange(2)):
            user_id = len(estate.users) + 1
            first, last = FIRST_NAMES[rng.randrange(len(FIRST_NAMES))], LAST_NAMES[rng.randrange(len(LAST_NAMES))]
            domain = name.lower().replace(" ", "").replace("'", "")[:20] + ".example"
            estate.users[user_id] = {
                "id": user_id,
                "uid": _uuid(rng),
                "firstName": first,
                "lastName": last,
                "email": f"{first.lower()}.{last.lower()}{user_id}@{domain}",
                "phone": f"+44 20 7946 {rng.randrange(10000):04d}",
                "enabled": True,
                "administrator": False,
                "permitAllClients": False,
                "notifyAllClients": False,
                "mustChangePw": False,
                "mfaConfigured": rng.random() < 0.5,
                "userType": "END_USER",
                "invitationStatus": "REGISTERED",
                "organizationId": org_id,
                "deviceIds": [],
            }
    for tech_index, (first, last) in enumerate((("Sam", "Taylor"), ("Riley", "Morgan")), start=1):
        user_id = len(estate.users) + 1
        estate.users[user_id] = {
            "id": user_id,
            "uid": _uuid(rng),
            "firstName": first,
            "lastName": last,
            "email": f"tech{tech_index}@msp.example",
            "enabled": True,
            "administrator": tech_index == 1,
            "userType": "TECHNICIAN",
            "invitationStatus": "REGISTERED",
        }
    locations_by_org: dict[int, list[int]] = {}
    for loc in estate.locations.values():
        locations_by_org.setdefault(loc["organizationId"], []).append(loc["id"])
    kinds = [k for k, _ in DEVICE_MIX]
    weights = [w for _, w in DEVICE_MIX]
    next_id = 1
    while next_id <= devices and customers > 0:
        org_id = 1 + rng.randrange(customers)
        loc_id = rng.choice(locations_by_org[org_id])
        kind = rng.choices(kinds, weights)[0]
        host = make_device(rng, next_id, kind, org_id, loc_id, now)
        estate.devices[next_id] = host
        next_id += 1
        if kind == "vm_host":
            for _ in range(2 + rng.randrange(2)):
                if next_id > devices:
                    break
                estate.devices[next_id] = make_device(rng, next_id, "vm_guest", org_id, loc_id, now, parent=host["id"])
                next_id += 1
    return estate


def _last_contact(rng: random.Random, now: float) -> tuple[float, bool]:
    """Last-seen spread: most within minutes, some hours, days or weeks ago; offline after 15 minutes."""
    roll = rng.random()
    if roll < 0.7:
        ago = rng.uniform(5, 600)
    elif roll < 0.85:
        ago = rng.uniform(3600, 86400)
    elif roll < 0.95:
        ago = rng.uniform(86400, 14 * 86400)
    else:
        ago = rng.uniform(30 * 86400, 120 * 86400)
    return round(now - ago, 3), ago > 900


def make_device(
    rng: random.Random, device_id: int, kind: str, org_id: int, loc_id: int, now: float, parent: int | None = None
) -> dict[str, Any]:
    """One device dict in the `GET /v2/devices-detailed` shape for the given kind."""
    last_contact, offline = _last_contact(rng, now)
    created = round(now - rng.uniform(90, 1500) * 86400, 3)
    ip = f"10.{org_id % 250}.{loc_id % 250}.{10 + device_id % 240}"
    device: dict[str, Any] = {
        "id": device_id,
        "uid": _uuid(rng),
        "organizationId": org_id,
        "locationId": loc_id,
        "nodeRoleId": 0,
        "rolePolicyId": 0,
        "approvalStatus": "DECOMMISSIONED" if device_id % 20 == 7 else "APPROVED",
        "offline": offline,
        "created": created,
        "lastContact": last_contact,
        "lastUpdate": round(last_contact + rng.uniform(0, 30), 3),
        "ipAddresses": [ip],
        "macAddresses": [_mac(rng)],
        "publicIP": f"203.0.113.{1 + org_id % 250}",
        "tags": [],
        "userData": {},
    }
    if parent is not None:
        device["parentDeviceId"] = parent
    if kind in ("desktop", "laptop", "mac", "windows_server", "linux_server"):
        _agent_fields(rng, device, kind, device_id)
    elif kind == "network":
        node_class, label, _vendor, _model = NETWORK_CLASSES[rng.randrange(len(NETWORK_CLASSES))]
        name = f"{label.upper()}-{device_id:04d}"
        device.update(nodeClass=node_class, nodeRoleId=100, displayName=name, systemName=name, dnsName=name.lower())
    elif kind == "printer":
        node_class, _vendor, _model = PRINTERS[rng.randrange(len(PRINTERS))]
        name = f"PRN-{device_id:04d}"
        device.update(nodeClass=node_class, nodeRoleId=101, displayName=name, systemName=name, dnsName=name.lower())
    elif kind == "vm_host":
        vendor, model = SERVER_MODELS[rng.randrange(len(SERVER_MODELS))]
        name = f"ESX-{device_id:04d}"
        device.update(
            nodeClass="VMWARE_VM_HOST",
            displayName=name,
            systemName=name,
            dnsName=f"{name.lower()}.corp.local",
            vendor=vendor,
            model=model,
            serviceTag=_serial(rng, "ST"),
            name=name,
            cpuModel="Intel(R) Xeon(R) Silver 4314 CPU @ 2.40GHz",
            cpuCores=32,
            cpuPackages=2,
            cpuThreads=64,
            memorySize=512 * 1024**3,
            releaseName="VMware ESXi 8.0.2",
            version="8.0.2",
            buildNumber="22380479",
            lastBootTime=round(now - rng.uniform(1, 90) * 86400, 3),
        )
    elif kind == "vm_guest":
        name = f"VM-{device_id:04d}"
        guest_os = SERVER_VERSIONS[rng.randrange(len(SERVER_VERSIONS))][0]
        device.update(
            nodeClass="VMWARE_VM_GUEST",
            displayName=name,
            systemName=name,
            dnsName=f"{name.lower()}.corp.local",
            fullName=name,
            guestOSFullName=f"Microsoft {guest_os}",
            guestOSFamily="windowsGuest",
            powerState="poweredOff" if offline else "poweredOn",
            toolStatus="toolsOk",
            cpuCores=4,
            memorySize=16 * 1024**3,
            snapshotCount=rng.randrange(3),
        )
    return device


AGENT_KINDS: dict[str, tuple[str, str, tuple[tuple[str, str, str], ...], tuple[tuple[str, str], ...], str]] = {
    "desktop": ("WINDOWS_WORKSTATION", "WS", WINDOWS_VERSIONS, DESKTOP_MODELS, "DESKTOP"),
    "laptop": ("WINDOWS_WORKSTATION", "LT", WINDOWS_VERSIONS, LAPTOP_MODELS, "LAPTOP"),
    "mac": ("MAC", "MAC", MAC_VERSIONS, (("Apple Inc.", "MacBookPro18,3"),), "LAPTOP"),
    "windows_server": ("WINDOWS_SERVER", "SRV", SERVER_VERSIONS, SERVER_MODELS, "UNKNOWN"),
    "linux_server": ("LINUX_SERVER", "LNX", LINUX_VERSIONS, SERVER_MODELS, "UNKNOWN"),
}


def _agent_fields(rng: random.Random, device: dict[str, Any], kind: str, device_id: int) -> None:
    node_class, prefix, versions, models, chassis = AGENT_KINDS[kind]
    os_name, build, release = versions[rng.randrange(len(versions))]
    manufacturer, model = models[rng.randrange(len(models))]
    name = f"{prefix}-{device_id:04d}"
    serial = _serial(rng, "C0" if manufacturer.startswith("Apple") else "")
    user = (
        f"{FIRST_NAMES[rng.randrange(len(FIRST_NAMES))].lower()}.{LAST_NAMES[rng.randrange(len(LAST_NAMES))].lower()}"
    )
    device.update(
        nodeClass=node_class,
        displayName=name,
        systemName=name,
        dnsName=f"{name.lower()}.corp.local",
        netbiosName=name,
        os={
            "manufacturer": "Apple Inc."
            if node_class == "MAC"
            else ("Microsoft Corporation" if "Windows" in os_name else ""),
            "name": os_name,
            "architecture": "64-bit",
            "lastBootTime": round(device["lastContact"] - rng.uniform(3600, 20 * 86400), 3),
            "buildNumber": build,
            "releaseId": release,
            "servicePackMajorVersion": 0,
            "servicePackMinorVersion": 0,
            "locale": "en-GB",
            "language": "English",
            "needsReboot": rng.random() < 0.2,
        },
        system={
            "name": name,
            "manufacturer": manufacturer,
            "model": model,
            "biosSerialNumber": serial,
            "serialNumber": serial,
            "domain": "corp.local",
            "domainRole": "MEMBER_SERVER" if "SERVER" in node_class else "MEMBER_WORKSTATION",
            "numberOfProcessors": 1,
            "totalPhysicalMemory": (16 if "SERVER" not in node_class else 128) * 1024**3,
            "virtualMachine": False,
            "chassisType": chassis,
        },
        memory={"capacity": (16 if "SERVER" not in node_class else 128) * 1024**3},
        processors=[
            {"architecture": "x64", "maxClockSpeed": 3200000000, "name": "Intel(R) Core(TM) i7", "numCores": 8}
        ],
        lastLoggedInUser=f"CORP\\{user}" if "WINDOWS" in node_class else user,
    )


def make_alert(rng: random.Random, device: dict[str, Any], now: float, index: int) -> dict[str, Any]:
    """One active alert (spec `Alert`) on a device."""
    source_type, source_name, severity, message = ALERT_SOURCES[index % len(ALERT_SOURCES)]
    created = round(now - rng.uniform(60, 6 * 3600), 3)
    return {
        "uid": _uuid(rng),
        "deviceId": device["id"],
        "message": message,
        "createTime": created,
        "updateTime": created,
        "sourceType": source_type,
        "sourceConfigUid": _uuid(rng),
        "sourceName": source_name,
        "subject": f"{source_name} on {device.get('systemName') or device.get('displayName')}",
        "userId": 0,
        "psaTicketId": None,
        "ticketTemplateId": 0,
        "data": {"message": {"code": source_type, "params": {"device": device.get("systemName")}}},
        "priority": SEVERITY_PRIORITY[severity],
        "severity": severity,
        "conditionName": source_name,
        "conditionHealthStatus": "UNHEALTHY" if severity in ("CRITICAL", "MAJOR") else "NEEDS_ATTENTION",
    }
