"""N-central passes the shared connector contract suite over HTTP against its emulator."""

from __future__ import annotations

from rmmbridge.connectors.testing.contract import ConnectorContract


class TestNcentralContract(ConnectorContract):
    slug = "ncentral"
    devices_path = "/api/devices"
