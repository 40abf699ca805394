"""Demo step: serve emulated Datto RMM and NinjaOne estates on loopback, add their integrations, run the first sync.

The emulators run in background threads of this process (a module-level registry), so they live while
`rmmbridge demo` goes on to serve; with `demo --no-serve` they stop when the process exits. `start()` (an
embedded service) brings them back on their stored ports when `rmmbridge serve` runs later.
"""

from __future__ import annotations

import atexit
import logging
import threading
from contextlib import ExitStack
from typing import Any

import httpx

from rmmbridge.connectors import REGISTRY
from rmmbridge.connectors.errors import ConnectorError
from rmmbridge.connectors.testing.server import RunningEmulator, make_state, serve_state
from rmmbridge.integrations import actions
from rmmbridge.integrations.models import Integration
from rmmbridge.servicedesk.actions import Actor

logger = logging.getLogger(__name__)

#: (vendor slug, integration name, estate) of each emulated RMM the demo shows.
DEMO_ESTATES: tuple[tuple[str, str, dict[str, int]], ...] = (
    ("datto_rmm", "Demo Datto RMM", {"seed": 11, "customers": 4, "devices": 60, "alerts": 3}),
    ("ninjaone", "Demo NinjaOne", {"seed": 12, "customers": 3, "devices": 40, "alerts": 3}),
)
URL_KEYS = ("api_url", "instance_url", "base_url", "url")

_RUNNING: dict[str, RunningEmulator] = {}
_STACK = ExitStack()
_LOCK = threading.Lock()


def running() -> dict[str, RunningEmulator]:
    """The emulators this process serves, by vendor slug."""
    return dict(_RUNNING)


def stop_all() -> None:
    """Stop every emulator this process started."""
    with _LOCK:
        _STACK.close()
        _RUNNING.clear()


def _stored_port(integration: Integration | None) -> int:
    if integration is None:
        return 0
    try:
        credentials = integration.get_credentials()
    except Exception:  # undecryptable (other key): start on a new port and store fresh credentials
        return 0
    for key in URL_KEYS:
        value = str(credentials.get(key) or "")
        if value.startswith("http://127.0.0.1:"):
            port = httpx.URL(value).port
            return int(port) if port else 0
    return 0


def ensure_emulator(slug: str, estate: dict[str, int], port: int = 0) -> RunningEmulator:
    """Serve the vendor's emulator (once per process), on `port` when it is free, else on any free port."""
    with _LOCK:
        if slug in _RUNNING:
            return _RUNNING[slug]
        if not _RUNNING:
            atexit.register(stop_all)
        state = make_state(slug, seed=estate["seed"], customers=estate["customers"], devices=estate["devices"],
                           alerts=estate["alerts"])
        try:
            emulator = _STACK.enter_context(serve_state(state, port=port))
        except OSError:
            emulator = _STACK.enter_context(serve_state(state, port=0))
        _RUNNING[slug] = emulator
        return emulator


def _integration_for(slug: str, name: str, emulator: RunningEmulator, actor: Actor) -> Integration:
    integration = Integration.objects.filter(name=name).first()
    if integration is None:
        return actions.do_create_integration(actor, slug, name, dict(emulator.credentials), test=True)
    try:
        current = integration.get_credentials()
    except Exception:
        current = {}
    if any(str(current.get(k)) != str(v) for k, v in emulator.credentials.items()):
        actions.do_update_credentials(actor, integration, dict(emulator.credentials), test=True)
    return integration


def run(out: Any) -> None:
    """Start the emulators, add (or re-point) their integrations and sync them; safe to run again."""
    from rmmbridge.sync.runner import run_sync

    actor = Actor.system("demo")
    for slug, name, estate in DEMO_ESTATES:
        if slug not in REGISTRY:
            out.write(f"Skipping {name}: the {slug} connector is not installed.")
            continue
        existing = Integration.objects.filter(name=name).first()
        emulator = ensure_emulator(slug, estate, _stored_port(existing))
        integration = _integration_for(slug, name, emulator, actor)
        try:
            sync = run_sync(integration.pk, trigger="cli", actor_label="demo", confirm=True)
        except ConnectorError as exc:
            out.write(f"{name}: emulator on {emulator.url}, but the sync failed: {exc.message}")
            continue
        assets = sync.counts.get("assets", {})
        customers = sync.counts.get("customers", {})
        out.write(f"{name}: emulator on {emulator.url}; sync #{sync.pk} {sync.status}: "
                  f"{customers.get('created', 0)} customers and {assets.get('created', 0)} assets created, "
                  f"{assets.get('unchanged', 0)} unchanged (see /sync/).")


def start() -> None:
    """Embedded service: serve the demo emulators again for demo integrations that exist (on their ports)."""
    for slug, name, estate in DEMO_ESTATES:
        integration = Integration.objects.filter(name=name, vendor=slug).first()
        port = _stored_port(integration)
        if integration is None or port == 0 or slug not in REGISTRY:
            continue
        emulator = ensure_emulator(slug, estate, port)
        if httpx.URL(emulator.url).port != port:
            _integration_for(slug, name, emulator, Actor.system("demo"))
        logger.info("demo emulator %s serving on %s", slug, emulator.url)
