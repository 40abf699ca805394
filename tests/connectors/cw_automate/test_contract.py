"""ConnectWise Automate passes the shared connector contract suite over HTTP against its emulator."""

from __future__ import annotations

from rmmbridge.connectors.testing.contract import ConnectorContract


class TestCwAutomateContract(ConnectorContract):
    slug = "cw_automate"
    devices_path = "/cwa/api/v1/Computers"
