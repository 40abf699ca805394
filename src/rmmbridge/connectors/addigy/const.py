"""Addigy API v2 constants: paths, header, paging, rate limit, fact identifiers (sources in README.md)."""

from __future__ import annotations

SLUG = "addigy"
NAME = "Addigy"
DEFAULT_API_URL = "https://api.addigy.com"
#: Public API hosts; the emulator runs on loopback (see credentials.py).
API_HOSTS = ("api.addigy.com",)
API_PREFIX = "/api/v2"
#: The v2 API key travels in this header on every request (pliancy/addigy-node, bart-lute/addigy-client-go).
API_KEY_HEADER = "x-api-key"

DEVICES = f"{API_PREFIX}/devices"
POLICIES_QUERY = f"{API_PREFIX}/oa/policies/query"
ORG_USERS_QUERY = API_PREFIX + "/o/{org_id}/users/query"
#: The account behind the key: `{name, organization_id}`.
WHOAMI = f"{API_PREFIX}/configuration/whoami"
#: The v2 alert list (addigyctl `SearchAlerts`): body `{page, per_page, sort_field, sort_direction,
#: query: {statuses: [...]}}`, answer `{items, metadata}`; `per_page` is at most 100.
ALERTS_QUERY = f"{API_PREFIX}/oa/monitoring/alerts/query"
ALERTS_PAGE_SIZE = 100
#: The list queries are POSTs that change nothing; retrying them is as safe as retrying a GET.
QUERY_PATHS = frozenset({DEVICES, POLICIES_QUERY, ALERTS_QUERY})

#: Page size we ask for; 100 is the default of the public clients, the maximum is not published.
PAGE_SIZE = 100
#: Published limit: 1,000 requests per 10 seconds; going over blocks the key for 24 hours.
VENDOR_LIMIT_REQUESTS = 1000
VENDOR_LIMIT_WINDOW_SECONDS = 10.0
VENDOR_BLOCK_SECONDS = 24 * 3600
#: Our client-side ceiling per rolling minute. Any 10 s window then holds at most 600 requests (60 % of the
#: published limit), so bursts can never trip the 24-hour block.
RATE_LIMIT_PER_MINUTE = 600

#: Facts we ask for with `desired_fact_identifiers` (ids as in pliancy/addigy-node `DeviceFacts`).
DESIRED_FACTS: tuple[str, ...] = (
    "agentid",
    "device_name",
    "host_name",
    "serial_number",
    "hardware_model",
    "device_model_name",
    "product_name",
    "os_platform",
    "os_version",
    "online",
    "last_online",
    "local_ip",
    "client_ip",
    "ethernet_mac_address",
    "ethernet_ma_cs",
    "wifi_mac_address",
    "policy_id",
    "policy_ids",
    "registration_date",
    "current_user",
    "processor_type",
    "total_memory_gb",
    "total_disk_space_gb",
    "free_disk_percentage",
    "filevault_enabled",
    "firewall_enabled",
    "warranty_expiration_date",
    "agent_version",
    "udid",
    "imei",
    "phone_number",
)

#: Resolved alerts asked for on a poll: those created within this window before the last poll (a resolution is
#: not dated in the list, so the window is on `created_date`), at most this many pages.
RESOLVED_LOOKBACK_DAYS = 7
RESOLVED_MAX_PAGES = 10
#: Alert status values (v1 alerts, Halo's AddigyAlert and the v2 list): open until "Resolved".
ALERT_STATUS_OPEN = ("Unattended", "Acknowledged")
ALERT_STATUS_RESOLVED = "Resolved"
#: Header of Addigy's one-time webhook verification challenge; echo its value with a 200.
VALIDATION_HEADER = "X-Addigy-Webhook-Validation-Token"
