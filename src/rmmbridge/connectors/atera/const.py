"""Atera constants: API paths, paging limits, auth header rules and the OSType / SNMP Type → DeviceType tables."""

from __future__ import annotations

from rmmbridge.connectors.records import DeviceType

SLUG = "atera"
NAME = "Atera"

DEFAULT_API_URL = "https://app.atera.com"
#: Hosts an Atera application URL may use (the API is global: app.atera.com).
ATERA_DOMAIN = "atera.com"
LOOPBACK_HOSTS: tuple[str, ...] = ("127.0.0.1", "localhost", "::1")

API_KEY_HEADER = "X-API-KEY"
#: Keys longer than this are Atera's newer JWT tokens, sent as `Authorization: Bearer` (as PSAtera 1.8 does).
JWT_MIN_LENGTH = 100

ACCOUNT_PATH = "/api/v3/account"
CUSTOMERS_PATH = "/api/v3/customers"
CONTACTS_PATH = "/api/v3/contacts"
AGENTS_PATH = "/api/v3/agents"
SNMP_DEVICES_PATH = "/api/v3/devices/snmpdevices"
ALERTS_PATH = "/api/v3/alerts"
ALERT_PATH = "/api/v3/alerts/{alert_id}"
AGENTS_BY_MACHINE_PATH = "/api/v3/agents/machine/{machine_name}"
SNMP_DEVICE_BY_GUID_PATH = "/api/v3/devices/snmpdevice/guid/{device_guid}"

#: `itemsInPage`: default 20, maximum 50 (spec parameter descriptions).
DEFAULT_ITEMS_IN_PAGE = 20
MAX_ITEMS_IN_PAGE = 50

#: `alertStatus` values of `GET /api/v3/alerts`.
ALERT_STATUS_OPEN = "Open"
ALERT_STATUS_RESOLVED = "Resolved"
ALERT_STATUS_SNOOZED = "Snoozed"

#: Atera publishes no API rate limit (700/min appears only in unofficial pages): no client-side limiter.
RATE_LIMIT_PER_MINUTE: int | None = None

#: External ids of SNMP devices get this prefix: their DeviceID counts separately from agents' AgentID.
SNMP_ID_PREFIX = "snmp-"

#: AgentDto.OSType (lower case) → DeviceType. Halo decides an Atera device's type by this field.
OS_TYPE_TYPES: dict[str, DeviceType] = {
    "server": DeviceType.SERVER,
    "domain controller": DeviceType.SERVER,
    "work station": DeviceType.WORKSTATION,
    "workstation": DeviceType.WORKSTATION,
}
#: Words in Vendor / VendorBrandModel / ProductName that mean a virtual machine.
VIRTUAL_WORDS: tuple[str, ...] = ("vmware", "virtual machine", "virtual platform", "virtualbox", "kvm", "qemu",
                                  "hyper-v", "xen")
#: Words in an SNMP device's Type that mean a printer; any other SNMP device is a network device.
PRINTER_WORDS: tuple[str, ...] = ("printer", "mfp", "copier")
#: SNMP fields that are credentials of the device, never copied into records.
SNMP_SECRET_FIELDS = frozenset({"Community", "Authentication", "Privacy"})

#: AlertDto.AlertCategoryID values as the spec spells them (a sample writes them in lower case).
ALERT_CATEGORIES: tuple[str, ...] = ("Hardware", "Disk", "Availability", "Performance", "Exchange", "General")
