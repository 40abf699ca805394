"""N-central emulator: `create_app(state)` and `NcentralEmulatorState` (see the package README for what it covers)."""

from __future__ import annotations

from rmmbridge.connectors.ncentral.emulator.app import create_app
from rmmbridge.connectors.ncentral.emulator.state import NcentralEmulatorState

__all__ = ["NcentralEmulatorState", "create_app"]
