"""The Addigy emulator: `create_app(state)` and `AddigyEmulatorState`."""

from __future__ import annotations

from rmmbridge.connectors.addigy.emulator.app import create_app
from rmmbridge.connectors.addigy.emulator.state import AddigyEmulatorState

__all__ = ["AddigyEmulatorState", "create_app"]
