"""The ConnectWise Automate emulator: `create_app(state)` and `CwAutomateEmulatorState`."""

from __future__ import annotations

from rmmbridge.connectors.cw_automate.emulator.app import create_app
from rmmbridge.connectors.cw_automate.emulator.state import CwAutomateEmulatorState

__all__ = ["CwAutomateEmulatorState", "create_app"]
