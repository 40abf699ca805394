"""N-central constants: API paths, token lifetimes, paging limits and the deviceClass → DeviceType table."""

from __future__ import annotations

from rmmbridge.connectors.records import DeviceType

SLUG = "ncentral"
NAME = "N-central"

AUTHENTICATE_PATH = "/api/auth/authenticate"
REFRESH_PATH = "/api/auth/refresh"
VALIDATE_PATH = "/api/auth/validate"
SERVER_INFO_PATH = "/api/server-info"
SERVICE_ORGS_PATH = "/api/service-orgs"
CUSTOMERS_PATH = "/api/customers"
SITES_PATH = "/api/sites"
DEVICES_PATH = "/api/devices"
DEVICE_ASSETS_PATH = "/api/devices/{device_id}/assets"
ACTIVE_ISSUES_PATH = "/api/org-units/{org_unit_id}/active-issues"

#: Defaults of the system setting; the authenticate answer states the real `expirySeconds`.
ACCESS_TOKEN_LIFETIME_S = 3600
REFRESH_TOKEN_LIFETIME_S = 90000
#: Renew this many seconds before a token's stated expiry.
TOKEN_EXPIRY_MARGIN_S = 60

#: `pageSize` is 1..1000; pages are numbered from 1.
MAX_PAGE_SIZE = 1000
FIRST_PAGE = 1

#: N-central limits concurrent in-flight requests per endpoint (3–50), not requests per minute; it answers 429
#: without Retry-After. The shared layer backs off exponentially; there is no per-minute limit to configure.
RATE_LIMIT_PER_MINUTE: int | None = None

#: deviceClass labels seen in N-central (exact match first; keywords below catch the rest).
DEVICE_CLASS_TYPES: dict[str, DeviceType] = {
    "Servers - Windows": DeviceType.SERVER,
    "Workstations - Windows": DeviceType.WORKSTATION,
    "Laptop - Windows": DeviceType.LAPTOP,
}
#: (keyword in the lower-cased deviceClass, type), first match wins.
DEVICE_CLASS_KEYWORDS: tuple[tuple[str, DeviceType], ...] = (
    ("laptop", DeviceType.LAPTOP),
    ("notebook", DeviceType.LAPTOP),
    ("printer", DeviceType.PRINTER),
    ("scanner", DeviceType.PRINTER),
    ("switch", DeviceType.NETWORK_DEVICE),
    ("router", DeviceType.NETWORK_DEVICE),
    ("firewall", DeviceType.NETWORK_DEVICE),
    ("access point", DeviceType.NETWORK_DEVICE),
    ("network", DeviceType.NETWORK_DEVICE),
    ("virtual machine", DeviceType.VIRTUAL_MACHINE),
    ("server", DeviceType.SERVER),
    ("esx", DeviceType.SERVER),
    ("workstation", DeviceType.WORKSTATION),
    ("desktop", DeviceType.WORKSTATION),
    ("mobile", DeviceType.MOBILE),
    ("phone", DeviceType.MOBILE),
    ("tablet", DeviceType.MOBILE),
)

#: Active-issue `notificationState` codes (as N-central's own scripts decode them) → severity label.
NOTIFICATION_STATES: dict[int, str] = {
    1: "No Data",
    2: "Stale",
    3: "Normal",
    4: "Warning",
    5: "Failed",
    6: "Misconfigured",
    7: "Disconnected",
    8: "Disabled",
}
#: notificationState → severity word the alerts pipeline maps to a ticket priority (the state label stays in the
#: alert message): Failed/Disconnected are high, Warning/Misconfigured moderate, the rest low.
STATE_SEVERITY: dict[int, str] = {1: "Low", 2: "Low", 3: "Low", 4: "Moderate", 5: "High", 6: "Moderate", 7: "High",
                                  8: "Low"}
