"""Datto RMM emulator state: the estate rendered exactly as the v2 API returns it (epoch ms, udf, deviceType)."""

from __future__ import annotations

import secrets
import time
from collections import deque
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from rmmbridge.connectors.datto_rmm import const
from rmmbridge.connectors.testing.estate import EmulatedAlert, EmulatedDevice, EmulatedSite, rng_for
from rmmbridge.connectors.testing.state import ALERT_TEMPLATES, EmulatorState

#: kind -> (deviceType.category, deviceType.type, deviceClass)
DEVICE_TYPES: dict[str, tuple[str, str, str]] = {
    "workstation": ("Desktop", "Physical", "device"),
    "laptop": ("Laptop", "Physical", "device"),
    "server": ("Server", "Physical", "device"),
    "virtual_machine": ("Server", "Virtual", "device"),
    "network_device": ("Network Device", "Switch", "rmmnetworkdevice"),
    "printer": ("Printer", "Printer", "printer"),
    "mobile": ("Mobile", "Phone", "device"),
    "other": ("Unknown", "Unknown", "unknown"),
}
AV_STATUSES = ("RunningAndUpToDate", "RunningAndUpToDate", "RunningAndUpToDate", "RunningAndNotUpToDate", "NotRunning")
#: alertContext per class for the seeded alerts, with the spec's field names (components/schemas/*Context) and
#: aaronengels/DattoRMM's (percentage of perf_resource_usage_ctx); values invented.
SEEDED_CONTEXTS: dict[str, dict[str, Any]] = {
    "online_offline_status": {"status": "OFFLINE"},
    "perf_resource_usage": {"type": "CPU", "percentage": 93.5},
    "eventlog": {"logName": "Application", "code": "1000", "type": "Error", "source": "Application Error",
                 "description": "Faulting application name: app.exe", "triggerCount": 1},
    "antivirus": {"status": "NOTRUNNING", "productName": "Windows Defender"},
    "patch": {"patchUid": "kb5034441", "result": "Failed", "info": "KB5034441 failed to install"},
    "comp_script": {"samples": {"Result": "Disk Cleanup exited with code 1"}},
}
SEEDED_MESSAGES = frozenset((kind, message) for kind, _, message in ALERT_TEMPLATES)
PATCH_STATUSES = ("FullyPatched", "FullyPatched", "ApprovedPending", "RebootRequired", "InstallError", "NoPolicy")


def epoch_ms(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp() * 1000)


class DattoRmmEmulatorState(EmulatorState):
    """A Datto RMM account: sites (no customers above them), devices, alerts, 600 requests per rolling minute."""

    slug: ClassVar[str] = const.SLUG
    url_key: ClassVar[str] = "api_url"
    sites_per_customer: ClassVar[int] = 1
    default_page_size: ClassVar[int] = const.MAX_PAGE_SIZE
    max_page_size: ClassVar[int] = const.MAX_PAGE_SIZE
    rate_limit_per_minute: ClassVar[int | None] = const.RATE_LIMIT_PER_MINUTE
    token_lifetime: ClassVar[float] = float(const.TOKEN_LIFETIME_SECONDS)
    #: Datto adds a one-second delay above 90 % of the quota, answers 429 above it, and blocks the IP (403)
    #: for at least five minutes when requests keep coming after the breach.
    rate_limit_slowdown_ratio: ClassVar[float | None] = 0.9
    rate_limit_block_after: ClassVar[int | None] = 100
    rate_limit_block_seconds: ClassVar[float] = 300.0
    platform: ClassVar[str] = "pinotage"

    account_uid = "emu4c0a7"
    account_name = "Emulated MSP Ltd"
    #: Fields the agent's audit reports: changing one moves the device's lastAuditDate (a new audit ran).
    #: Share of agents whose audit has a null bios.serialNumber.
    missing_serial_ratio = 0.02
    AUDITED_FIELDS = frozenset({"serial_number", "manufacturer", "model", "mac_address", "ip_address"})

    #: alert-resolve's own write limit per rolling 60 s (None = off): above it the answer is 429 with Retry-After.
    resolve_limit_per_minute: int | None = const.ALERT_RESOLVE_PER_MINUTE

    def __init__(self, **kwargs: Any) -> None:
        #: device id -> when its audit last changed (else the creation time): rendered as lastAuditDate.
        self.audit_dates: dict[str, datetime] = {}
        self._resolves: deque[float] = deque()
        super().__init__(**kwargs)

    def resolve_decision(self) -> float | None:
        """None when one more alert-resolve is allowed now, else the Retry-After seconds of the write limit."""
        limit = self.resolve_limit_per_minute
        if not limit:
            return None
        now = time.monotonic()
        with self.lock:
            while self._resolves and now - self._resolves[0] >= 60.0:
                self._resolves.popleft()
            if len(self._resolves) >= limit:
                return max(60.0 - (now - self._resolves[0]), 1.0)
            self._resolves.append(now)
        return None

    def resolves_in_window(self) -> int:
        now = time.monotonic()
        with self.lock:
            return sum(1 for t in self._resolves if now - t < 60.0)

    def update_device(self, device_id: str, **changes: Any) -> EmulatedDevice:
        """As the base, and a change of audited hardware moves the device's lastAuditDate forward."""
        device = super().update_device(device_id, **changes)
        if self.AUDITED_FIELDS & set(changes):
            previous = self.audit_dates.get(device.id, device.created_at)
            self.audit_dates[device.id] = max(datetime.now(UTC).replace(microsecond=0),
                                              previous + timedelta(seconds=1))
        return device

    def last_audit(self, device: EmulatedDevice) -> datetime:
        return self.audit_dates.get(device.id, device.created_at + timedelta(hours=1))

    def default_credentials(self) -> dict[str, str]:
        rng = rng_for(self.seed, "credentials", 0)
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
        key = "".join(rng.choice(alphabet) for _ in range(32))
        secret = "".join(rng.choice(alphabet) for _ in range(32))
        return {"api_key": key, "api_secret": secret}

    def site_number(self, site: EmulatedSite) -> int:
        return 100 + site.index

    def device_number(self, device: EmulatedDevice) -> int:
        return 1000 + device.index

    # --- rendering ----------------------------------------------------------------------------------------------
    def render_site(self, site: EmulatedSite, base: str) -> dict[str, Any]:
        small = self.device_count() <= 5000
        total = self.count_devices(site.id) if small else self._estimate(site)
        online = sum(1 for d in self.iter_devices() if d.site_id == site.id and d.online) if small else total
        # as the captured site (samples/datto-rmm/juict-site.json): no notes/proxy keys, counts as integers
        return {
            "id": self.site_number(site),
            "uid": site.id,
            "accountUid": self.account_uid,
            "name": site.name,
            "description": f"{site.name} (emulated)",
            "onDemand": False,
            "splashtopAutoInstall": False,
            "devicesStatus": {
                "numberOfDevices": total,
                "numberOfOnlineDevices": online,
                "numberOfOfflineDevices": total - online,
            },
            "portalUrl": f"https://{self.platform}.centrastage.net/csm/profile/summary/{self.site_number(site)}",
        }

    def _estimate(self, site: EmulatedSite) -> int:
        sites = len(self.sites)
        return self.generated_devices // sites + (1 if site.index < self.generated_devices % sites else 0)

    def render_device(self, device: EmulatedDevice) -> dict[str, Any]:
        category, type_, device_class = DEVICE_TYPES.get(device.kind, DEVICE_TYPES["other"])
        site = self.site_by_id(device.site_id)
        agent = device_class == "device"
        rng = rng_for(self.seed, "datto-device", device.index)
        number = self.device_number(device)
        seen_ms = int(device.last_seen.timestamp() * 1000)
        udf: dict[str, str | None] = {f"udf{i}": None for i in range(1, 31)}
        udf.update(device.udf)
        data: dict[str, Any] = {
            "id": number,
            "uid": device.id,
            "siteId": self.site_number(site) if site else None,
            "siteUid": device.site_id,
            "siteName": site.name if site else None,
            "deviceType": {"category": category, "type": type_},
            "hostname": device.hostname,
            "intIpAddress": device.ip_address,
            "operatingSystem": device.os_name or None,
            "lastLoggedInUser": (f"CORP\\{device.last_user}" if device.last_user else None) if agent else None,
            "domain": "CORP" if agent and "Windows" in device.os_name else None,
            "cagVersion": "4.4.2211.2211" if agent else None,
            "displayVersion": "22H2" if agent and "Windows" in device.os_name else None,
            "extIpAddress": device.external_ip if agent else None,
            "description": f"{device.manufacturer} {device.model}",
            "a64Bit": True if agent else None,
            "rebootRequired": (rng.random() < 0.1) if agent else None,
            "online": device.online,
            "suspended": False,
            "deleted": device.deleted,
            "lastSeen": epoch_ms(device.last_seen),
            "lastReboot": seen_ms - rng.randint(1, 30) * 86_400_000 if agent else None,
            "lastAuditDate": epoch_ms(self.last_audit(device)),
            "creationDate": epoch_ms(device.created_at),
            "udf": udf,
            "snmpEnabled": not agent,
            "deviceClass": device_class,
            "portalUrl": f"https://{self.platform}.centrastage.net/csm/search?qs=uid%3A{device.id}",
            "warrantyDate": ((device.created_at + timedelta(days=3 * 365)).date().isoformat()
                             if rng.random() < 0.6 else None),
            "antivirus": {"antivirusProduct": "Windows Defender" if "Windows" in device.os_name else "Datto AV",
                          "antivirusStatus": rng.choice(AV_STATUSES)} if agent else None,
            "patchManagement": {"patchStatus": rng.choice(PATCH_STATUSES), "patchesApprovedPending": rng.randint(0, 5),
                                "patchesNotApproved": rng.randint(0, 3), "patchesInstalled": rng.randint(40, 400)}
            if agent else None,
            "softwareStatus": "OK" if agent else None,
            "webRemoteUrl": f"https://{self.platform}.centrastage.net/csm/webremote/{number}" if agent else None,
            "networkProbe": agent and device.kind == "server",
            "onboardedViaNetworkMonitor": not agent,
        }
        data.update(device.extra)
        return data

    def audit_serial(self, device: EmulatedDevice) -> str | None:
        """The BIOS serial the audit reports: as on real estates, a few machines (some VMs, white boxes) send null."""
        missing = rng_for(self.seed, "datto-audit-serial", device.index).random() < self.missing_serial_ratio
        return None if missing and device.id not in self.audit_dates else device.serial_number

    def render_audit(self, device: EmulatedDevice) -> dict[str, Any]:
        """GET /v2/audit/device/{uid} (the spec's DeviceAudit): where serial, make, model and MACs live."""
        rng = rng_for(self.seed, "datto-audit", device.index)
        number = self.device_number(device)
        serial = self.audit_serial(device)
        return {
            "portalUrl": f"https://{self.platform}.centrastage.net/csm/audit/{number}",
            "webRemoteUrl": f"https://{self.platform}.centrastage.net/csm/webremote/{number}",
            "systemInfo": {"manufacturer": device.manufacturer, "model": device.model,
                           "totalPhysicalMemory": rng.choice((8, 16, 32)) * 1_073_741_824,
                           "username": f"CORP\\{device.last_user}" if device.last_user else None,
                           **({"dotNetVersion": "4.8.09032"} if "Windows" in device.os_name else {}),
                           "totalCpuCores": rng.choice((4, 8, 16))},
            "nics": [{"instance": "Ethernet", "ipv4": device.ip_address,
                      "macAddress": device.mac_address.replace(":", ""), "type": "Ethernet"}],
            "bios": {"instance": "BIOS", "releaseDate": "2021-03-15T00:00:00Z", "serialNumber": serial,
                     "smBiosVersion": "3.3"},
            "baseBoard": {"manufacturer": device.manufacturer, "product": device.model},
            "displays": [{"instance": "Generic PnP Monitor", "screenHeight": 1080, "screenWidth": 1920}],
            "logicalDisks": [{"description": "Local Fixed Disk", "diskIdentifier": "C:",
                              "freespace": rng.randint(20, 200) * 1_073_741_824, "size": 256 * 1_073_741_824}],
            "mobileInfo": [],
            "processors": [{"name": "Intel(R) Core(TM) i5-10500 CPU @ 3.10GHz"}],
            "videoBoards": [{"displayAdapter": "Intel(R) UHD Graphics 630"}],
            "attachedDevices": [],
            "physicalMemory": [{"module": "DIMM1", "size": 8_589_934_592, "type": "DDR4", "speed": "2666",
                                "serialNumber": "1A2B3C4D", "partNumber": "M378A1K43DB2-CTD", "bank": "BANK 0"}],
        }

    def render_printer_audit(self, device: EmulatedDevice) -> dict[str, Any]:
        """GET /v2/audit/printer/{uid} (the spec's PrinterAudit): make and model in systemInfo, serial via SNMP."""
        return {
            "portalUrl": f"https://{self.platform}.centrastage.net/csm/audit/{self.device_number(device)}",
            "snmpInfo": {"snmpName": device.hostname, "snmpDescription": device.model, "snmpUptime": "12 days",
                         "objectId": "1.3.6.1.4.1.11.2.3.9.1", "snmpSerial": device.serial_number},
            "printerMarkerSupplies": [{"description": "Black Cartridge", "maxCapacity": "100",
                                       "suppliesLevel": "64"}],
            "printer": {"printedPageCount": 10_000 + device.index},
            "systemInfo": {"manufacturer": device.manufacturer, "model": device.model},
            "nics": [{"instance": "eth0", "ipv4": device.ip_address,
                      "macAddress": device.mac_address.replace(":", ""), "type": "Ethernet"}],
        }

    def render_esxi_audit(self, device: EmulatedDevice) -> dict[str, Any]:
        """GET /v2/audit/esxihost/{uid} (the spec's ESXiHostAudit): the serial is systemInfo.serviceTag."""
        return {
            "portalUrl": f"https://{self.platform}.centrastage.net/csm/audit/{self.device_number(device)}",
            "systemInfo": {"manufacturer": device.manufacturer, "model": device.model, "name": device.hostname,
                           "numberOfSnapshots": 0, "serviceTag": device.serial_number},
            "guests": [],
            "processors": [{"frequency": 2.4, "name": "Intel(R) Xeon(R) Silver 4210R", "numberOfCores": 10}],
            "nics": [{"name": "vmnic0", "ipv4": device.ip_address,
                      "macAddress": device.mac_address, "speed": "1000", "type": "Ethernet"}],
            "physicalMemory": [],
            "datastores": [],
        }

    def render_alert(self, alert: EmulatedAlert) -> dict[str, Any]:
        """As the samples: open alerts carry no resolvedBy/resolvedOn; a seeded alert's text is only in its
        alertContext (no diagnostics), an alert raised with its own message keeps it as diagnostics."""
        device = self.get_device(alert.device_id)
        site = self.site_by_id(device.site_id) if device else None
        context: dict[str, Any] = {"@class": f"{alert.alert_type}_ctx"}
        seeded = (alert.alert_type, alert.message) in SEEDED_MESSAGES and not alert.context
        if seeded:
            context.update(SEEDED_CONTEXTS.get(alert.alert_type, {}))
        context.update(alert.context)
        data: dict[str, Any] = {
            "alertUid": alert.id,
            "priority": alert.priority,
            "resolved": alert.resolved,
            "muted": False,
            "ticketNumber": None,
            "timestamp": epoch_ms(alert.raised_at),
            "alertMonitorInfo": {"sendsEmails": True, "createsTicket": False},
            "alertContext": context,
            "alertSourceInfo": {
                "deviceUid": alert.device_id,
                "deviceName": device.hostname if device else None,
                "siteUid": site.id if site else None,
                "siteName": site.name if site else None,
            },
            "responseActions": [],
            "autoresolveMins": 1,
        }
        if not seeded:
            data["diagnostics"] = alert.message
        if alert.resolved:
            data["resolvedBy"] = alert.resolved_by or "auto"
            data["resolvedOn"] = epoch_ms(alert.resolved_at)
        return data

    def render_account(self) -> dict[str, Any]:
        count = self.device_count()
        online = sum(1 for d in self.iter_devices() if d.online) if count <= 5000 else count
        return {
            "id": 4711,
            "uid": self.account_uid,
            "name": self.account_name,
            "currency": "GBP",
            "descriptor": {"billingEmail": "billing@msp.example", "deviceLimit": 100_000, "timeZone": "Europe/London"},
            "devicesStatus": {"numberOfDevices": count, "numberOfOnlineDevices": online,
                              "numberOfOfflineDevices": count - online, "numberOfOnDemandDevices": 0,
                              "numberOfManagedDevices": count},
        }

    # --- vendor hooks -------------------------------------------------------------------------------------------
    def error_body(self, status: int, message: str, path: str) -> Any:
        """Spring Boot's error body, as the Datto RMM API answers errors."""
        detail = {429: "Request rate limit exceeded",
                  403: "Access denied: too many requests after the rate limit was exceeded"}.get(status, message)
        return {
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "status": status,
            "error": message,
            "message": detail,
            "path": path,
        }

    def alert_email(self, alert: EmulatedAlert) -> tuple[str, str, str]:
        """Datto RMM's alert e-mail: subject `Alert on device: <ip>, reason <alert> - Alert{<uid>}`."""
        device = self.get_device(alert.device_id)
        site = self.site_by_id(device.site_id) if device else None
        ip = device.ip_address if device else "unknown"
        subject = f"Alert on device: {ip}, reason {alert.message} - Alert{{{alert.id}}}"
        lines = [
            f"Device: {device.hostname if device else alert.device_id}",
            f"Site: {site.name if site else ''}",
            f"IP address: {ip}",
            f"Priority: {alert.priority}",
            f"Alert: {alert.message}",
            f"Alert UID: {alert.id}",
            f"Raised: {alert.raised_at.isoformat()}",
            "Status: Resolved" if alert.resolved else "Status: Open",
        ]
        return const.ALERT_EMAIL_SENDER, subject, "\n".join(lines) + "\n"

    def webhook_variables(self, alert: EmulatedAlert) -> dict[str, str]:
        """What Datto substitutes for each webhook variable of this alert."""
        device = self.get_device(alert.device_id)
        site = self.site_by_id(device.site_id) if device else None
        return {
            "[alert_uid]": alert.id,
            "[alert_message]": alert.message,
            "[alert_type]": alert.alert_type,
            "[alert_priority]": alert.priority,
            "[device_uid]": alert.device_id,
            "[device_hostname]": device.hostname if device else "",
            "[device_ip]": device.ip_address if device else "",
            "[sitename]": site.name if site else "",
            "[site_name]": site.name if site else "",
            "[platform]": self.platform.capitalize(),
        }

    def webhook_payload(self, alert: EmulatedAlert) -> dict[str, Any]:
        """The body a monitor configured with the Alerting page's template posts (variables substituted)."""
        from rmmbridge.connectors.datto_rmm.alerts import RESOLVED_TEMPLATE, WEBHOOK_TEMPLATE

        template = RESOLVED_TEMPLATE if alert.resolved else WEBHOOK_TEMPLATE
        values = self.webhook_variables(alert)
        return {key: values.get(value, value) for key, value in template.items()}

    def new_jti(self) -> str:
        return secrets.token_hex(16)
