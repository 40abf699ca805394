"""Datto RMM over HTTP: a 403 that is a rate block is retried, alert-resolve keeps its own 100 per 60 s, one token."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from rmmbridge.connectors.datto_rmm import const
from rmmbridge.connectors.datto_rmm.client import forget_tokens
from rmmbridge.connectors.datto_rmm.connector import DattoRmmConnector
from rmmbridge.connectors.errors import ConnectorAuthError, ConnectorForbiddenError, ConnectorRateLimitedError
from rmmbridge.connectors.http import RetryPolicy
from rmmbridge.connectors.opening import open_connector
from rmmbridge.connectors.ratelimit import RollingWindowLimiter
from rmmbridge.connectors.testing.server import RunningEmulator, serve_emulator

FAST = RetryPolicy(max_retries=2, backoff_base=0.01, backoff_max=0.02, retry_after_cap=0.05)


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    forget_tokens()
    with serve_emulator(const.SLUG, seed=31, customers=4, devices=30, alerts=150, page_size=50) as running:
        yield running


def connect(emulator: RunningEmulator) -> Any:
    return open_connector(const.SLUG, {**emulator.credentials, "fetch_audits": False}, retry=FAST, timeout=10)


def test_403_with_retry_after_is_a_block_backed_off_and_retried(emulator: RunningEmulator) -> None:
    state = emulator.state
    with connect(emulator) as connector:
        assert isinstance(connector, DattoRmmConnector)
        assert connector.test_connection().ok  # token + account
        waits: list[float] = []

        def sleep(seconds: float) -> None:
            waits.append(seconds)
            state.rate_limit_per_minute = None  # type: ignore[misc]  # the block is over

        connector.client.sleep = sleep
        state.rate_limit_per_minute = 2  # type: ignore[misc]  # already used up: the next call is refused
        state.rate_limit_block_after = 0  # type: ignore[misc]  # … with Datto's 403 IP block at once
        state.rate_limit_block_seconds = 30.0  # type: ignore[misc]
        sites = list(connector.iter_sites())
    assert len(sites) == len(state.sites)
    assert waits == [30.0]  # Retry-After honoured


def test_403_on_an_endpoint_that_worked_is_retried(emulator: RunningEmulator) -> None:
    with connect(emulator) as connector:
        assert isinstance(connector, DattoRmmConnector)
        waits: list[float] = []
        connector.client.sleep = waits.append
        first = list(connector.iter_sites())
        emulator.state.faults.add("403:GET:/api/v2/account/sites:times=2")
        again = list(connector.iter_sites())
    assert again == first
    assert waits == [5.0, 10.0]  # no Retry-After: backoff doubling


def test_a_block_that_lasts_becomes_retry_later_not_bad_credentials(emulator: RunningEmulator) -> None:
    state = emulator.state
    with connect(emulator) as connector:
        assert isinstance(connector, DattoRmmConnector)
        assert connector.test_connection().ok
        connector.client.sleep = lambda seconds: None
        state.rate_limit_per_minute = 2  # type: ignore[misc]
        state.rate_limit_block_after = 0  # type: ignore[misc]
        with pytest.raises(ConnectorRateLimitedError) as info:
            list(connector.iter_sites())
    assert not isinstance(info.value, ConnectorAuthError)
    assert info.value.retry_after == 300
    assert info.value.status == 403
    assert "not wrong credentials" in info.value.message


def test_403_on_the_account_call_or_a_never_working_endpoint_needs_permission(emulator: RunningEmulator) -> None:
    emulator.state.faults.add("403:GET:/api/v2/account/devices:times=1")
    with connect(emulator) as connector, pytest.raises(ConnectorForbiddenError):  # an auth error: needs re-auth
        list(connector.iter_devices())
    emulator.state.faults.add("403:GET:/api/v2/account:times=1")
    with connect(emulator) as connector:
        assert connector.test_connection().error_key == "forbidden"


def test_emulator_answers_429_above_100_resolves_per_minute(emulator: RunningEmulator) -> None:
    with connect(emulator) as connector:
        assert connector.test_connection().ok
        token = connector.client.auth._token.value
    alerts = [a.id for a in emulator.state.open_alerts()][:101]
    with httpx.Client(base_url=emulator.url, headers={"Authorization": f"Bearer {token}"}) as raw:
        statuses = [raw.post(f"/api/v2/alert/{uid}/resolve").status_code for uid in alerts]
        rate = raw.get("/api/v2/system/request_rate").json()
    assert statuses[:100] == [200] * 100
    assert statuses[100] == 429
    assert rate["operationWriteStatus"]["alert-resolve"] == {"count": 100, "limit": 100}


def test_bulk_close_paces_resolves_and_reuses_one_token(emulator: RunningEmulator) -> None:
    """110 resolves, one connector each (as the outbox opens them): never a 429, one token for all of them."""
    emulator.state.resolve_limit_per_minute = None  # type: ignore[attr-defined]  # time below is virtual
    now = [1000.0]
    stamps: list[float] = []

    def sleep(seconds: float) -> None:
        now[0] += seconds

    limiter = RollingWindowLimiter(const.ALERT_RESOLVE_PER_MINUTE, 60.0, clock=lambda: now[0], sleep=sleep)
    for uid in [a.id for a in emulator.state.open_alerts()][:110]:
        with connect(emulator) as connector:
            assert isinstance(connector, DattoRmmConnector)
            assert connector.resolve_limiter.limit == 100
            connector.resolve_limiter = limiter
            connector.resolve_alert(uid)
            stamps.append(now[0])
    statuses = [c["status"] for c in emulator.state.resolve_calls]
    assert statuses == [200] * 110
    assert all(b - a >= 60.0 for a, b in zip(stamps, stamps[100:], strict=False))  # ≤ 100 in any 60 s
    assert now[0] - 1000.0 >= 60.0
    assert emulator.state.requests_by_path[f"POST {const.TOKEN_PATH}"] == 1


def test_the_resolve_limiter_is_shared_per_account() -> None:
    forget_tokens()
    with serve_emulator(const.SLUG, seed=32, customers=1, devices=1, alerts=3) as emulator, \
            connect(emulator) as one, connect(emulator) as two:
        assert one.resolve_limiter is two.resolve_limiter
        started = time.monotonic()
        one.resolve_alert(emulator.state.open_alerts()[0].id)
        assert one.resolve_limiter.in_window() == 1
        assert time.monotonic() - started < 5
