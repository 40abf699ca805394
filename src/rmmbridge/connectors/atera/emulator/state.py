"""AteraEmulatorState: the shared emulator estate rendered as Atera customers, contacts, agents, SNMP devices, alerts.

Ids are integers as in Atera (CustomerID, EndUserID, AgentID count from 1; AlertIDs from 70001). Printers and
network devices have no agent: they are SNMP devices (`DeviceID` = the same number, external id `snmp-<n>`) watched
by an agent of the same customer (`MonitoringAgentID`). Atera lists agents until they are deleted, so generated
devices are never flagged deleted; a device removed (or PATCHed `deleted: true`) through the control API vanishes
from every list, as a deleted agent does.

Long because: it is the vendor's data model rendered as one table per Atera list (data shapes, not logic); splitting
it would scatter one vendor's JSON shapes over files.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from rmmbridge.connectors.testing.estate import (
    CITY_NAMES,
    FIRST_NAMES,
    LAST_NAMES,
    EmulatedAlert,
    EmulatedDevice,
    draw_traits,
    rng_for,
    stable_uuid,
)
from rmmbridge.connectors.testing.numbered import NumberedIds

SNMP_KINDS = frozenset({"printer", "network_device"})
#: Shared-estate alert types → (AlertCategoryID, Source, Code).
ALERT_KINDS: dict[str, tuple[str, str, int]] = {
    "online_offline_status": ("Availability", "Machine status", 4),
    "perf_resource_usage": ("Performance", "CPU usage", 31),
    "eventlog": ("General", "Event log", 12),
    "antivirus": ("General", "Antivirus", 71),
    "patch": ("General", "Patch management", 55),
    "comp_script": ("General", "Script", 90),
}
#: Shared-estate priority → Atera AlertSeverity (Information | Warning | Critical).
SEVERITIES: dict[str, str] = {
    "critical": "Critical",
    "high": "Critical",
    "moderate": "Warning",
    "low": "Information",
    "information": "Information",
    "warning": "Warning",
}
SNMP_TYPES: dict[str, str] = {"Cisco": "Switch", "Ubiquiti": "Switch", "Fortinet": "Firewall"}
PROCESSORS: dict[str, tuple[str, ...]] = {
    "server": ("Intel(R) Xeon(R) Silver 4314 CPU @ 2.40GHz", "Intel(R) Xeon(R) Gold 5318Y CPU @ 2.10GHz",
               "AMD EPYC 7313P 16-Core Processor"),
    "workstation": ("Intel(R) Core(TM) i5-12500 CPU @ 3.00GHz", "Intel(R) Core(TM) i7-12700 CPU @ 2.10GHz"),
    "laptop": ("Intel(R) Core(TM) i7-1265U", "Intel(R) Core(TM) i5-1345U", "AMD Ryzen 7 PRO 5850U"),
    "apple": ("Apple M2", "Apple M1 Pro"),
}
FIRST_ALERT_ID = 70000
#: Every GUID_ONLY_EVERY-th alert (by AlertID) of an agent carries no AgentId, only DeviceGuid and DeviceName.
GUID_ONLY_EVERY = 3


def _stamp(value: datetime | None) -> str | None:
    """Atera date-time: ISO 8601 in UTC with `Z`, as the spec's `date-time` format and the documented example show."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


class AteraEmulatorState(NumberedIds):
    """Emulated Atera account: one API key (plus a JWT token), `page`/`itemsInPage` paging with `nextLink`."""

    slug: ClassVar[str] = "atera"
    url_key: ClassVar[str] = "api_url"
    sites_per_customer: ClassVar[int] = 1
    default_page_size: ClassVar[int] = 20
    max_page_size: ClassVar[int] = 50
    rate_limit_per_minute: ClassVar[int | None] = None
    device_id_prefixes: ClassVar[tuple[str, ...]] = ("snmp-",)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        #: A JWT-style token (the newer Atera key format) the emulator also accepts, as `Authorization: Bearer`.
        self.jwt = self._make_jwt()
        self.contacts = self._make_contacts()
        self.account_id = f"AT{100000 + self.seed:06d}"
        #: Scheme and host put in `nextLink`/`prevLink` (None: the request's own). The real API always writes its
        #: public host, e.g. "https://app.atera.com", whatever address the request came through.
        self.link_base: str | None = None
        #: False: answer pages with `nextLink: null` (the field is nullable) so clients must use `totalPages`.
        self.next_links = True
        self._layout: tuple[list[int], list[int]] | None = None

    # --- credentials ------------------------------------------------------------------------------------------
    def default_credentials(self) -> dict[str, str]:
        return {"api_key": hashlib.sha256(f"atera-key:{self.seed}".encode()).hexdigest()[:32]}

    def _make_jwt(self) -> str:
        part = hashlib.sha256(f"atera-jwt:{self.seed}".encode()).hexdigest()
        return f"eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ7{part}fQ.{part[:43]}"

    def key_valid(self, api_key: str | None, authorization: str | None) -> bool:
        if api_key is not None and api_key == self.credentials.get("api_key"):
            return True
        scheme, _, token = (authorization or "").partition(" ")
        return scheme.lower() == "bearer" and token.strip() == self.jwt

    def error_body(self, status: int, message: str, path: str) -> Any:
        """ASP.NET Core ProblemDetails, the error schema the spec declares."""
        kind = "rfc6585#section-4"  # 429 is not in RFC 9110
        if status != 429:
            kind = f"rfc9110#section-15.{5 if status < 500 else 6}.{status % 100 + 1}"
        return {
            "type": f"https://tools.ietf.org/html/{kind}",
            "title": message,
            "status": status,
            "instance": path,
        }

    # --- ids ---------------------------------------------------------------------------------------------------
    def alert_id(self, number: int) -> str:
        return str(FIRST_ALERT_ID + number)

    # --- estate ------------------------------------------------------------------------------------------------
    def _generate_device(self, index: int) -> EmulatedDevice:
        device = super()._generate_device(index)
        device.deleted = False  # Atera lists an agent until it is deleted; then it is gone
        device.parent_id = None
        apple_os = device.os_name.startswith("macOS")
        if device.kind in ("workstation", "laptop") and (apple_os or device.manufacturer.startswith("Apple")):
            rng = rng_for(self.seed, "atera-mac", index)
            device.manufacturer = "Apple Inc."
            device.model = "MacBookPro18,3" if device.kind == "laptop" else "iMac21,1"
            device.os_name = device.os_name if apple_os else "macOS Sonoma 14.5"
            device.serial_number = "C02" + "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(9))
        return device

    def is_snmp(self, device: EmulatedDevice) -> bool:
        return device.kind in SNMP_KINDS

    def listed(self, device: EmulatedDevice) -> bool:
        return not device.deleted

    def layout(self) -> tuple[list[int], list[int]]:
        """(agent indices, SNMP device indices) of every listed device, cached until the estate changes.

        Untouched generated devices are classified from their drawn traits alone, so 100,000 devices cost one
        cheap pass and each page renders only its own items.
        """
        with self.lock:
            if self._layout is not None:
                return self._layout
            removed = set(self._removed)
            overrides = dict(self._device_overrides)
            end = self._next_added
        agents: list[int] = []
        snmp: list[int] = []
        for index in range(end):
            if index in removed:
                continue
            override = overrides.get(index)
            if override is not None:
                if not self.listed(override):
                    continue
                kind = override.kind
            elif index < self.generated_devices:
                kind = draw_traits(self.seed, index).kind
            else:
                continue
            (snmp if kind in SNMP_KINDS else agents).append(index)
        with self.lock:
            self._layout = (agents, snmp)
        return agents, snmp

    def device_count(self) -> int:
        agents, snmp = self.layout()
        return len(agents) + len(snmp)

    def add_device(self, **fields: Any) -> EmulatedDevice:
        device = super().add_device(**fields)
        self._layout = None
        return device

    def update_device(self, device_id: str, **changes: Any) -> EmulatedDevice:
        device = super().update_device(device_id, **changes)
        self._layout = None
        return device

    def remove_device(self, device_id: str) -> None:
        super().remove_device(device_id)
        self._layout = None

    def monitoring_agent(self, device: EmulatedDevice) -> int:
        """AgentID of the agent that watches an SNMP device: the first agent of the same customer."""
        step = max(len(self.sites), 1)
        site_index = int(device.site_id) - 1
        for index in range(site_index, min(self.generated_devices, site_index + step * 50), step):
            if draw_traits(self.seed, index).kind not in SNMP_KINDS:
                return index + 1
        return 0

    def _make_contacts(self) -> list[dict[str, Any]]:
        contacts: list[dict[str, Any]] = []
        for customer in self.customers:
            domain = "".join(ch for ch in customer.name.lower() if ch.isalnum())[:24] + ".example"
            for nth in range(3):
                rng = rng_for(self.seed, "atera-contact", customer.index * 3 + nth)
                first, last = rng.choice(FIRST_NAMES).title(), rng.choice(LAST_NAMES).title()
                end_user_id = len(contacts) + 1
                created = self.now - timedelta(days=30 + rng.randrange(900))
                contacts.append({
                    "EndUserID": end_user_id,
                    "CustomerID": int(customer.id),
                    "CustomerName": customer.name,
                    "Firstname": first,
                    "Lastname": last,
                    "JobTitle": rng.choice(("Office Manager", "Accountant", "Director", "Receptionist", None)),
                    "Email": f"{first.lower()}.{last.lower()}@{domain}",
                    "Phone": f"+1 555 02{end_user_id % 100:02d}",
                    "MobilePhone": None,
                    "IsContactPerson": nth == 0,
                    "InIgnoreMode": False,
                    "CreatedOn": _stamp(created),
                    "LastModified": _stamp(created + timedelta(days=rng.randrange(30))),
                    "Archived": nth == 2 and customer.index % 2 == 1,
                    "DepartmentID": None,
                    "DepartmentName": None,
                    "DefaultAgentId": None,
                })
        return contacts

    # --- rendering in the API's JSON -----------------------------------------------------------------------------
    def account_json(self) -> dict[str, Any]:
        return {
            "AccountID": self.account_id,
            "Country": "United States",
            "CompanyName": "Emulated MSP",
            "CreatedOn": _stamp(self.now - timedelta(days=1200)),
            "State": "CO",
            "TimeZoneName": "UTC",
            "City": "Denver",
            "Address": "1 Example Way",
            "PostalCode": "80202",
            "Phone": "+1 555 0100",
            "IsITDepartment": False,
            "Plan": "Expert",
        }

    def customer_json(self, index: int) -> dict[str, Any]:
        customer = self.customers[index]
        rng = rng_for(self.seed, "atera-customer", index)
        created = self.now - timedelta(days=200 + rng.randrange(1500))
        domain = "".join(ch for ch in customer.name.lower() if ch.isalnum())[:24] + ".example"
        return {
            "CustomerID": int(customer.id),
            "CustomerName": customer.name,
            "CreatedOn": _stamp(created),
            "LastModified": _stamp(created + timedelta(days=rng.randrange(150))),
            "BusinessNumber": None,
            "Domain": domain,
            "Address": f"{1 + rng.randrange(250)} Market Street",
            "City": rng.choice(CITY_NAMES),
            "State": None,
            "Country": "United States",
            "Phone": f"+1 555 01{index % 100:02d}",
            "Fax": None,
            "Notes": None,
            "Logo": None,
            "Links": None,
            "Longitude": None,
            "Latitude": None,
            "ZipCodeStr": f"{10000 + rng.randrange(89999)}",
        }

    def _os_type(self, device: EmulatedDevice) -> str:
        override = device.extra.get("OSType")
        if isinstance(override, str) and override:
            return override
        if device.kind in ("server", "virtual_machine"):
            return "Domain Controller" if device.index % 11 == 0 and "Windows" in device.os_name else "Server"
        return "Work Station"

    def agent_json(self, device: EmulatedDevice) -> dict[str, Any]:
        """A device as `GET /api/v3/agents` returns it (AgentDto)."""
        customer = self.customer_by_id(device.customer_id)
        rng = rng_for(self.seed, "atera-agent", device.index)
        windows = "windows" in device.os_name.lower()
        cores = 2 ** rng.randint(1, 4)
        body: dict[str, Any] = {
            "MachineID": stable_uuid(self.seed, "atera-machine", device.index).replace("-", "")[:20],
            "AgentID": device.index + 1,
            "DeviceGuid": stable_uuid(self.seed, "atera-device-guid", device.index),
            "FolderID": None,
            "FolderName": None,
            "CustomerID": int(device.customer_id),
            "CustomerName": customer.name if customer else "",
            "AgentName": device.hostname,
            "SystemName": device.hostname,
            "MachineName": device.hostname,
            "DomainName": "CORP" if windows else "",
            "CurrentLoggedUsers": device.last_user if device.online else "",
            "ComputerDescription": "",
            "Monitored": True,
            "AgentVersion": "1.8.7.2",
            "Favorite": False,
            "ThresholdID": 1,
            "MonitoredAgentID": device.index + 1,
            "Created": _stamp(device.created_at),
            "Modified": _stamp(max(device.last_seen, device.created_at)),
            "Online": device.online,
            "LastSeen": _stamp(device.last_seen),
            "ReportedFromIP": device.external_ip,
            "AppViewUrl": f"https://app.atera.com/new/device/{device.index + 1}",
            "Motherboard": f"{device.manufacturer} {device.model}",
            "Processor": rng.choice(PROCESSORS["apple" if device.manufacturer.startswith("Apple") else
                                               "server" if device.kind in ("server", "virtual_machine") else
                                               device.kind if device.kind in PROCESSORS else "workstation"]),
            "Memory": (64 if device.kind == "server" else 16) * 1024,
            "Display": None,
            "Sound": None,
            "ProcessorCoresCount": cores,
            "SystemDrive": "C:" if windows else "/",
            "ProcessorClock": "2400",
            "Vendor": device.manufacturer,
            "VendorSerialNumber": device.serial_number,
            "VendorBrandModel": device.model,
            "ProductName": device.model,
            "BiosManufacturer": device.manufacturer,
            "BiosVersion": f"{rng.randint(1, 2)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}",
            "BiosReleaseDate": _stamp(device.created_at - timedelta(days=90)),
            "MacAddresses": [device.mac_address] if device.mac_address else [],
            "IpAddresses": [device.ip_address] if device.ip_address else [],
            "HardwareDisks": [{"Drive": "C:" if windows else "/", "Free": 120000, "Used": 136000, "Total": 256000}],
            "OS": device.os_name,
            "OSType": self._os_type(device),
            "WindowsSerialNumber": f"00330-{device.index % 100000:05d}-00000-AA{device.index % 1000:03d}"
            if windows else None,
            "Office": "Microsoft 365 Apps for business" if windows and device.kind != "server" else None,
            "OfficeSP": None,
            "OfficeOEM": False,
            "OfficeSerialNumber": None,
            "OSNum": 10.0 if windows else None,
            "LastRebootTime": _stamp(device.last_seen - timedelta(days=1 + device.index % 9)),
            "OSVersion": "10.0.22631" if windows else "",
            "OSBuild": "22631" if windows else "",
            "OfficeFullVersion": None,
            "LastLoginUser": device.last_user or None,
            "DeviceType": None,
        }
        if device.kind == "laptop":
            body["BatteryInfo"] = {"Id": 1, "Name": "Primary battery", "BatteryHealth": 0.87,
                                   "DesignedCapacity": 57000, "FullChargeCapacity": 49590, "CycleCount": 212}
        body.update({k: v for k, v in device.extra.items() if k[:1].isupper()})
        return body

    def snmp_json(self, device: EmulatedDevice) -> dict[str, Any]:
        """A printer or network device as `GET /api/v3/devices/snmpdevices` returns it (SnmpDeviceDto)."""
        customer = self.customer_by_id(device.customer_id)
        kind = "Printer" if device.kind == "printer" else SNMP_TYPES.get(device.manufacturer, "Router")
        return {
            "Name": device.hostname,
            "DeviceID": device.index + 1,
            "DeviceGuid": stable_uuid(self.seed, "atera-device-guid", device.index),
            "CustomerID": int(device.customer_id),
            "CustomerName": customer.name if customer else "",
            "FolderID": None,
            "Hostname": device.ip_address,
            "Online": device.online,
            "Port": "161",
            "Community": "public",
            "Type": kind,
            "Version": "V2",
            "SecurityLevel": "Undefined",
            "Authentication": None,
            "Privacy": None,
            "Monitored": True,
            "MonitoringAgentID": self.monitoring_agent(device),
            "Model": f"{device.manufacturer} {device.model}",
        }

    def device_json(self, device: EmulatedDevice) -> dict[str, Any]:
        return self.snmp_json(device) if self.is_snmp(device) else self.agent_json(device)

    def alert_json(self, alert: EmulatedAlert) -> dict[str, Any]:
        """An alert as `GET /api/v3/alerts` returns it (AlertDto)."""
        device = self.get_device(alert.device_id)
        category, source, code = ALERT_KINDS.get(alert.alert_type, ("General", alert.alert_type or "Custom", 1))
        customer = self.customer_by_id(device.customer_id) if device else None
        snmp = device is not None and self.is_snmp(device)
        body: dict[str, Any] = {
            "AlertID": int(alert.id),
            "Code": code,
            "Source": source,
            "Title": alert.message,
            "Severity": SEVERITIES.get(alert.priority.lower(), "Warning"),
            "Created": _stamp(alert.raised_at),
            "SnoozedEndDate": None,
            "DeviceGuid": stable_uuid(self.seed, "atera-device-guid", device.index) if device else None,
            "AgentId": None if device is None or snmp else device.index + 1,
            "AdditionalInfo": alert.context.get("AdditionalInfo") if alert.context else None,
            "Archived": alert.resolved,
            "AlertCategoryID": category,
            "ArchivedDate": _stamp(alert.resolved_at) if alert.resolved else None,
            "TicketID": None,
            "AlertMessage": alert.message,
            "DeviceName": device.hostname if device else None,
            "CustomerID": int(device.customer_id) if device else None,
            "CustomerName": customer.name if customer else None,
            "FolderID": None,
            "PollingCyclesCount": 1 + alert.raised_at.minute % 5,
            "DeviceType": None,
        }
        if body["AgentId"] is not None and int(alert.id) % GUID_ONLY_EVERY == 0:
            del body["AgentId"]  # older shapes and Atera's documented examples link the device only by DeviceGuid
        return body
