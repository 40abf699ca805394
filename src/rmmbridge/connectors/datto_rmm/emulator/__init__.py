"""The Datto RMM emulator: `create_app(state)` and `DattoRmmEmulatorState`."""

from __future__ import annotations

from rmmbridge.connectors.datto_rmm.emulator.app import create_app
from rmmbridge.connectors.datto_rmm.emulator.state import DattoRmmEmulatorState

__all__ = ["DattoRmmEmulatorState", "create_app"]
