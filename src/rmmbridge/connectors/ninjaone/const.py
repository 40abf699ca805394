"""NinjaOne constants: instance hosts, API paths, OAuth scope, paging and the nodeClass → DeviceType table."""

from __future__ import annotations

from rmmbridge.connectors.records import DeviceType

SLUG = "ninjaone"
NAME = "NinjaOne"

#: Regional instances NinjaOne documents (the API hangs off the instance root, e.g. https://eu.ninjarmm.com/v2/...).
INSTANCE_HOSTS: tuple[str, ...] = (
    "app.ninjarmm.com",
    "us2.ninjarmm.com",
    "eu.ninjarmm.com",
    "oc.ninjarmm.com",
    "ca.ninjarmm.com",
    "fed.ninjarmm.com",
)
#: Domains a NinjaOne instance (incl. custom/white-label sub-domains) lives under.
INSTANCE_DOMAINS: tuple[str, ...] = ("ninjarmm.com", "ninjaone.com")
LOOPBACK_HOSTS: tuple[str, ...] = ("127.0.0.1", "localhost", "::1", "[::1]")

TOKEN_PATH = "/ws/oauth/token"
#: Used when the token response carries no `expires_in`.
DEFAULT_TOKEN_LIFETIME_S = 3600
#: Refresh this many seconds before the token's stated expiry.
TOKEN_EXPIRY_MARGIN_S = 60

ORGANIZATIONS_PATH = "/v2/organizations"
LOCATIONS_PATH = "/v2/locations"
DEVICES_PATH = "/v2/devices-detailed"
USERS_PATH = "/v2/users"
ALERTS_PATH = "/v2/alerts"
DEVICE_PATH = "/v2/device/{device_id}"
ACTIVITIES_PATH = "/v2/activities"
ALERT_RESET_PATH = "/v2/alert/{uid}/reset"
ALERT_DELETE_PATH = "/v2/alert/{uid}"
WEBHOOK_PATH = "/v2/webhook"

#: `pageSize` we ask for on keyset-paged lists (`after` = last id of the previous page).
DEFAULT_PAGE_SIZE = 500
#: `/v2/activities` allows 10..1000 per page.
ACTIVITIES_PAGE_SIZE = 200
#: One page of recent TRIGGERED condition activities gives the severities of a poll's alerts.
SEVERITY_PAGE_SIZE = 1000

#: NinjaOne publishes no API rate limit; 429 is handled generically (Retry-After honoured).
RATE_LIMIT_PER_MINUTE: int | None = None

NODE_CLASS_TYPES: dict[str, DeviceType] = {
    "WINDOWS_WORKSTATION": DeviceType.WORKSTATION,
    "LINUX_WORKSTATION": DeviceType.WORKSTATION,
    "MAC": DeviceType.WORKSTATION,
    "NMS_COMPUTER": DeviceType.WORKSTATION,
    "WINDOWS_SERVER": DeviceType.SERVER,
    "LINUX_SERVER": DeviceType.SERVER,
    "MAC_SERVER": DeviceType.SERVER,
    "NMS_SERVER": DeviceType.SERVER,
    "VMWARE_VM_HOST": DeviceType.SERVER,
    "HYPERV_VMM_HOST": DeviceType.SERVER,
    "NMS_VM_HOST": DeviceType.SERVER,
    "VMWARE_VM_GUEST": DeviceType.VIRTUAL_MACHINE,
    "HYPERV_VMM_GUEST": DeviceType.VIRTUAL_MACHINE,
    "NMS_VIRTUAL_MACHINE": DeviceType.VIRTUAL_MACHINE,
    "NMS_SWITCH": DeviceType.NETWORK_DEVICE,
    "NMS_ROUTER": DeviceType.NETWORK_DEVICE,
    "NMS_FIREWALL": DeviceType.NETWORK_DEVICE,
    "NMS_PRIVATE_NETWORK_GATEWAY": DeviceType.NETWORK_DEVICE,
    "NMS_WAP": DeviceType.NETWORK_DEVICE,
    "NMS_IPSLA": DeviceType.NETWORK_DEVICE,
    "NMS_DIAL_MANAGER": DeviceType.NETWORK_DEVICE,
    "NMS_APPLIANCE": DeviceType.NETWORK_DEVICE,
    "NMS_NETWORK_MANAGEMENT_AGENT": DeviceType.NETWORK_DEVICE,
    "NMS_PRINTER": DeviceType.PRINTER,
    "NMS_SCANNER": DeviceType.PRINTER,
    "ANDROID": DeviceType.MOBILE,
    "APPLE_IOS": DeviceType.MOBILE,
    "APPLE_IPADOS": DeviceType.MOBILE,
    "NMS_PHONE": DeviceType.MOBILE,
    "CLOUD_MONITOR_TARGET": DeviceType.OTHER,
    "NMS_OTHER": DeviceType.OTHER,
    "UNMANAGED_DEVICE": DeviceType.OTHER,
    "MANAGED_DEVICE": DeviceType.OTHER,
}
#: nodeClasses whose `system.chassisType` may say the workstation is a laptop.
WORKSTATION_CLASSES = frozenset({"WINDOWS_WORKSTATION", "LINUX_WORKSTATION", "MAC"})
#: chassisType words (lower case) that mean a portable computer.
LAPTOP_CHASSIS_WORDS: tuple[str, ...] = ("laptop", "notebook", "portable", "sub notebook", "convertible", "detachable")

#: Activity statusCodes of a condition (alert) series.
STATUS_TRIGGERED = "TRIGGERED"
STATUS_RESET = "RESET"
CONDITION_ACTIVITY_TYPES = frozenset({"CONDITION"})

#: Words of condition codes (`data.message.code` without its `agent_cond_`/`vmm_cond_` prefix and operator).
CONDITION_WORDS: dict[str, str] = {
    "eventlog": "Windows event log",
    "windows_event_log": "Windows event log",
    "cpu": "CPU usage",
    "cpu_usage": "CPU usage",
    "agent_cpu": "CPU usage",
    "memory_usage": "Memory usage",
    "memory": "Memory usage",
    "disk_usage": "Disk usage",
    "disk_free_space": "Free disk space",
    "offline": "Device offline",
    "agent_offline": "Device offline",
    "av_threat": "Antivirus threat",
    "patch_last_installed": "Patch installation",
    "agent_patch_last_installed": "Patch installation",
    "script_result": "Script result",
}
#: conditionHealthStatus → a severity label, used only when an alert states neither severity nor priority.
HEALTH_SEVERITIES: dict[str, str] = {"UNHEALTHY": "MAJOR", "NEEDS_ATTENTION": "MINOR"}
#: The scope every read needs, and the one alert reset (and webhook set-up) needs in addition.
SCOPE_MONITORING = "monitoring"
SCOPE_MANAGEMENT = "management"
