"""The connector contract suite: subclass ConnectorContract with `slug` (and `devices_path`) in a vendor's tests.

Every test talks HTTP to the vendor's emulator served by uvicorn on loopback, through `open_connector` — the same
stack production uses (auth flow, rate limiter, retries, request log). Retries use a fast backoff.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from rmmbridge.connectors import get_connector
from rmmbridge.connectors.base import Capability, Connector
from rmmbridge.connectors.errors import ConnectorFatalError, ConnectorRetryableError, ConnectorUnavailableError
from rmmbridge.connectors.http import RequestLog, RetryPolicy
from rmmbridge.connectors.opening import open_connector
from rmmbridge.connectors.records import (
    AlertState,
    DeviceType,
    RemoteAlert,
    RemoteCustomer,
    RemoteDevice,
    RemoteSite,
    RemoteUser,
)
from rmmbridge.connectors.testing.server import RunningEmulator, serve_emulator

FAST_RETRY = RetryPolicy(max_retries=3, backoff_base=0.01, backoff_max=0.05, retry_after_cap=3.0)


def free_closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def assert_valid_device(device: RemoteDevice) -> None:
    assert isinstance(device, RemoteDevice)
    assert device.external_id
    assert isinstance(device.external_id, str)
    assert device.hostname
    assert isinstance(device.hostname, str)
    assert isinstance(device.device_type, DeviceType)
    assert device.fields, f"device {device.external_id} has no flattened vendor fields"
    assert all(isinstance(k, str) and k for k in device.fields)
    assert device.last_seen is None or device.last_seen.tzinfo is not None, "last_seen must be timezone-aware"


class ConnectorContract:
    """Behaviour every connector must show against its emulator. Subclass and set `slug` and `devices_path`."""

    slug: ClassVar[str]
    #: The vendor API path that lists devices (fault injection targets it).
    devices_path: ClassVar[str]
    #: Estate size for the general tests; pagination uses its own small page size.
    devices: ClassVar[int] = 23
    customers: ClassVar[int] = 4
    alerts: ClassVar[int] = 4
    page_size: ClassVar[int] = 5

    # --- fixtures -----------------------------------------------------------------------------------------------
    @pytest.fixture
    def emulator(self) -> Iterator[RunningEmulator]:
        with serve_emulator(self.slug, seed=7, customers=self.customers, devices=self.devices, alerts=self.alerts,
                            page_size=self.page_size) as running:
            yield running

    def connect(self, emulator: RunningEmulator, request_log: RequestLog | None = None,
                overrides: dict[str, str] | None = None) -> Any:
        """open_connector with the emulator's credentials (some overridden), a fast retry policy and 5 s timeout."""
        credentials = {**emulator.credentials, **(overrides or {})}
        return open_connector(self.slug, credentials, request_log=request_log, retry=FAST_RETRY, timeout=5)

    def connector_class(self) -> type[Connector]:
        return get_connector(self.slug)

    def device_requests(self, emulator: RunningEmulator) -> int:
        return sum(n for key, n in emulator.state.requests_by_path.items() if key == f"GET {self.devices_path}")

    # --- test_connection ----------------------------------------------------------------------------------------
    def test_connection_ok(self, emulator: RunningEmulator) -> None:
        with self.connect(emulator) as connector:
            result = connector.test_connection()
        assert result.ok, result.message
        assert result.error_key is None
        assert result.account is not None
        assert result.account.account_id

    def test_connection_invalid_auth(self, emulator: RunningEmulator) -> None:
        secret_keys = self.connector_class().credentials_model.secret_keys()
        wrong = {key: f"wrong-{emulator.credentials[key]}" for key in secret_keys}
        with self.connect(emulator, overrides=wrong) as connector:
            result = connector.test_connection()
        assert not result.ok
        assert result.error_key == "invalid_auth", result.message
        assert result.message.startswith("Validation failed – 401 Unauthorized"), result.message

    def test_connection_cannot_connect(self, emulator: RunningEmulator) -> None:
        url_key = emulator.state.url_key
        with self.connect(emulator, overrides={url_key: f"http://127.0.0.1:{free_closed_port()}"}) as connector:
            result = connector.test_connection()
        assert not result.ok
        assert result.error_key == "cannot_connect", result.message
        assert "cannot connect" in result.message.lower()

    # --- records --------------------------------------------------------------------------------------------------
    def test_every_capability_yields_valid_records(self, emulator: RunningEmulator) -> None:
        with self.connect(emulator) as connector:
            caps = connector.capabilities
            if Capability.CUSTOMERS in caps:
                customers = list(connector.iter_customers())
                assert customers
                assert all(isinstance(c, RemoteCustomer) and c.external_id and c.name
                                         for c in customers)
                assert len({c.external_id for c in customers}) == len(customers)
            if Capability.SITES in caps:
                sites = list(connector.iter_sites())
                assert sites
                assert all(isinstance(s, RemoteSite) and s.external_id and s.name for s in sites)
            if Capability.USERS in caps:
                users = list(connector.iter_users())
                assert all(isinstance(u, RemoteUser) and u.external_id and u.name for u in users)
            if Capability.DEVICES in caps:
                devices = list(connector.iter_devices())
                for device in devices:
                    assert_valid_device(device)
                assert len(devices) == emulator.state.device_count()
                assert len({d.external_id for d in devices}) == len(devices)
                kinds = {d.device_type for d in devices}
                assert {DeviceType.SERVER, DeviceType.WORKSTATION} <= kinds, kinds
                assert connector.available_fields(), "available_fields must list mappable fields"
            if Capability.ALERTS_POLL in caps:
                alerts = list(connector.iter_alerts(AlertState.OPEN))
                assert alerts
                assert all(isinstance(a, RemoteAlert) and a.external_id and a.state is AlertState.OPEN
                                      for a in alerts)
                assert {a.external_id for a in alerts} == {a.id for a in emulator.state.open_alerts()}
            assert connector.skipped_records == 0

    def test_pagination_spans_at_least_three_pages(self, emulator: RunningEmulator) -> None:
        with self.connect(emulator) as connector:
            devices = list(connector.iter_devices())
        assert len(devices) == self.devices
        assert self.device_requests(emulator) >= 3
        assert self.devices > 2 * self.page_size

    def test_streams_page_by_page(self, emulator: RunningEmulator) -> None:
        with self.connect(emulator) as connector:
            first = next(iter(connector.iter_devices()))
            assert first.external_id
            assert self.device_requests(emulator) == 1

    # --- faults ---------------------------------------------------------------------------------------------------
    def test_429_is_honoured(self, emulator: RunningEmulator) -> None:
        emulator.state.faults.add(f"429:GET:{self.devices_path}:times=1,retry_after=1")
        started = time.monotonic()
        with self.connect(emulator) as connector:
            devices = list(connector.iter_devices())
        assert len(devices) == self.devices
        assert time.monotonic() - started >= 0.9, "Retry-After: 1 was not waited for"

    def test_5xx_is_retried(self, emulator: RunningEmulator) -> None:
        emulator.state.faults.add(f"500:GET:{self.devices_path}:times=2")
        with self.connect(emulator) as connector:
            assert len(list(connector.iter_devices())) == self.devices

    def test_5xx_is_surfaced_after_retries(self, emulator: RunningEmulator) -> None:
        emulator.state.faults.add(f"503:GET:{self.devices_path}:times=0")
        with self.connect(emulator) as connector, pytest.raises(ConnectorUnavailableError) as info:
            list(connector.iter_devices())
        assert info.value.status == 503
        assert self.device_requests(emulator) == FAST_RETRY.max_retries + 1

    def test_dropped_connection_and_slow_answer_are_retried(self, emulator: RunningEmulator) -> None:
        emulator.state.faults.add(f"drop:GET:{self.devices_path}:times=1")
        emulator.state.faults.add(f"slow:GET:{self.devices_path}:times=1,delay=1.5")
        with open_connector(self.slug, emulator.credentials, retry=FAST_RETRY, timeout=0.5) as connector:
            assert len(list(connector.iter_devices())) == self.devices

    def test_malformed_json_is_a_retryable_error(self, emulator: RunningEmulator) -> None:
        emulator.state.faults.add(f"malformed-json:GET:{self.devices_path}:times=1")
        with self.connect(emulator) as connector, pytest.raises(ConnectorRetryableError) as info:
            list(connector.iter_devices())
        assert "malformed JSON" in info.value.message

    def test_malformed_item_is_skipped_and_counted(self, emulator: RunningEmulator) -> None:
        emulator.state.faults.add(f"malformed-item:GET:{self.devices_path}:times=1")
        with self.connect(emulator) as connector:
            devices = list(connector.iter_devices())
            assert connector.skipped_records == 1
            assert connector.skipped_messages
        assert len(devices) == self.devices - 1

    def test_repeated_page_token_stops_with_an_error(self, emulator: RunningEmulator) -> None:
        emulator.state.faults.add(f"repeat-page:GET:{self.devices_path}:times=0,after=1")
        with self.connect(emulator) as connector, pytest.raises(ConnectorFatalError) as info:
            list(connector.iter_devices())
        assert "twice" in info.value.message
        assert self.device_requests(emulator) < 10

    def test_expired_token_is_refreshed(self, emulator: RunningEmulator) -> None:
        with self.connect(emulator) as connector:
            assert connector.test_connection().ok
            assert emulator.state.expire_tokens() >= 1
            assert connector.test_connection().ok
        assert len(emulator.state.tokens) == 1

    # --- secrets --------------------------------------------------------------------------------------------------
    def test_no_secret_or_token_in_logs(self, emulator: RunningEmulator, caplog: pytest.LogCaptureFixture) -> None:
        caplog.set_level(logging.DEBUG)
        log = RequestLog(max_entries=500)
        secret_keys = self.connector_class().credentials_model.secret_keys()
        secrets = [emulator.credentials[k] for k in secret_keys]
        with self.connect(emulator, request_log=log) as connector:
            assert connector.test_connection().ok
            list(connector.iter_devices())
        bad_credentials = {k: f"bad-{emulator.credentials[k]}" for k in secret_keys}
        with self.connect(emulator, request_log=log, overrides=bad_credentials) as bad:
            assert not bad.test_connection().ok
        tokens = list(emulator.state.tokens)
        assert tokens, "the emulator issued no token"
        entries = log.entries()
        assert entries
        assert any(e.status == 401 or (e.status or 0) >= 400 for e in entries)
        text = "\n".join(f"{e.url} {e.request_body} {e.response_body} {e.error}" for e in entries) + caplog.text
        for value in [*secrets, *tokens]:
            assert value not in text, "a secret or token leaked into the logs"

    def test_request_log_is_bounded(self, emulator: RunningEmulator) -> None:
        log = RequestLog(max_entries=3, body_limit=50)
        with self.connect(emulator, request_log=log) as connector:
            list(connector.iter_devices())
        entries = log.entries()
        assert len(entries) == 3
        assert all(len(e.response_body) <= 50 + 40 for e in entries)
        assert all(e.status == 200 and e.duration_ms >= 0 and e.method for e in entries)

    # --- alerts ---------------------------------------------------------------------------------------------------
    def test_resolve_alert_changes_the_emulator_state(self, emulator: RunningEmulator) -> None:
        with self.connect(emulator) as connector:
            if Capability.ALERT_RESOLVE not in connector.capabilities:
                pytest.skip(f"{connector.name} cannot resolve alerts through its API")
            open_alerts = list(connector.iter_alerts(AlertState.OPEN))
            target = open_alerts[0].external_id
            connector.resolve_alert(target)
            still_open = {a.external_id for a in connector.iter_alerts(AlertState.OPEN)}
        assert emulator.state.alerts[target].resolved
        assert target not in still_open
        assert [c["alert_id"] for c in emulator.state.resolve_calls] == [target]
