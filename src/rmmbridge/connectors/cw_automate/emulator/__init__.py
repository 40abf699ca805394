"""ConnectWise Automate emulator: `create_app(state)` and `CwAutomateEmulatorState` (see the package README).

Loaded lazily (PEP 562): `rmmbridge.connectors.testing` lists this package in EMULATORS while this package builds
on `rmmbridge.connectors.testing`, so importing either one first works.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rmmbridge.connectors.cw_automate.emulator.app import create_app
    from rmmbridge.connectors.cw_automate.emulator.state import CwAutomateEmulatorState

__all__ = ["CwAutomateEmulatorState", "create_app"]

_LAZY = {"create_app": "app", "CwAutomateEmulatorState": "state"}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
    globals()[name] = value
    return value
