"""Vendor emulators and the connector contract suite: EmulatorState base, control API, server, EMULATORS."""

from __future__ import annotations

from collections.abc import Callable

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

# One line per vendor: slug -> (state class, create_app). Imported last: vendor emulators import the modules above.
from rmmbridge.connectors.datto_rmm import emulator as _datto_rmm  # noqa: E402
from rmmbridge.connectors.ninjaone import emulator as _ninjaone  # noqa: E402

EMULATORS: dict[str, EmulatorEntry] = {
    "datto_rmm": (_datto_rmm.DattoRmmEmulatorState, _datto_rmm.create_app),  # type: ignore[dict-item]
    "ninjaone": (_ninjaone.NinjaOneEmulatorState, _ninjaone.create_app),
}
