"""The Atera emulator: `create_app(state)` and `AteraEmulatorState`."""

from __future__ import annotations

from rmmbridge.connectors.atera.emulator.app import create_app
from rmmbridge.connectors.atera.emulator.state import AteraEmulatorState

__all__ = ["AteraEmulatorState", "create_app"]
