"""Datto RMM: OAuth2 password grant, sites as customers, page/max paging with nextPageUrl, 600 requests/minute."""

from __future__ import annotations
