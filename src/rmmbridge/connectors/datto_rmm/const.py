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
