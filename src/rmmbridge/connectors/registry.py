"""The registry of RMM connectors: one line per vendor."""

from __future__ import annotations

from rmmbridge.connectors.addigy.connector import AddigyConnector
from rmmbridge.connectors.atera.connector import AteraConnector
from rmmbridge.connectors.base import Connector
from rmmbridge.connectors.cw_automate.connector import CwAutomateConnector
from rmmbridge.connectors.datto_rmm.connector import DattoRmmConnector
from rmmbridge.connectors.ncentral.connector import NcentralConnector
from rmmbridge.connectors.ninjaone.connector import NinjaOneConnector

_CONNECTORS: tuple[type[Connector], ...] = (
    AddigyConnector,
    AteraConnector,
    CwAutomateConnector,
    DattoRmmConnector,
    NcentralConnector,
    NinjaOneConnector,
)

REGISTRY: dict[str, type[Connector]] = {cls.slug: cls for cls in _CONNECTORS}
