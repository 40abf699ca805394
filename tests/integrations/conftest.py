"""Fixtures: the Datto RMM emulator served on loopback, and integrations created through the actions."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from rmmbridge.integrations import actions
from rmmbridge.integrations.models import Integration
from rmmbridge.servicedesk.actions import Actor


@pytest.fixture(scope="module")
def datto() -> Iterator[Any]:
    """A Datto RMM emulator on 127.0.0.1 with a small estate (3 sites, 30 devices, 4 open alerts)."""
    from rmmbridge.connectors.testing.server import serve_emulator

    with serve_emulator("datto_rmm", seed=7, customers=3, devices=30, alerts=4) as emulator:
        yield emulator


@pytest.fixture
def datto_creds(datto: Any) -> dict[str, str]:
    return dict(datto.credentials)


@pytest.fixture
def integration(db: Any, datto_creds: dict[str, str]) -> Integration:
    """A tested Datto RMM integration named 'Acme Datto'."""
    return actions.do_create_integration(Actor.cli("test"), "datto_rmm", "Acme Datto", datto_creds)


@pytest.fixture
def closed_port_url() -> str:
    """An http URL on loopback where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def secret_of(creds: dict[str, str]) -> str:
    return creds["api_secret"]
