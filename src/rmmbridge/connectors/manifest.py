"""A vendor's manifest: the one object the registry, the emulator list and the alert hooks are derived from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rmmbridge.connectors.base import Connector

#: The alert hooks a vendor's alerts module may define (all optional).
ALERT_HOOKS: tuple[str, ...] = ("parse_webhook", "parse_alert_email", "challenge_response")


@dataclass(frozen=True)
class VendorManifest:
    """Everything the rest of rmmbridge needs to know to offer one RMM vendor.

    ``emulator`` is ``"package:StateClass"`` (the package exposes ``create_app(state)``); ``alerts`` names the
    module with the vendor's alert hooks (ALERT_HOOKS: webhook body parser, alert e-mail parser, webhook
    challenge), "" for a vendor without any; ``email_sender`` is the From address of the vendor's alert e-mails
    ("" when each server sends from its own); ``notes`` tell an admin which alert channels apply (Alerting page).
    """

    slug: str
    name: str
    connector: type[Connector]
    emulator: str
    alerts: str = ""
    email_sender: str = ""
    notes: str = ""

    @property
    def emulator_module(self) -> str:
        return self.emulator.partition(":")[0]

    @property
    def emulator_state(self) -> str:
        return self.emulator.partition(":")[2]

    def alerts_module(self) -> ModuleType | None:
        """The vendor's alerts module, imported on first use; None when the vendor has none."""
        return import_module(self.alerts) if self.alerts else None

    def alert_hook(self, name: str) -> Callable[..., Any] | None:
        """One of ALERT_HOOKS from the vendor's alerts module, or None when the vendor does not define it."""
        if name not in ALERT_HOOKS:
            raise KeyError(f"Unknown alert hook {name!r}; known: {', '.join(ALERT_HOOKS)}.")
        module = self.alerts_module()
        found = getattr(module, name, None) if module is not None else None
        return found if callable(found) else None
