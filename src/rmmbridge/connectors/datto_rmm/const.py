"""Datto RMM API constants: paths, OAuth client, paging and rate limits (see README.md for sources)."""

from __future__ import annotations

SLUG = "datto_rmm"
NAME = "Datto RMM"
TOKEN_PATH = "/auth/oauth/token"
API_PREFIX = "/api/v2"
#: The fixed public OAuth client every Datto RMM API integration uses (HTTP Basic on the token request).
OAUTH_CLIENT_ID = "public-client"
OAUTH_CLIENT_SECRET = "public"
TOKEN_LIFETIME_SECONDS = 100 * 3600
MAX_PAGE_SIZE = 250
RATE_LIMIT_PER_MINUTE = 600
#: Audits are paced below 90 % of the account's 600 (above it Datto delays every answer by a second), leaving room
#: for the sync's own pages, alert polls and resolves in the same account window.
AUDITS_PER_MINUTE = 500
#: alert-resolve has its own write limit besides the account's 600 (Datto's request_rate: operationWriteStatus).
ALERT_RESOLVE_PER_MINUTE = 100
#: UDF fields a device can carry (udf1 … udf300 in the spec's Udf schema).
UDF_COUNT = 300
EXAMPLE_URL = "https://pinotage-api.centrastage.net"
PLATFORMS = ("pinotage", "merlot", "concord", "vidal", "zinfandel", "syrah")
#: Sender of the emulator's alert e-mails (set the same address as "From address" on the alerting setup).
ALERT_EMAIL_SENDER = "noreply@centrastage.net"

ACCOUNT = f"{API_PREFIX}/account"
ACCOUNT_SITES = f"{API_PREFIX}/account/sites"
ACCOUNT_DEVICES = f"{API_PREFIX}/account/devices"
ACCOUNT_ALERTS_OPEN = f"{API_PREFIX}/account/alerts/open"
ACCOUNT_ALERTS_RESOLVED = f"{API_PREFIX}/account/alerts/resolved"
SITE_DEVICES = API_PREFIX + "/site/{site_uid}/devices"
ALERT_RESOLVE = API_PREFIX + "/alert/{alert_uid}/resolve"
DEVICE_AUDIT = API_PREFIX + "/audit/device/{device_uid}"
ESXI_AUDIT = API_PREFIX + "/audit/esxihost/{device_uid}"
PRINTER_AUDIT = API_PREFIX + "/audit/printer/{device_uid}"
#: The audit endpoint per deviceClass (network devices have none in the spec).
AUDIT_PATHS = {"device": DEVICE_AUDIT, "esxihost": ESXI_AUDIT, "printer": PRINTER_AUDIT}
