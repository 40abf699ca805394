"""N-able N-central connector: User-API JWT → access/refresh tokens, customers → sites, devices, active issues."""

from __future__ import annotations
