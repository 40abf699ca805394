"""Atera emulator: `create_app(state)` and `AteraEmulatorState` (see the package README for what it covers).

Loaded lazily (PEP 562): `rmmbridge.connectors.testing` lists this package in EMULATORS while this package builds
on `rmmbridge.connectors.testing`, so importing either one first works.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rmmbridge.connectors.atera.emulator.app import create_app
    from rmmbridge.connectors.atera.emulator.state import AteraEmulatorState

__all__ = ["AteraEmulatorState", "create_app"]

_LAZY = {"create_app": "app", "AteraEmulatorState": "state"}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
    globals()[name] = value
    return value
