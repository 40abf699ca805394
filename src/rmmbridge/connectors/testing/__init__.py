"""Vendor emulators and the connector contract suite: EmulatorState base, control API, server, EMULATORS."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
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

# One line per vendor: slug -> (emulator package, state class name). The package exposes `create_app(state)`.
_EMULATOR_MODULES: dict[str, tuple[str, str]] = {
    "addigy": ("rmmbridge.connectors.addigy.emulator", "AddigyEmulatorState"),
    "atera": ("rmmbridge.connectors.atera.emulator", "AteraEmulatorState"),
    "cw_automate": ("rmmbridge.connectors.cw_automate.emulator", "CwAutomateEmulatorState"),
    "datto_rmm": ("rmmbridge.connectors.datto_rmm.emulator", "DattoRmmEmulatorState"),
    "ncentral": ("rmmbridge.connectors.ncentral.emulator", "NcentralEmulatorState"),
    "ninjaone": ("rmmbridge.connectors.ninjaone.emulator", "NinjaOneEmulatorState"),
}


class _Emulators(Mapping[str, EmulatorEntry]):
    """slug -> (state class, create_app), imported on first use (vendor emulators import this package)."""

    def __getitem__(self, slug: str) -> EmulatorEntry:
        module_name, class_name = _EMULATOR_MODULES[slug]
        module = import_module(module_name)
        state_class: type[EmulatorState] = getattr(module, class_name)
        create_app: Callable[[EmulatorState], Starlette] = module.create_app
        return state_class, create_app

    def __iter__(self) -> Iterator[str]:
        return iter(_EMULATOR_MODULES)

    def __len__(self) -> int:
        return len(_EMULATOR_MODULES)


EMULATORS: Mapping[str, EmulatorEntry] = _Emulators()
