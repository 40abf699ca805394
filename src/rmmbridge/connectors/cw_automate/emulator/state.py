"""CwAutomateEmulatorState: the shared estate rendered as Automate clients, locations, contacts, computers,
retired assets, network devices and alerts, in the JSON shapes of the Automate API v1 OpenAPI files.

Ids count from 1 and are rendered with the spec's types: Computer/Client/Contact/NetworkDevice `Id` as strings,
Location `Id` and `AlertId` as integers. Timestamps are ISO 8601 without an offset (as Automate sends them).
Servers, workstations, laptops and VMs are Computers (deleted ones are RetiredAssets); printers and network devices
are NetworkDevices discovered by their location's network probe (the first live computer of the location).

Long because: it is the vendor's data model rendered as one table per Automate list (data shapes, not logic);
splitting it would scatter one vendor's JSON shapes over files.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, ClassVar

from rmmbridge.connectors.cw_automate import const
from rmmbridge.connectors.testing.estate import (
    FIRST_NAMES,
    LAST_NAMES,
    EmulatedAlert,
    EmulatedDevice,
    rng_for,
    stable_uuid,
)
from rmmbridge.connectors.testing.numbered import NumberedIds

COMPUTER_KINDS = frozenset({"workstation", "laptop", "server", "virtual_machine", "mobile", "other"})
NETWORK_KINDS = frozenset({"network_device", "printer"})
#: (Automate NetworkDeviceType Id, Name) by manufacturer of the shared estate's network devices.
NETWORK_TYPES: dict[str, tuple[int, str]] = {
    "Cisco": (3, "Switch"),
    "Ubiquiti": (3, "Switch"),
    "Fortinet": (2, "Firewall"),
}
ROUTER_TYPE = (1, "Router")
PRINTER_TYPE = (7, "Printer")
CHASSIS_BY_KIND = {
    "laptop": "Notebook",
    "server": "Rack Mount Chassis",
    "workstation": "Desktop",
    "virtual_machine": "Other",
}
#: Shared-estate alert types → (Automate monitor name, field name, result text, Source).
MONITORS: dict[str, tuple[str, str, str, str]] = {
    "online_offline_status": (
        "Agent Offline",
        "LastContact",
        "Agent has not checked in for 15 minutes",
        "Internal Monitor",
    ),
    "perf_resource_usage": ("CPU - Usage High", "CPU", "95", "Remote Monitor"),
    "eventlog": ("EV - Application Errors", "EventLog", "Application Error 1000 (app.exe crashed)", "Internal Monitor"),
    "antivirus": ("AV - Threat Detected", "VirusScanner", "Trojan.GenericKD quarantined", "Internal Monitor"),
    "patch": ("Patching - Install Failed", "Patch", "KB5034441 failed", "Internal Monitor"),
    "comp_script": ("Script - Disk Cleanup", "Script", "exit code 1", "Remote Monitor"),
}
SEVERITIES: dict[str, tuple[int, str]] = {
    "critical": (1, "Critical"),
    "high": (2, "High"),
    "moderate": (3, "Moderate"),
    "low": (4, "Low"),
    "information": (5, "Informational"),
}


def automate_time(value: datetime | None, tz: tzinfo = UTC) -> str | None:
    """An aware datetime as Automate writes it: ISO 8601 in the server's local time (`tz`) without an offset."""
    if value is None:
        return None
    return value.astimezone(tz).replace(tzinfo=None, microsecond=0).isoformat()


def _timespan(delta: timedelta) -> str:
    """A .NET TimeSpan string: `d.hh:mm:ss` or `hh:mm:ss`."""
    seconds = max(int(delta.total_seconds()), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return (f"{days}." if days else "") + f"{hours:02d}:{minutes:02d}:{secs:02d}"


class CwAutomateEmulatorState(NumberedIds):
    """Emulated Automate server: apitoken login with a ClientId, clients → locations, page/pageSize lists."""

    slug: ClassVar[str] = const.SLUG
    url_key: ClassVar[str] = "server_url"
    sites_per_customer: ClassVar[int] = 2
    #: Unverified server default when no pageSize is given; the emulator caps at 1000 as AutomateAPI validates.
    default_page_size: ClassVar[int] = 50
    max_page_size: ClassVar[int] = const.MAX_PAGE_SIZE
    rate_limit_per_minute: ClassVar[int | None] = None
    token_lifetime: ClassVar[float] = 3600.0
    device_id_prefixes: ClassVar[tuple[str, ...]] = ("nd-",)

    def __init__(self, **kwargs: Any) -> None:
        #: index → "computer" | "retired" | "network", so list pages skip devices without rendering them.
        self._categories: dict[int, str] = {}
        #: site id → its probe computer's index (-1: none); cleared whenever a device changes.
        self._probes: dict[str, int] = {}
        self.token_requests = 0
        self.refresh_requests = 0
        #: When True, logins without a TwoFactorPasscode get IsTwoFactorRequired (a non-Integrator user with MFA).
        self.two_factor_required = False
        self.alert_sender = "automate-alerts@msp.example"
        #: The time zone the emulated server writes its offset-less times in (Automate writes local time).
        self.server_tz: tzinfo = UTC
        super().__init__(**kwargs)
        self.contacts = self._make_contacts()

    def local_time(self, value: datetime | None) -> str | None:
        return automate_time(value, self.server_tz)

    # --- ids ----------------------------------------------------------------------------------------------------
    def default_credentials(self) -> dict[str, str]:
        return {
            "username": f"halo-integrator-{self.seed}",
            "password": "emu-" + stable_uuid(self.seed, "cw-automate-password", 0).replace("-", "")[:20],
            "client_id": stable_uuid(self.seed, "cw-automate-client-id", 0),
        }

    def alert_id(self, number: int) -> str:
        return str(7000 + number)

    def issue_token(self) -> str:
        with self.lock:
            self.token_requests += 1
        return super().issue_token()

    def error_body(self, status: int, message: str, path: str) -> Any:
        """ASP.NET Web API's error body, as Automate answers errors: {"Message": "..."}."""
        messages = {
            401: "Authorization has been denied for this request.",
            404: f"No HTTP resource was found that matches the request URI '{path}'.",
            500: "An error has occurred.",
        }
        return {"Message": messages.get(status, message)}

    # --- estate -------------------------------------------------------------------------------------------------
    def is_computer(self, device: EmulatedDevice) -> bool:
        return device.kind not in NETWORK_KINDS

    def category(self, index: int) -> str | None:
        """Which Automate list shows device `index`: "computer", "retired", "network" (None when gone)."""
        cached = self._categories.get(index)
        if cached is not None:
            return cached
        device = self.device_at(index)
        if device is None:
            return None
        found = "network" if not self.is_computer(device) else ("retired" if device.deleted else "computer")
        self._categories[index] = found
        return found

    def indices(self, category: str) -> Iterator[int]:
        """Indices of the live devices in one Automate list, in id order."""
        with self.lock:
            end = self._next_added
        for index in range(end):
            if self.category(index) == category:
                yield index

    def add_device(self, **fields: Any) -> EmulatedDevice:
        device = super().add_device(**fields)
        self._categories.pop(device.index, None)
        self._probes.clear()
        return device

    def update_device(self, device_id: str, **changes: Any) -> EmulatedDevice:
        index = self.device_index(device_id)
        if index is not None:
            self._categories.pop(index, None)
        self._probes.clear()
        return super().update_device(device_id, **changes)

    def remove_device(self, device_id: str) -> None:
        index = self.device_index(device_id)
        if index is not None:
            self._categories.pop(index, None)
        self._probes.clear()
        super().remove_device(device_id)

    def probe_of(self, site_id: str) -> EmulatedDevice | None:
        """The location's network probe: its first live, non-retired computer."""
        cached = self._probes.get(site_id)
        if cached is not None:
            return None if cached < 0 else self.device_at(cached)
        site = self.site_by_id(site_id)
        if site is None:
            return None
        step = len(self.sites)
        found: EmulatedDevice | None = None
        for index in range(site.index, min(self._next_added, site.index + 200 * step), step):
            device = self.device_at(index)
            if device is not None and device.site_id == site_id and self.is_computer(device) and not device.deleted:
                found = device
                break
        self._probes[site_id] = -1 if found is None else found.index
        return found

    def _make_contacts(self) -> list[dict[str, Any]]:
        contacts: list[dict[str, Any]] = []
        for site in self.sites:
            customer = self.customer_by_id(site.customer_id)
            for nth in range(2):
                rng = rng_for(self.seed, "cw-contact", site.index * 2 + nth)
                first, last = rng.choice(FIRST_NAMES).title(), rng.choice(LAST_NAMES).title()
                domain = "".join(ch for ch in (customer.name if customer else "").lower() if ch.isalnum())[:24]
                number = len(contacts) + 1
                contacts.append(
                    {
                        "Id": str(number),
                        "Client": {"Id": site.customer_id, "Name": customer.name if customer else ""},
                        "Location": {"Id": int(site.id), "Name": self.location_name(site.index)},
                        "FirstName": first,
                        "LastName": last,
                        "Email": f"{first.lower()}.{last.lower()}@{domain}.example",
                        "PhoneNumber": f"+1 555 02{number % 100:02d}",
                        "MobileNumber": "",
                        "ExternalId": "",
                        "CreatedDate": self.local_time(self.now - timedelta(days=30 + number * 11)),
                    }
                )
        return contacts

    # --- rendering ----------------------------------------------------------------------------------------------
    def location_name(self, index: int) -> str:
        _, _, short = self.sites[index].name.rpartition(" – ")
        return short or self.sites[index].name

    def client_json(self, index: int) -> dict[str, Any]:
        customer = self.customers[index]
        rng = rng_for(self.seed, "cw-client", index)
        return {
            "Id": customer.id,
            "Name": customer.name,
            "Company": customer.name,
            "City": rng.choice(("Leeds", "Bristol", "Denver", "Austin", "Dublin")),
            "State": "",
            "ZipCode": f"{rng.randint(10000, 99999)}",
            "Country": "",
            "PhoneNumber": f"+1 555 01{index % 100:02d}",
            "Comment": "",
            "ExternalId": "",
        }

    def location_json(self, index: int) -> dict[str, Any]:
        site = self.sites[index]
        customer = self.customer_by_id(site.customer_id)
        probe = self.probe_of(site.id)
        rng = rng_for(self.seed, "cw-location", index)
        return {
            "Id": int(site.id),
            "LocationId": int(site.id),
            "Name": self.location_name(index),
            "Client": {"Id": site.customer_id, "Name": customer.name if customer else ""},
            "Address1": f"{1 + rng.randrange(250)} Market Street",
            "City": rng.choice(("Leeds", "Bristol", "Denver", "Austin", "Dublin")),
            "Country": "",
            "PhoneNumber": "",
            "ProbeId": int(probe.id) if probe else 0,
            "ExternalId": 0,
            "Router": self.location_router(index),
        }

    def location_router(self, index: int) -> dict[str, Any] | None:
        """`LabTech.Models.Router` of every other location (null for the rest): its Guid is its asset tag in Halo.
        The emulated router credentials must never reach rmmbridge's fields."""
        if index % 2:
            return None
        rng = rng_for(self.seed, "cw-router", index)
        maker, model = rng.choice((("Cisco", "ISR 1111"), ("MikroTik", "RB4011"), ("Ubiquiti", "EdgeRouter 4")))
        return {"Id": 900 + index, "ManufacturerName": maker, "Model": model, "Version": f"{rng.randint(6, 17)}.2",
                "PortType": "Ethernet", "Username": "admin", "Password": f"router-secret-{self.seed}-{index}",
                "Guid": stable_uuid(self.seed, "cw-router", index)}

    def printers_json(self, device: EmulatedDevice) -> list[dict[str, Any]]:
        """`GET /Computers/{id}/Printers` (LabTech.Models.ComputerPrinter): every third workstation or server has
        one or two printers installed."""
        if not self.is_computer(device) or device.deleted or device.index % 3:
            return []
        rng = rng_for(self.seed, "cw-printers", device.index)
        names = [("HP LaserJet M404", "IP_10.0.0.40"), ("Brother HL-L2350DW", "USB001"),
                 ("Canon iR-ADV C5535", "IP_10.0.0.41")]
        chosen = rng.sample(names, 1 + device.index % 2)
        return [{"Id": 10 * device.index + n, "ComputerId": int(device.id), "Name": name, "PortName": port,
                 "Resolution": "600x600", "PaperTypes": ["A4", "Letter"], "Features": ["Duplex"] if n else []}
                for n, (name, port) in enumerate(chosen)]

    def _refs(self, device: EmulatedDevice) -> tuple[dict[str, Any], dict[str, Any]]:
        customer = self.customer_by_id(device.customer_id)
        site = self.site_by_id(device.site_id)
        client = {"Id": device.customer_id, "Name": customer.name if customer else ""}
        location = {"Id": int(device.site_id), "Name": self.location_name(site.index) if site else ""}
        return client, location

    def computer_type(self, device: EmulatedDevice) -> str:
        if device.kind == "server" or (device.kind == "virtual_machine" and "server" in device.os_name.lower()):
            return "Server"
        if device.kind == "virtual_machine" and "windows" not in device.os_name.lower():
            return "Server"  # Linux VMs in the estate run server distributions
        return "Workstation"

    def computer_json(self, device: EmulatedDevice) -> dict[str, Any]:
        """A device as `GET /Computers` returns it (LabTech.Models.Computer)."""
        client, location = self._refs(device)
        rng = rng_for(self.seed, "cw-computer", device.index)
        windows = "windows" in device.os_name.lower()
        contact = device.last_seen
        probe = self.probe_of(device.site_id)
        return {
            "Id": device.id,
            "Client": client,
            "Location": location,
            "ComputerName": device.hostname,
            "FriendlyName": "",
            "Type": self.computer_type(device),
            "Status": "Online" if device.online else "Offline",
            "OperatingSystemName": device.os_name,
            "OperatingSystemVersion": "10.0.22631" if windows else "",
            "DomainName": "CORP" if windows else "",
            "SerialNumber": device.serial_number,
            "AssetTag": "",
            "AssetDate": self.local_time(device.created_at),
            "WarrantyEndDate": self.local_time(device.created_at + timedelta(days=3 * 365))
            if rng.random() < 0.6
            else "0001-01-01T00:00:00",
            "BiosManufacturer": device.manufacturer,
            "BiosFlash": f"{rng.randint(1, 2)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}",
            "MACAddress": device.mac_address.replace(":", "-"),
            "LocalIPAddress": device.ip_address,
            "GatewayIPAddress": device.ip_address.rsplit(".", 1)[0] + ".1",
            "LastUserName": (f"CORP\\{device.last_user}" if windows else device.last_user) if device.last_user else "",
            # Real servers send null for an empty list (the document marks nothing nullable).
            "LoggedInUsers": [{"LoggedInUserName": device.last_user, "ConsoleId": 1}]
            if device.online and device.last_user
            else None,
            "RemoteAgentLastContact": self.local_time(contact),
            "LastHeartbeat": self.local_time(contact - timedelta(seconds=rng.randint(0, 90))),
            "RemoteAgentLastInventory": self.local_time(contact - timedelta(hours=rng.randint(1, 20))),
            "LastInventoryReceived": self.local_time(contact - timedelta(hours=rng.randint(1, 20))),
            "DateAdded": self.local_time(device.created_at),
            "RemoteAgentVersion": "2024.3.120",
            "TotalMemory": 65536 if device.kind == "server" else 16384,
            "FreeMemory": rng.randint(1024, 8192),
            "CpuUsage": rng.randint(0, 80),
            "UTCOffset": 0,
            "IsVirtualMachine": device.kind == "virtual_machine",
            "IsVirtualHost": False,
            "IsMaster": False,
            "IsNetworkProbe": probe is not None and probe.id == device.id,
            "IsRebootNeeded": rng.random() < 0.1,
            "IsMaintenanceModeEnabled": False,
            "VirusScanner": {"Id": "12", "Name": "Microsoft Defender"} if windows else {"Id": "0", "Name": ""},
            "Comment": "",
            **{k: v for k, v in device.extra.items() if isinstance(k, str) and k[:1].isupper()},
        }

    def chassis_json(self, device: EmulatedDevice) -> dict[str, Any]:
        """`LabTech.Models.ComputerChassis` of a computer."""
        return {
            "ComputerId": int(device.id),
            "Manufacturer": device.manufacturer,
            "ProductName": device.model,
            "Version": "",
            "SerialNumber": device.serial_number,
            "UUID": stable_uuid(self.seed, "cw-smbios", device.index).upper(),
            "SkuNumber": "",
            "Family": "",
            "ChassisType": CHASSIS_BY_KIND.get(device.kind, "Other"),
            "AssetTag": "",
            "LastUpdate": self.local_time(device.last_seen),
        }

    def retired_json(self, device: EmulatedDevice) -> dict[str, Any]:
        """A deleted computer as `GET /RetiredAssets` returns it."""
        client, location = self._refs(device)
        return {
            "Id": str(100000 + device.index),
            "ComputerId": device.id,
            "Client": client,
            "Location": location,
            "ComputerName": device.hostname,
            "OperatingSystemName": device.os_name,
            "OperatingSystemVersion": "",
            "Comment": "",
            "LocalIPAddress": device.ip_address,
            "GatewayIPAddress": device.ip_address.rsplit(".", 1)[0] + ".1",
            "AssetTag": "",
            "AssetDate": self.local_time(device.created_at),
            "RetiredDate": self.local_time(device.last_seen),
            "RetireComment": "Retired from the Control Center",
        }

    def network_device_json(self, device: EmulatedDevice) -> dict[str, Any]:
        """A printer or network device as `GET /NetworkDevices` returns it (LabTech.Models.NetworkDevice)."""
        client, location = self._refs(device)
        if device.kind == "printer":
            type_id, type_name = PRINTER_TYPE
        else:
            type_id, type_name = NETWORK_TYPES.get(device.manufacturer, ROUTER_TYPE)
        probe = self.probe_of(device.site_id)
        rng = rng_for(self.seed, "cw-network", device.index)
        return {
            "Id": device.id,
            "Location": location,
            "Client": client,
            "LocalIPAddress": device.ip_address,
            "Name": device.hostname,
            "FriendlyName": "",
            "DeviceType": {"Id": type_id, "Name": type_name},
            "DetectionTemplateName": f"{device.manufacturer} {type_name}",
            "LastUpdated": self.local_time(device.last_seen),
            "LastContact": self.local_time(device.last_seen),
            "DateAdded": self.local_time(device.created_at),
            "MACAddress": device.mac_address.replace(":", "-"),
            "Status": "Online" if device.online else "Offline",
            "AlertWhenOffline": device.kind != "printer",
            "IsSNMPv1Supported": False,
            "IsSNMPv2cSupported": True,
            "IsSNMPv3Supported": False,
            "IsLowOnToner": device.kind == "printer" and rng.random() < 0.2,
            "IsLowOnPaper": device.kind == "printer" and rng.random() < 0.1,
            "ManufacturerName": device.manufacturer,
            "ModelName": device.model,
            "Description": f"{device.manufacturer} {device.model}",
            "Uptime": rng.randint(3600, 90 * 86400),
            "InterfaceCount": 1 if device.kind == "printer" else rng.choice((8, 24, 48)),
            "ProbeId": int(probe.id) if probe else 0,
            "ProbeName": probe.hostname if probe else "",
        }

    def render_device(self, device: EmulatedDevice) -> dict[str, Any]:
        if not self.is_computer(device):
            return self.network_device_json(device)
        return self.retired_json(device) if device.deleted else self.computer_json(device)

    def alert_json(self, alert: EmulatedAlert) -> dict[str, Any]:
        """An alert as `GET /Alerts` returns it (Automate.Api.Domain.Contracts.Alerts.Alert)."""
        device = self.get_device(alert.device_id)
        monitor, field, _, source = MONITORS.get(alert.alert_type, (alert.message, "", "", "Internal Monitor"))
        severity_id, severity = SEVERITIES.get(alert.priority.lower(), (3, alert.priority))
        client = location = None
        computer = target = None
        if device is not None:
            client, location = self._refs(device)
            client = {**client, "Id": int(client["Id"])}  # AlertClient.Id is int32 (LabTech Client.Id a string)
            if self.is_computer(device):
                computer = {
                    "Id": int(device.id),
                    "Name": device.hostname,
                    "ComputerStatus": "Online" if device.online else "Offline",
                }
            else:
                target = {"Id": int(device.id), "Name": device.hostname}
        return {
            "AlertId": int(alert.id),
            "Client": client,
            "Location": location,
            "Computer": computer,
            "Device": target,
            "Monitor": {
                "Id": 100 + sorted(MONITORS).index(alert.alert_type) if alert.alert_type in MONITORS else 99,
                "Name": monitor,
            },
            "AlertDate": self.local_time(alert.raised_at),
            "Severity": {"Id": severity_id, "Name": severity},
            "Source": source,
            "Message": alert.message,
            "FieldName": field,
            "AlertAge": _timespan(datetime.now(UTC) - alert.raised_at),
        }

    # --- vendor hooks -------------------------------------------------------------------------------------------
    def alert_email(self, alert: EmulatedAlert) -> tuple[str, str, str]:
        """Automate's default monitor alert message as subject and body; SUCCESS once the alert has cleared."""
        device = self.get_device(alert.device_id)
        monitor, field, result, _ = MONITORS.get(alert.alert_type, (alert.message, "", alert.message, ""))
        customer = self.customer_by_id(device.customer_id) if device else None
        site = self.site_by_id(device.site_id) if device else None
        status = const.ALERT_STATUS_SUCCESS if alert.resolved else const.ALERT_STATUS_FAILED
        line = (
            f"{monitor} {status} on {customer.name if customer else 'Unknown'}\\"
            f"{device.hostname if device else alert.device_id} at "
            f"{self.location_name(site.index) if site else 'Unknown'} for {field or 'Status'} result "
            f"{result or alert.message}."
        )
        body = f"{line}\n\n{alert.message}\n"
        return self.alert_sender, line, body
