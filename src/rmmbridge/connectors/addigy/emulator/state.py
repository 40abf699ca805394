"""Addigy emulator state: an Apple estate rendered as API v2 device audits (facts), policies and AddigyAlerts."""

from __future__ import annotations

import math
import time
from collections import deque
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from rmmbridge.connectors.addigy import const
from rmmbridge.connectors.testing.estate import (
    FIRST_NAMES,
    LAST_NAMES,
    EmulatedAlert,
    EmulatedCustomer,
    EmulatedDevice,
    abbreviation,
    rng_for,
    stable_uuid,
)
from rmmbridge.connectors.testing.state import EmulatorState

#: Base estate kind -> Apple hardware: (hardware_model, device_model_name, product family, os_platform, versions).
#: Addigy manages Apple devices only: the estate's network devices become iPhones and its printers iPads.
APPLE_HARDWARE: dict[str, tuple[tuple[str, str, str], ...]] = {
    "workstation": (("iMac21,1", "iMac (24-inch, M1, 2021)", "iMac"),
                    ("Macmini9,1", "Mac mini (M1, 2020)", "Mac mini"),
                    ("Mac13,1", "Mac Studio (2022)", "Mac Studio"),
                    ("iMac20,1", "iMac (Retina 5K, 27-inch, 2020)", "iMac")),
    "laptop": (("Mac14,2", "MacBook Air (M2, 2022)", "MacBook Air"),
               ("MacBookPro18,3", "MacBook Pro (14-inch, 2021)", "MacBook Pro"),
               ("Mac15,3", "MacBook Pro (14-inch, M3, Nov 2023)", "MacBook Pro"),
               ("MacBookAir10,1", "MacBook Air (M1, 2020)", "MacBook Air")),
    "server": (("MacPro7,1", "Mac Pro (Rack, 2019)", "Mac Pro"),
               ("Xserve3,1", "Xserve (Early 2009)", "Xserve")),
    "virtual_machine": (("VirtualMac2,1", "Apple Virtual Machine 1", "Virtual Mac"),),
    "network_device": (("iPhone15,2", "iPhone 14 Pro", "iPhone"), ("iPhone14,7", "iPhone 14", "iPhone"),
                       ("iPhone16,1", "iPhone 15 Pro", "iPhone")),
    "printer": (("iPad13,18", "iPad (10th generation)", "iPad"),
                ("iPad14,3", "iPad Pro (11-inch) (4th generation)", "iPad")),
}
OS_VERSIONS: dict[str, tuple[str, ...]] = {
    "macOS": ("15.1", "14.7.1", "14.5", "13.7.1", "13.6.7"),
    "iOS": ("18.1", "17.7", "17.5.1"),
    "iPadOS": ("18.1", "17.7"),
}
PROCESSORS = ("Apple M1", "Apple M2", "Apple M3", "Apple M1 Pro", "Quad-Core Intel Core i7", "6-Core Intel Core i5")

#: Base alert types -> (alert name, category, fact identifier, value type, value that triggered it).
ALERT_KINDS: dict[str, tuple[str, str, str, str, Any]] = {
    "online_offline_status": ("Device Offline", "Device", "online", "boolean", False),
    "perf_resource_usage": ("Low Free Disk Space", "Hardware", "free_disk_percentage", "number", 4),
    "eventlog": ("Kernel Panic Detected", "System", "kernel_panic", "boolean", True),
    "antivirus": ("Malwarebytes Threat Detected", "Security", "mb_endpoint_agent_version", "string", "threat"),
    "patch": ("macOS Update Failed", "Updates", "is_mdm_softwareupdated_stuck", "boolean", True),
    "comp_script": ("FileVault Disabled", "Security", "filevault_enabled", "boolean", False),
}
LEVELS = {"Critical": "Critical", "High": "Critical", "Moderate": "Warning", "Low": "Info"}


def iso(value: datetime | None) -> str | None:
    """RFC 3339 UTC with a Z, as the v2 date facts are rendered here (the exact format is unverified)."""
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def fact(kind: str, value: Any) -> dict[str, Any]:
    return {"type": kind, "value": value, "error_msg": ""}


class AddigyEmulatorState(EmulatorState):
    """One Addigy organization: policies (one per customer), Apple devices, alerts, 1,000 requests / 10 s."""

    slug: ClassVar[str] = const.SLUG
    url_key: ClassVar[str] = "api_url"
    sites_per_customer: ClassVar[int] = 1
    default_page_size: ClassVar[int] = const.PAGE_SIZE
    max_page_size: ClassVar[int] = 1000
    token_lifetime: ClassVar[float] = 0.0

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.orgid = stable_uuid(self.seed, "org", 0)
        #: The published limit: `limit_requests` per `limit_window` seconds, then every request is refused for
        #: `block_seconds` (24 h). Instances may lower them in tests.
        self.limit_requests = const.VENDOR_LIMIT_REQUESTS
        self.limit_window = const.VENDOR_LIMIT_WINDOW_SECONDS
        self.block_seconds = float(const.VENDOR_BLOCK_SECONDS)
        self._window: deque[float] = deque()
        self._block_until = 0.0
        self.alerts_emails = ["alerts@msp.example"]

    # --- credentials -----------------------------------------------------------------------------------------
    def default_credentials(self) -> dict[str, str]:
        rng = rng_for(self.seed, "credentials", 0)
        alphabet = "abcdef0123456789"
        return {"client_id": "rmmbridge-emulated", "client_secret": "".join(rng.choice(alphabet) for _ in range(64))}

    def api_key_valid(self, key: str | None) -> bool:
        return bool(key) and key == self.credentials["client_secret"]

    def error_body(self, status: int, message: str, path: str) -> Any:
        """The v2 error body as emulated (unverified: Addigy documents the status codes, not the body)."""
        return {"error": message, "status": status, "path": path}

    # --- rate limit ------------------------------------------------------------------------------------------
    def rate_decision(self) -> tuple[str, float]:
        """1,000 requests per 10 s; the request over the limit starts a 24-hour block (429 with Retry-After)."""
        now = time.monotonic()
        with self.lock:
            if now < self._block_until:
                return "429", self._block_until - now
            while self._window and now - self._window[0] >= self.limit_window:
                self._window.popleft()
            if len(self._window) >= self.limit_requests:
                self._block_until = now + self.block_seconds
                return "429", self.block_seconds
            self._window.append(now)
        return "ok", 0.0

    def blocked_for(self) -> float:
        """Seconds the API key is still blocked (0 when not blocked)."""
        with self.lock:
            return max(self._block_until - time.monotonic(), 0.0)

    # --- rendering -------------------------------------------------------------------------------------------
    def child_policy_id(self, customer: EmulatedCustomer) -> str | None:
        """Every other customer has a child policy "<name> – Laptops" under its own (Addigy's policy tree)."""
        return stable_uuid(self.seed, "child-policy", customer.index) if customer.index % 2 == 0 else None

    def policies(self) -> list[dict[str, Any]]:
        """Every policy, each parent followed by its child."""
        out: list[dict[str, Any]] = []
        for customer in self.customers:
            out.append(self.render_policy(customer, customer.id, customer.name, ""))
            child = self.child_policy_id(customer)
            if child is not None:
                out.append(self.render_policy(customer, child, f"{customer.name} – Laptops", customer.id))
        return out

    def render_policy(self, customer: EmulatedCustomer, policy_id: str, name: str, parent: str) -> dict[str, Any]:
        rng = rng_for(self.seed, "policy", customer.index)
        color = rng.choice(("#1c6ce8", "#7c4dff", "#00a86b", "#f39c12", "#e74c3c"))
        icon = "fa fa-laptop" if parent else rng.choice(("fa fa-building-o", "fa fa-users", "fa fa-globe-americas"))
        return {
            "policyId": policy_id,
            "orgid": self.orgid,
            "name": name,
            "parent": parent,
            "color": color,
            "icon": icon,
            "creation_time": int(self.now.timestamp()) - 86400 * (200 + customer.index * 37) + (3600 if parent else 0),
        }

    def device_policies(self, device: EmulatedDevice) -> list[str]:
        """The device's policy first, then its ancestors: laptops of customers with a child policy sit in it."""
        customer = self.customer_by_id(device.customer_id)
        child = self.child_policy_id(customer) if customer is not None else None
        if child is not None and device.kind == "laptop":
            return [child, device.customer_id]
        return [device.customer_id]

    def apple_facts(self, device: EmulatedDevice) -> dict[str, Any]:
        """Every fact value of one device (id → value); changes via the control API's `extra` override facts."""
        rng = rng_for(self.seed, "apple", device.index)
        hardware, model_name, family = rng.choice(APPLE_HARDWARE.get(device.kind, APPLE_HARDWARE["workstation"]))
        platform = "iOS" if family == "iPhone" else "iPadOS" if family == "iPad" else "macOS"
        user = device.last_user or f"{rng.choice(FIRST_NAMES)}.{rng.choice(LAST_NAMES)}"
        first = user.split(".")[0].capitalize()
        if family in ("iPhone", "iPad", "MacBook Air", "MacBook Pro"):
            name = f"{first}'s {family}"
        else:
            customer = self.customer_by_id(device.customer_id)
            prefix = abbreviation(customer.name) if customer else "MAC"
            name = f"{prefix}-{family.replace(' ', '').upper()}-{device.index:04d}"
        serial = "".join(rng.choice("CDFGHJKLMNPQRTVWXY0123456789") for _ in range(10))
        mac = device.mac_address.lower()
        facts: dict[str, Any] = {
            "agentid": device.id,
            "device_name": name,
            "host_name": name.replace("'", "").replace(" ", "-"),
            "serial_number": serial,
            "hardware_model": hardware,
            "device_model_name": model_name,
            "product_name": model_name,
            "os_platform": platform,
            "os_version": rng.choice(OS_VERSIONS[platform]),
            "online": device.online,
            "last_online": iso(device.last_seen),
            "local_ip": device.ip_address if platform == "macOS" else None,
            "client_ip": device.external_ip,
            "ethernet_mac_address": mac if family in ("iMac", "Mac mini", "Mac Studio", "Mac Pro", "Xserve") else "",
            "wifi_mac_address": mac,
            "policy_id": self.device_policies(device)[0],
            "policy_ids": self.device_policies(device),
            "registration_date": iso(device.created_at),
            "current_user": user if platform == "macOS" else "",
            "processor_type": rng.choice(PROCESSORS) if platform == "macOS" else "",
            "total_memory_gb": rng.choice((8, 16, 16, 32, 64)) if platform == "macOS" else None,
            "total_disk_space_gb": rng.choice((256, 512, 512, 1000, 2000)),
            "free_disk_percentage": round(rng.uniform(3, 80), 1),
            "filevault_enabled": rng.random() < 0.9 if platform == "macOS" else None,
            "firewall_enabled": rng.random() < 0.7 if platform == "macOS" else None,
            "warranty_expiration_date": iso(device.created_at + timedelta(days=3 * 365)),
            "agent_version": "1.0.98" if platform == "macOS" else "",
            "udid": stable_uuid(self.seed, "udid", device.index).upper(),
            "imei": f"35{rng.randint(10**12, 10**13 - 1)}" if family == "iPhone" else "",
            "phone_number": f"+1555{rng.randint(1000000, 9999999)}" if family == "iPhone" else "",
        }
        if device.hostname and device.index >= self.generated_devices:
            facts["device_name"] = device.hostname  # added through the control API: its name wins
        if device.serial_number and device.index >= self.generated_devices:
            facts["serial_number"] = device.serial_number
        facts.update(device.extra)
        return facts

    def render_device(self, device: EmulatedDevice, desired: list[str] | None = None) -> dict[str, Any]:
        """A v2 DeviceAudit: agentid, orgid, audit dates and facts {id: {type, value, error_msg}}."""
        values = self.apple_facts(device)
        if desired:
            values = {k: values.get(k) for k in desired}
        audit = iso(device.last_seen)
        return {
            "agentid": device.id,
            "orgid": self.orgid,
            "audit_date": audit,
            "agent_audit_date": audit,
            "facts": {k: fact(_fact_type(k, v), v) for k, v in values.items()},
        }

    def webhook_payload(self, alert: EmulatedAlert) -> dict[str, Any]:
        """The AddigyAlert Addigy POSTs (Halo's `POST /api/Notify/Addigy` body)."""
        name, category, fact_id, value_type, value = ALERT_KINDS.get(
            alert.alert_type, (alert.message, "Custom", alert.alert_type, "string", alert.message)
        )
        if alert.alert_type not in ALERT_KINDS:
            name = alert.message
        resolved = alert.resolved
        return {
            "_id": alert.id,
            "agentid": alert.device_id,
            "orgid": self.orgid,
            "name": name,
            "category": category,
            "level": LEVELS.get(alert.priority, alert.priority),
            "status": const.ALERT_STATUS_RESOLVED if resolved else const.ALERT_STATUS_OPEN[0],
            "fact": fact_id,
            "selector": "=",
            "value": value,
            "valuetype": value_type,
            "created_on": alert.raised_at.timestamp(),
            "created_date": iso(alert.raised_at),
            "resolveddate": int(alert.resolved_at.timestamp()) if resolved and alert.resolved_at else None,
            "resolveduseremail": "" if not resolved else "tech@msp.example",
            "remtime": 0,
            "emails": list(self.alerts_emails),
        }

    def whoami(self) -> dict[str, Any]:
        """`GET /configuration/whoami`: `{name, organization_id}`."""
        return {"name": "Emulated MSP", "organization_id": self.orgid}

    def alert_item(self, alert: EmulatedAlert) -> dict[str, Any]:
        """An item of the v2 alert list (`POST /oa/monitoring/alerts/query`): the keys addigyctl's fixture and
        `Alert` projection show (`id`, `agent_id`, `name`, `status`, `level`, `category`, `created_date`, `muted`,
        `ticket_id`)."""
        name, category, fact_id, _, value = ALERT_KINDS.get(
            alert.alert_type, (alert.message, "Custom", alert.alert_type, "string", alert.message)
        )
        if alert.alert_type not in ALERT_KINDS:
            name = alert.message
        return {
            "id": alert.id,
            "orgid": self.orgid,
            "agent_id": alert.device_id,
            "name": name,
            "category": category,
            "level": LEVELS.get(alert.priority, alert.priority),
            "status": const.ALERT_STATUS_RESOLVED if alert.resolved else const.ALERT_STATUS_OPEN[0],
            "fact_identifier": fact_id,
            "value": value,
            "created_date": iso(alert.raised_at),
            "muted": False,
            "ticket_id": None,
        }

    def pages(self, total: int, size: int) -> int:
        return math.ceil(total / size) if total else 0

    def summary(self) -> dict[str, Any]:
        data = super().summary()
        data["orgid"] = self.orgid
        data["blocked_for_seconds"] = round(self.blocked_for(), 1)
        return data


def _fact_type(key: str, value: Any) -> str:
    if key in ("last_online", "registration_date", "warranty_expiration_date"):
        return "date"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, list):
        return "list"
    return "string"
