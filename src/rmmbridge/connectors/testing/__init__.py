"""Vendor emulators and the connector contract suite: EmulatorState base, control API, server, EMULATORS."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from functools import cache
from importlib import import_module

from starlette.applications import Starlette

from rmmbridge.connectors.testing.estate import EmulatedAlert, EmulatedCustomer, EmulatedDevice, EmulatedSite
from rmmbridge.connectors.testing.faults import Fault, FaultSpecError, parse_fault
from rmmbridge.connectors.testing.state import EmulatorState

__all__ = [
    "EMULATORS",
    "EmulatedAlert",
    "EmulatedCustomer",
    "EmulatedDevice",
    "EmulatedSite",
    "EmulatorState",
    "Fault",
    "FaultSpecError",
    "parse_fault",
]

EmulatorEntry = tuple[type[EmulatorState], Callable[[EmulatorState], Starlette]]

@cache
def _emulator_modules() -> dict[str, tuple[str, str]]:
    """slug -> (emulator package, state class name), from the vendors' manifests (imported on first use)."""
    from rmmbridge.connectors.registry import MANIFESTS

    return {m.slug: (m.emulator_module, m.emulator_state) for m in MANIFESTS}


class _Emulators(Mapping[str, EmulatorEntry]):
    """slug -> (state class, create_app), imported on first use (vendor emulators import this package)."""

    def __getitem__(self, slug: str) -> EmulatorEntry:
        module_name, class_name = _emulator_modules()[slug]
        module = import_module(module_name)
        state_class: type[EmulatorState] = getattr(module, class_name)
        create_app: Callable[[EmulatorState], Starlette] = module.create_app
        return state_class, create_app

    def __iter__(self) -> Iterator[str]:
        return iter(_emulator_modules())

    def __len__(self) -> int:
        return len(_emulator_modules())


EMULATORS: Mapping[str, EmulatorEntry] = _Emulators()
