"""Addigy passes the shared connector contract suite over HTTP against its emulator.

Two adaptations, both because of how the real API works:

- Addigy lists with read-only POST queries (`POST /api/v2/devices`), while the suite writes its faults for
  `GET <devices_path>`. The fixture's fault queue turns a fault named for GET on a query path into the same fault
  for POST, and `device_requests` counts the POSTs: every fault test then runs unchanged against the real method.
- Addigy has no token exchange: the API key goes on every request (`x-api-key`). The two token tests are replaced
  by their API-key equivalents (a key revoked mid-run is a clear 401; the key never reaches the logs).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from rmmbridge.connectors.addigy import const
from rmmbridge.connectors.http import RequestLog
from rmmbridge.connectors.testing.contract import ConnectorContract
from rmmbridge.connectors.testing.faults import Fault, FaultQueue, parse_fault
from rmmbridge.connectors.testing.server import RunningEmulator, serve_emulator


class QueryFaultQueue(FaultQueue):
    """A fault queue that applies faults written for `GET <query path>` to `POST <query path>`."""

    def add(self, fault: Fault | str) -> Fault:
        parsed = parse_fault(fault) if isinstance(fault, str) else fault
        if parsed.method == "GET" and parsed.path in const.QUERY_PATHS:
            parsed.method = "POST"
        return super().add(parsed)


class TestAddigyContract(ConnectorContract):
    slug = const.SLUG
    devices_path = const.DEVICES

    @pytest.fixture
    def emulator(self) -> Iterator[RunningEmulator]:
        with serve_emulator(self.slug, seed=7, customers=self.customers, devices=self.devices, alerts=self.alerts,
                            page_size=self.page_size) as running:
            running.state.faults = QueryFaultQueue()
            yield running

    def device_requests(self, emulator: RunningEmulator) -> int:
        return emulator.state.requests_by_path.get(f"POST {self.devices_path}", 0)

    def test_expired_token_is_refreshed(self, emulator: RunningEmulator) -> None:
        """No token to refresh: a key revoked in Addigy fails the next call with invalid_auth."""
        with self.connect(emulator) as connector:
            assert connector.test_connection().ok
            assert emulator.state.tokens == {}
            emulator.state.credentials["client_secret"] = "revoked-" + emulator.state.credentials["client_secret"]
            result = connector.test_connection()
        assert not result.ok
        assert result.error_key == "invalid_auth"
        assert result.message.startswith("Validation failed – 401 Unauthorized")

    def test_no_secret_or_token_in_logs(self, emulator: RunningEmulator, caplog: pytest.LogCaptureFixture) -> None:
        caplog.set_level(logging.DEBUG)
        log = RequestLog(max_entries=500)
        key = emulator.credentials["client_secret"]
        with self.connect(emulator, request_log=log) as connector:
            assert connector.test_connection().ok
            list(connector.iter_devices())
        with self.connect(emulator, request_log=log, overrides={"client_secret": f"bad{key}"}) as bad:
            assert not bad.test_connection().ok
        entries = log.entries()
        assert any(e.status == 401 for e in entries)
        text = "\n".join(f"{e.url} {e.request_body} {e.response_body} {e.error}" for e in entries) + caplog.text
        assert key not in text, "the API key leaked into the logs"
        assert f"bad{key}" not in text
