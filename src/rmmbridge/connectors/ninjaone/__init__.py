"""NinjaOne (NinjaRMM) connector: OAuth2 client credentials, organizations → locations, `after` paging, webhooks."""

from __future__ import annotations
