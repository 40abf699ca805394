"""Atera passes the shared connector contract suite over HTTP against its emulator.

Atera authenticates every request with a static API key (no token endpoint), so the two token tests of the suite are
replaced by their API-key equivalents: a key revoked mid-run is a clear 401, and the key never reaches the logs.
"""

from __future__ import annotations

import logging

import pytest

from rmmbridge.connectors.http import RequestLog
from rmmbridge.connectors.testing.contract import ConnectorContract
from rmmbridge.connectors.testing.server import RunningEmulator


class TestAteraContract(ConnectorContract):
    slug = "atera"
    devices_path = "/api/v3/agents"
    devices = 29  # ≥ 23 agents (3+ pages of 5) once the printers and network devices go to the SNMP list

    def test_expired_token_is_refreshed(self, emulator: RunningEmulator) -> None:
        """No token to refresh: the key goes on every request; a key revoked in Atera fails with invalid_auth."""
        with self.connect(emulator) as connector:
            assert connector.test_connection().ok
            assert emulator.state.tokens == {}
            emulator.state.credentials["api_key"] = "revoked-" + emulator.state.credentials["api_key"]
            result = connector.test_connection()
        assert not result.ok
        assert result.error_key == "invalid_auth"
        assert "Check the API key" in result.message

    def test_no_secret_or_token_in_logs(self, emulator: RunningEmulator, caplog: pytest.LogCaptureFixture) -> None:
        caplog.set_level(logging.DEBUG)
        log = RequestLog(max_entries=500)
        key = emulator.credentials["api_key"]
        jwt = emulator.state.jwt  # type: ignore[attr-defined]
        with self.connect(emulator, request_log=log) as connector:
            assert connector.test_connection().ok
            list(connector.iter_devices())
        with self.connect(emulator, request_log=log, overrides={"api_key": jwt}) as bearer:
            assert bearer.test_connection().ok
        with self.connect(emulator, request_log=log, overrides={"api_key": f"bad-{key}"}) as bad:
            assert not bad.test_connection().ok
        entries = log.entries()
        assert any(e.status == 401 for e in entries)
        text = "\n".join(f"{e.url} {e.request_body} {e.response_body} {e.error}" for e in entries) + caplog.text
        for value in (key, jwt, f"bad-{key}"):
            assert value not in text, "an API key leaked into the logs"
