"""Emulator ids for RMMs that number customers, sites and devices 1, 2, 3 … (NinjaOne, Atera, Automate)."""

from __future__ import annotations

from typing import ClassVar

from rmmbridge.connectors.testing.state import EmulatorState


class NumberedIds(EmulatorState):
    """Customer, site and device ids as the numbers 1, 2, 3 … instead of the base's seeded UUIDs.

    ``device_id_prefixes``: prefixes the vendor puts on ids of devices from another table (Atera ``snmp-``,
    Automate ``nd-``); ``device_index`` reads them back to the same device.
    """

    device_id_prefixes: ClassVar[tuple[str, ...]] = ()

    def customer_id(self, index: int) -> str:
        return str(index + 1)

    def site_id(self, index: int) -> str:
        return str(index + 1)

    def device_id(self, index: int) -> str:
        return str(index + 1)

    def device_index(self, device_id: str) -> int | None:
        text = str(device_id).strip()
        for prefix in self.device_id_prefixes:
            if text.startswith(prefix):
                text = text[len(prefix):]
                break
        if not text.isdigit() or int(text) < 1:
            return None
        return int(text) - 1
