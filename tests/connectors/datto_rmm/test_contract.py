"""Datto RMM passes the connector contract suite against its emulator over HTTP."""

from __future__ import annotations

from rmmbridge.connectors.datto_rmm import const
from rmmbridge.connectors.testing.contract import ConnectorContract


class TestDattoRmmContract(ConnectorContract):
    slug = const.SLUG
    devices_path = const.ACCOUNT_DEVICES
