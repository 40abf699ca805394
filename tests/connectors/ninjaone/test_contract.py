"""NinjaOne passes the shared connector contract suite over HTTP against its emulator."""

from __future__ import annotations

from rmmbridge.connectors.testing.contract import ConnectorContract


class TestNinjaOneContract(ConnectorContract):
    slug = "ninjaone"
    devices_path = "/v2/devices-detailed"
