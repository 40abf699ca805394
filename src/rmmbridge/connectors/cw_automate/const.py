"""ConnectWise Automate constants: REST paths, paging, token lifetime, type tables and the alert e-mail format."""

from __future__ import annotations

import re

from rmmbridge.connectors.records import DeviceType

SLUG = "cw_automate"
NAME = "ConnectWise Automate"

#: Every REST path hangs off the server root: https://{server}/cwa/api/v1/...
API_ROOT = "/cwa/api/v1"
TOKEN_PATH = f"{API_ROOT}/apitoken"
TOKEN_REFRESH_PATH = f"{API_ROOT}/apitoken/refresh"
CLIENTS_PATH = f"{API_ROOT}/Clients"
LOCATIONS_PATH = f"{API_ROOT}/Locations"
CONTACTS_PATH = f"{API_ROOT}/Contacts"
COMPUTERS_PATH = f"{API_ROOT}/Computers"
CHASSIS_PATH = f"{API_ROOT}/Computers/Chassis"
COMPUTER_PRINTERS_PATH = API_ROOT + "/Computers/{computer_id}/Printers"
RETIRED_ASSETS_PATH = f"{API_ROOT}/RetiredAssets"
NETWORK_DEVICES_PATH = f"{API_ROOT}/NetworkDevices"
ALERTS_PATH = f"{API_ROOT}/Alerts"

#: Header carrying the integration's registered ClientId (required since Automate 2020.11).
CLIENT_ID_HEADER = "ClientId"

#: `pageSize` we ask for; AutomateAPI (PowerShell) validates 1..1000 and pages until an empty page.
DEFAULT_PAGE_SIZE = 1000
MAX_PAGE_SIZE = 1000
#: "grants up to an hour's worth of access"; used when ExpirationDate is missing or unreadable.
DEFAULT_TOKEN_LIFETIME_S = 3600.0
#: Refresh (POST apitoken/refresh) when the token has less than this many seconds left.
TOKEN_REFRESH_MARGIN_S = 120.0

#: Automate publishes no API rate limit: 429 and 5xx are handled generically (Retry-After honoured).
RATE_LIMIT_PER_MINUTE: int | None = None

#: The four asset types Automate imports into Halo (seed 002), as `RemoteDevice.vendor_type`; the sync's type
#: mapping offers these for Automate.
ASSET_TYPES: tuple[tuple[str, str], ...] = (
    ("server", "Servers"), ("workstation", "Workstations"), ("network_device", "Routers"), ("printer", "Printers"),
)

#: Computer `Type` values → DeviceType (chassis and IsVirtualMachine refine workstations).
COMPUTER_TYPES: dict[str, DeviceType] = {
    "server": DeviceType.SERVER,
    "workstation": DeviceType.WORKSTATION,
    "laptop": DeviceType.LAPTOP,
}
#: ChassisType words (lower case) of portable computers (SMBIOS chassis names).
LAPTOP_CHASSIS_WORDS: tuple[str, ...] = (
    "laptop",
    "notebook",
    "portable",
    "sub notebook",
    "hand held",
    "convertible",
    "detachable",
    "tablet",
)
#: NetworkDevice `DeviceType.Name` words (lower case) that mean a printer; anything else is a network device.
PRINTER_TYPE_WORDS: tuple[str, ...] = ("printer", "mfp", "copier", "plotter", "multifunction")

#: Automate's default internal-monitor alert message:
#: `%NAME% %STATUS% on %CLIENTNAME%\%COMPUTERNAME% at %LOCATIONNAME% for %FIELDNAME% result %RESULT%.`
ALERT_STATUS_FAILED = "FAILED"
ALERT_STATUS_SUCCESS = "SUCCESS"
ALERT_SUBJECT_RE = re.compile(
    r"^\s*(?P<name>.+?)\s+(?P<status>FAILED|SUCCESS|WARNING|FAIL|PASS)\s+on\s+(?P<client>.+?)\\(?P<computer>[^\\]+?)"
    r"(?:\s+at\s+(?P<location>.+?))?(?:\s+for\s+(?P<field>.*?)\s+result\s+(?P<result>.*?))?\.?\s*$",
    re.IGNORECASE | re.DOTALL,
)
#: Status words that mean the monitor recovered.
RESOLVED_STATUSES = frozenset({"SUCCESS", "PASS"})

#: An e-mail rule for the alerts app (its VendorMail fields) that reads Automate's default alert message:
#: subject `<monitor> FAILED|SUCCESS on <client>\<computer> at …`, no alert id (keyed by computer + field),
#: SUCCESS = recovery, hostname between the backslash and " at ", condition between " for " and " result".
EMAIL_RULE_NAME = "ConnectWise Automate Alerts"
EMAIL_SUBJECT_PATTERN = r"\s(?:FAILED|SUCCESS)\s+on\s+[^\\]+\\"
EMAIL_RECOVERY_PATTERN = r"\sSUCCESS\s+on\s"
EMAIL_MARKERS: tuple[tuple[str, str, str], ...] = (("\\", " at ", "hostname"), (" for ", " result", "condition"))
