"""The NinjaOne emulator: `create_app(state)` and `NinjaOneEmulatorState`."""

from __future__ import annotations

from rmmbridge.connectors.ninjaone.emulator.app import create_app
from rmmbridge.connectors.ninjaone.emulator.state import NinjaOneEmulatorState

__all__ = ["NinjaOneEmulatorState", "create_app"]
