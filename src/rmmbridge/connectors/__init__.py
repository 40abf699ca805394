"""RMM connectors: pure Python (no Django), one folder per vendor, registered in REGISTRY."""

from __future__ import annotations

from rmmbridge.connectors.base import Capability, ConnectionTestResult, Connector
from rmmbridge.connectors.errors import UnknownConnectorError

__all__ = ["REGISTRY", "Capability", "ConnectionTestResult", "Connector", "get_connector"]

# One line per vendor: slug -> connector class. Filled by rmmbridge.connectors.registry.
from rmmbridge.connectors.registry import REGISTRY


def get_connector(slug: str) -> type[Connector]:
    """The connector class registered under `slug`."""
    try:
        return REGISTRY[slug]
    except KeyError:
        raise UnknownConnectorError(
            f"Unknown RMM vendor '{slug}'. Known vendors: {', '.join(sorted(REGISTRY)) or 'none'}."
        ) from None
