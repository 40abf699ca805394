"""NcentralEmulatorState: the shared estate rendered as an N-central server (service org → customers → sites).

Ids are integers as in N-central: one service organization (soId 50), customers from 1000, sites from 100000
(customers and sites are org units sharing one id space), devices from 1,000,000,000, and each active issue is
identified by the taskId of the monitored service (from 2,096,000,001).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from datetime import UTC, datetime
from typing import Any, ClassVar

from rmmbridge.connectors.testing.estate import FIRST_NAMES, LAST_NAMES, EmulatedAlert, EmulatedDevice, rng_for
from rmmbridge.connectors.testing.state import EmulatorState

SO_ID = 50
CUSTOMER_BASE = 1000
SITE_BASE = 100_000
DEVICE_BASE = 1_000_000_000
TASK_BASE = 2_096_000_000
SERVER_VERSION = "2025.2.0.16"
#: The API-service version `GET /api/server-info` names in `version` (the document's example).
API_SERVICE_VERSION = "3.1.0"

#: Shared-estate alert type → (serviceName, serviceType, taskIdent).
SERVICES: dict[str, tuple[str, str, str]] = {
    "online_offline_status": ("Agent Status", "monitoring", ""),
    "perf_resource_usage": ("CPU", "monitoring", ""),
    "eventlog": ("Windows Event Log", "monitoring", "Application"),
    "antivirus": ("AV Defender Status", "monitoring", ""),
    "patch": ("Patch Status v2", "monitoring", ""),
    "comp_script": ("Disk Cleanup Check", "AMP", ""),
}
#: Shared-estate priority → notificationState (4 Warning, 5 Failed).
NOTIFICATION_STATE: dict[str, int] = {"critical": 5, "high": 5, "moderate": 4, "low": 4, "information": 4}


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def _os_family(os_name: str) -> str:
    lowered = os_name.lower()
    if "windows" in lowered:
        return "windows"
    if "mac" in lowered:
        return "mac"
    return "linux" if lowered else ""


def device_class_of(device: EmulatedDevice) -> str:
    """The deviceClass N-central would report. Only the three Windows classes are verified labels."""
    override = device.extra.get("deviceClass")
    if isinstance(override, str) and override:
        return override
    family = _os_family(device.os_name)
    if device.kind == "printer":
        return "Printer"
    if device.kind == "network_device":
        return "Switch/Router"
    if device.kind in ("server", "virtual_machine"):
        return "Servers - Windows" if family == "windows" else "Servers - Linux"
    if device.kind == "laptop":
        return {"windows": "Laptop - Windows", "mac": "Laptop - Mac OS X"}.get(family, "Laptop - Generic")
    if device.kind == "workstation":
        return {"windows": "Workstations - Windows", "mac": "Workstations - Mac OS X"}.get(
            family, "Workstations - Linux"
        )
    return "Other"


def _iso(moment: datetime, *, millis: bool = False) -> str:
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{moment.microsecond // 1000:03d}Z" if millis else f"{text}Z"


class NcentralEmulatorState(EmulatorState):
    """Emulated N-central server: User-API JWT → access/refresh tokens, pageNumber paging, active issues."""

    slug: ClassVar[str] = "ncentral"
    url_key: ClassVar[str] = "server_url"
    sites_per_customer: ClassVar[int] = 2
    #: N-central's own PowerShell tooling defaults to 50 per page; the API allows 1..1000.
    default_page_size: ClassVar[int] = 50
    max_page_size: ClassVar[int] = 1000
    rate_limit_per_minute: ClassVar[int | None] = None
    token_lifetime: ClassVar[float] = 3600.0
    refresh_lifetime: ClassVar[float] = 90000.0
    #: In-flight requests allowed per endpoint before 429 (N-central: 3–50 depending on the endpoint).
    concurrency_limit: ClassVar[int] = 5

    def __init__(self, **kwargs: Any) -> None:
        self.refresh_tokens: dict[str, float] = {}
        self.authentications = 0
        self.refreshes = 0
        #: Seconds every vendor API answer waits while counted as in flight (to exercise the concurrency limit).
        self.response_delay = 0.0
        #: Serve `"ncentral": null` in server-info, as the document's example does.
        self.ncentral_version_hidden = False
        self.in_flight: dict[str, int] = {}
        self.concurrency_refusals = 0
        super().__init__(**kwargs)

    # --- credentials and tokens ---------------------------------------------------------------------------------
    def default_credentials(self) -> dict[str, str]:
        header = _b64({"alg": "HS512"})
        payload = _b64({"iss": "N-able N-central", "iat": 1735689600, "sub": f"api-user-{self.seed}@msp.example",
                        "ua-type": "user-api"})
        digest = hashlib.sha512(f"ncentral-emulator-{self.seed}".encode()).digest()
        signature = base64.urlsafe_b64encode(digest).decode().rstrip("=")
        return {"api_token": f"{header}.{payload}.{signature}"}

    def issue_pair(self, access_seconds: float | None = None) -> dict[str, Any]:
        """A new access + refresh token pair in the authenticate/refresh answer's shape."""
        access_life = min(access_seconds or self.token_lifetime, self.token_lifetime)
        access = secrets.token_urlsafe(32)
        refresh = secrets.token_urlsafe(32)
        now = time.monotonic()
        with self.lock:
            self.tokens[access] = now + access_life
            self.refresh_tokens[refresh] = now + self.refresh_lifetime
        return {
            "tokens": {
                "access": {"token": access, "type": "Bearer", "expirySeconds": int(access_life)},
                "refresh": {"token": refresh, "type": "Body", "expirySeconds": int(self.refresh_lifetime)},
            },
            "refresh": "/api/auth/refresh",
            "validate": "/api/auth/validate",
        }

    def use_refresh_token(self, token: str) -> bool:
        """True (and the token is spent) when `token` is a live refresh token."""
        with self.lock:
            expires = self.refresh_tokens.pop(token, None)
        return expires is not None and time.monotonic() < expires

    def expire_refresh_tokens(self) -> int:
        with self.lock:
            count = len(self.refresh_tokens)
            self.refresh_tokens.clear()
            return count

    # --- ids ------------------------------------------------------------------------------------------------------
    def customer_id(self, index: int) -> str:
        return str(CUSTOMER_BASE + index)

    def site_id(self, index: int) -> str:
        return str(SITE_BASE + index)

    def device_id(self, index: int) -> str:
        return str(DEVICE_BASE + index)

    def device_index(self, device_id: str) -> int | None:
        text = str(device_id).strip()
        if not text.isdigit() or int(text) < DEVICE_BASE:
            return None
        return int(text) - DEVICE_BASE

    def alert_id(self, number: int) -> str:
        return str(TASK_BASE + number)

    def index_end(self) -> int:
        """One past the highest device index ever issued."""
        with self.lock:
            return self._next_added

    # --- rendering ------------------------------------------------------------------------------------------------
    @property
    def so_name(self) -> str:
        return f"Emulated MSP {self.seed}"

    def _contact(self, kind: str, index: int) -> dict[str, Any]:
        rng = rng_for(self.seed, f"ncentral-{kind}", index)
        first, last = rng.choice(FIRST_NAMES).title(), rng.choice(LAST_NAMES).title()
        return {
            "contactFirstName": first,
            "contactLastName": last,
            "contactTitle": rng.choice(("Office Manager", "IT Lead", "Director")),
            "contactEmail": f"{first.lower()}.{last.lower()}@example.com",
            "contactPhone": f"+1 555 01{index % 100:02d}",
            "contactPhoneExt": "",
            "contactDepartment": "",
            "phone": f"+1 555 02{index % 100:02d}",
            "street1": f"{1 + rng.randrange(400)} Market Street",
            "street2": "",
            "city": rng.choice(("Leeds", "Bristol", "Denver", "Austin", "Dublin", "Toronto")),
            "stateProv": "",
            "country": "US",
            "county": None,
            "postalCode": f"{10000 + rng.randrange(89999)}",
        }

    def service_org_json(self) -> dict[str, Any]:
        return {"soId": str(SO_ID), "soName": self.so_name, "orgUnitType": "SO", "parentId": "1", "externalId": "",
                "externalId2": "", **self._contact("so", 0), "isSystem": False, "isServiceOrg": True}

    def customer_json(self, index: int) -> dict[str, Any]:
        customer = self.customers[index]
        # Org-unit ids are strings in the server's OpenAPI document (ServiceOrganization/Customer examples "100").
        return {"customerId": str(customer.id), "customerName": customer.name, "orgUnitType": "CUSTOMER",
                "parentId": str(SO_ID), "externalId": "", "externalId2": "", **self._contact("customer", index),
                "isSystem": False, "isServiceOrg": False}

    def site_json(self, index: int) -> dict[str, Any]:
        site = self.sites[index]
        _, _, short = site.name.rpartition(" – ")
        return {"siteId": str(site.id), "siteName": short or site.name, "orgUnitType": "SITE",
                "parentId": str(site.customer_id), "externalId": "", "externalId2": "",
                **self._contact("site", index)}

    def device_json(self, device: EmulatedDevice, base_url: str = "") -> dict[str, Any]:
        """A device as `GET /api/devices` (and `/api/devices/{id}`) returns it."""
        customer = self.customer_by_id(device.customer_id)
        site = self.site_by_id(device.site_id)
        device_class = device_class_of(device)
        os_label = device.os_name.removeprefix("Microsoft ").strip()
        family = _os_family(device.os_name)
        agent = device.kind not in ("printer", "network_device")
        appliance_index = self.device_index(device.parent_id) if device.parent_id else device.index
        user = device.last_user
        if user and family == "windows":
            user = f"CORP\\{user}"
        body: dict[str, Any] = {
            "deviceId": int(device.id),
            "uri": f"{base_url}/api/devices/{device.id}",
            "remoteControlUri": f"{base_url}/api/devices/{device.id}/remote-control" if agent else None,
            "sourceUri": None,
            "longName": device.hostname,
            "discoveredName": device.hostname.lower() if agent else device.ip_address,
            "deviceClass": device_class,
            "deviceClassLabel": device_class,
            "description": "",
            "isProbe": agent and device.kind == "server" and device.index % 10 == 0,
            "osId": str(700000000 + (sum(map(ord, os_label)) % 1000)) if os_label else "",
            "supportedOs": os_label.lower().replace(" ", "_").replace(".", "_") if os_label else "",
            "supportedOsLabel": os_label,
            # As the document has them: "-" for no user, stillLoggedIn a string ("" when unknown).
            "lastLoggedInUser": user or "-",
            "stillLoggedIn": ("true" if device.online else "false") if user else "",
            "licenseMode": "Professional" if agent else "Essential",
            "orgUnitId": int(device.site_id),
            "soId": SO_ID,
            "soName": self.so_name,
            "customerId": int(device.customer_id),
            "customerName": customer.name if customer else "",
            "siteId": int(device.site_id),
            "siteName": (site.name.rpartition(" – ")[2] or site.name) if site else "",
            "applianceId": 300_000 + (appliance_index if appliance_index is not None else device.index),
            # No offset on most devices (the form N-central uses for most timestamps), `…Z` on every fifth.
            "lastApplianceCheckinTime": _iso(device.last_seen) if device.index % 5 == 0
            else device.last_seen.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds"),
            "deviceStatus": {"state": 1 if device.online else 0, "status": 0},
        }
        body.update({k: v for k, v in device.extra.items() if k != "deviceClass"})
        return body

    def assets_json(self, device: EmulatedDevice, base_url: str = "") -> dict[str, Any]:
        """`GET /api/devices/{id}/assets`: inventory in lower-case categories, more under `_extra`."""
        customer = self.customer_by_id(device.customer_id)
        family = _os_family(device.os_name)
        created = device.created_at
        created_text = created.strftime("%Y-%m-%d %H:%M:%S.000 +0000")
        data: dict[str, Any] = {
            "_extra": {
                "customer": {"customerid": device.customer_id, "customername": customer.name if customer else ""},
                "socustomer": {"customerid": str(SO_ID), "customername": self.so_name},
                "device": {
                    "takecontroluuid": None,
                    "customerid": device.site_id,
                    "warrantyexpirydate": "",
                    "createdon": created_text,
                    "ncentralassettag": None,
                    "lastloggedinuser": device.last_user,
                    "lastloggedinuser_domain": "CORP" if family == "windows" else "",
                    "lastloggedinuser_stillloggedin": str(bool(device.last_user) and device.online).lower(),
                    "lastloggedinuser_sessiontype": "Console" if device.last_user else "",
                },
                "computersystem": {"systemtype": "x64-based PC", "uuid": None},
            },
            "os": {
                "reportedos": device.os_name,
                "osarchitecture": "64-bit" if device.os_name else "",
                "version": "10.0.22631" if family == "windows" else "",
            },
            "computersystem": {
                "serialnumber": device.serial_number,
                "netbiosname": device.hostname[:15],
                "model": device.model,
                "totalphysicalmemory": str((64 if device.kind == "server" else 16) * 1024**3),
                "manufacturer": device.manufacturer,
            },
            "networkadapter": {
                "list": [
                    {"_index": 0, "ipaddress": device.ip_address, "macaddress": device.mac_address,
                     "description": "Ethernet", "gateway": device.ip_address.rsplit(".", 1)[0] + ".1",
                     "dnsserver": device.ip_address.rsplit(".", 1)[0] + ".1", "dhcpserver": ""},
                ]
            },
            "device": {
                "longname": device.hostname,
                "deleted": "true" if device.deleted else "false",
                "lastlogin": device.last_seen.strftime("%Y-%m-%d %H:%M:%S.000 +0000"),
                "deviceclass": device_class_of(device),
                "deviceid": device.id,
                "uri": f"{base_url}/api/devices/{device.id}",
            },
            "processor": {"name": "Intel(R) Core(TM) i7-1265U" if device.kind != "server" else
                          "Intel(R) Xeon(R) Silver 4314", "numberofcores": "10", "numberofcpus": "1"},
        }
        return {"data": data, "_links": {}}

    def issue_json(self, alert: EmulatedAlert) -> dict[str, Any]:
        """An active issue as `GET /api/org-units/{id}/active-issues` returns it (shape of N-central's schema)."""
        device = self.get_device(alert.device_id)
        service, service_type, ident = SERVICES.get(alert.alert_type, (alert.alert_type, "monitoring", ""))
        customer = self.customer_by_id(device.customer_id) if device else None
        site = self.site_by_id(device.site_id) if device else None
        device_class = device_class_of(device) if device else None
        task = int(alert.id)
        return {
            "orgUnitId": int(device.site_id) if device else SO_ID,
            "deviceId": int(alert.device_id),
            "notificationState": NOTIFICATION_STATE.get(alert.priority.lower(), 4),
            "serviceId": 400 + len(service),
            "serviceName": service,
            "serviceType": service_type,
            "taskId": task,
            "serviceItemId": 36000 + task % 1000,
            "_extra": {
                "numberOfAcknowledgedNotification": None,
                "licenseMode": "Professional",
                "psaIntegrationDisabled": False,
                "remoteControllable": True,
                "partOfNotification": True,
                "acknowledgedBy": "",
                "deviceName": device.hostname if device else "",
                "ticketCreationInProgress": None,
                "transitionTime": _iso(alert.raised_at, millis=True),
                "integrationStatuses": [],
                "notificationAcknowledgmentInProgress": False,
                "taskIdent": ident,
                "deviceClassValue": None,
                "monitoringDisabled": False,
                "numberOfActiveNotification": 1,
                "psaIntegrationExists": False,
                "probe": False,
                "deviceClassLabel": device_class,
                "customerTree": ["System", self.so_name, customer.name if customer else "",
                                 (site.name.rpartition(" – ")[2] if site else "")],
                "psaTicketDetails": "",
                "soCustomerID": SO_ID,
                "maintenanceWindowEnabled": False,
            },
        }

    # --- vendor hooks -----------------------------------------------------------------------------------------------
    def error_body(self, status: int, message: str, path: str) -> Any:
        """N-central's REST error shape (UNVERIFIED beyond status + message; see the README)."""
        return {"status": status, "message": message, "path": path}

    def webhook_payload(self, alert: EmulatedAlert) -> dict[str, Any]:
        """The Custom PSA ticket request N-central POSTs for a notification (CREATE, or RESOLVE once cleared)."""
        device = self.get_device(alert.device_id)
        issue = self.issue_json(alert)
        host = device.hostname if device else alert.device_id
        state = "Failed" if issue["notificationState"] == 5 else "Warning"
        return {
            "action": "RESOLVE" if alert.resolved else "CREATE",
            "title": f"{host} - {issue['serviceName']} - {state}",
            "details": f"Device: {host}\nService: {issue['serviceName']}\nState: {state}\n{alert.message}",
            "ncentralTicketId": str(alert.id),
            "customTag": "rmmbridge",
            **({"psaTicketNumber": f"RMB-{alert.id}"} if alert.resolved else {}),
        }

    def webhook_headers(self, body: bytes, secret: str | None) -> dict[str, str]:
        """Custom PSA requests carry the PSA username/password configured in N-central as Basic auth."""
        if not secret:
            return {}
        token = base64.b64encode(f"ncentral:{secret}".encode()).decode()
        return {"Authorization": f"Basic {token}", "X-Webhook-Secret": secret}

    def summary(self) -> dict[str, Any]:
        data = super().summary()
        with self.lock:
            data["authentications"] = self.authentications
            data["refreshes"] = self.refreshes
            data["concurrency_refusals"] = self.concurrency_refusals
        return data
