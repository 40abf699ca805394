"""Serve an emulator with uvicorn on loopback in a background thread (tests, the demo, benchmarks)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn

from rmmbridge.connectors.testing.state import EmulatorState


@dataclass
class RunningEmulator:
    """An emulator being served: its base URL, its live state, and the credentials it accepts."""

    url: str
    state: EmulatorState
    credentials: dict[str, str]


def make_state(
    slug: str,
    *,
    seed: int = 1,
    customers: int = 5,
    devices: int = 50,
    alerts: int = 5,
    faults: Iterable[str] = (),
    page_size: int | None = None,
) -> EmulatorState:
    """A fresh state of the vendor's emulator; raise KeyError naming the known slugs when unknown."""
    from rmmbridge.connectors.testing import EMULATORS

    if slug not in EMULATORS:
        raise KeyError(f"No emulator for {slug!r}; known: {', '.join(sorted(EMULATORS))}.")
    state_class, _ = EMULATORS[slug]
    return state_class(seed=seed, customers=customers, devices=devices, alerts=alerts, faults=tuple(faults),
                       page_size=page_size)


@contextmanager
def serve_state(state: EmulatorState, *, host: str = "127.0.0.1", port: int = 0) -> Iterator[RunningEmulator]:
    """Serve an existing state until the block exits."""
    from rmmbridge.connectors.testing import EMULATORS

    _, create_app = EMULATORS[state.slug]
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # inherited by accepted sockets: no 40 ms stalls
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(state), log_level="critical", access_log=False, lifespan="off",
                            timeout_keep_alive=30)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                              name=f"emulator-{state.slug}-{bound_port}")
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"The {state.slug} emulator did not start on {host}:{bound_port}.")
        time.sleep(0.01)
    url = f"http://{host}:{bound_port}"
    try:
        yield RunningEmulator(url=url, state=state, credentials=state.public_credentials(url))
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()


@contextmanager
def serve_emulator(
    slug: str,
    *,
    seed: int = 1,
    customers: int = 5,
    devices: int = 50,
    alerts: int = 5,
    faults: Iterable[str] = (),
    page_size: int | None = None,
) -> Iterator[RunningEmulator]:
    """Serve the vendor's emulator on 127.0.0.1 at a free port in a background thread until the block exits."""
    state = make_state(slug, seed=seed, customers=customers, devices=devices, alerts=alerts, faults=faults,
                       page_size=page_size)
    with serve_state(state) as running:
        yield running
