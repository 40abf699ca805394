"""Background services started in-process by `rmmbridge serve` (embedded mode)."""

from __future__ import annotations

import importlib
import logging

logger = logging.getLogger(__name__)

# Each module exposes start() -> None and is started once by `rmmbridge serve` in embedded mode.
EMBEDDED_SERVICES: list[str] = [
    "rmmbridge.integrator.embedded",
    "rmmbridge.alerts.embedded",
    "rmmbridge.sync.demo",  # serves the demo's emulated RMMs again when demo integrations exist
]


def start_embedded_services() -> None:
    """Start every embedded service listed in EMBEDDED_SERVICES."""
    from django.conf import settings

    if settings.RUN_MODE != "embedded":
        logger.info("RMMBRIDGE_MODE=%s: embedded services not started", settings.RUN_MODE)
        return
    for dotted in EMBEDDED_SERVICES:
        importlib.import_module(dotted).start()
