"""The registry of RMM connectors: one line per vendor."""

from __future__ import annotations

from rmmbridge.connectors.base import Connector

_CONNECTORS: tuple[type[Connector], ...] = (
)

REGISTRY: dict[str, type[Connector]] = {cls.slug: cls for cls in _CONNECTORS}
