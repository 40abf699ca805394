"""The shared HTTP layer: request log, redaction, retry policy, error mapping, POST retry rules (over HTTP)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from rmmbridge.connectors.errors import (
    ConnectorAuthError,
    ConnectorConfigError,
    ConnectorFatalError,
    ConnectorForbiddenError,
    ConnectorRateLimitedError,
    ConnectorUnavailableError,
    UnknownConnectorError,
)
from rmmbridge.connectors.http import (
    Redactor,
    RequestLog,
    RequestLogEntry,
    RetryPolicy,
    build_client,
    error_message_from,
    parse_retry_after,
    raise_for_status,
)
from rmmbridge.connectors.opening import open_connector
from rmmbridge.connectors.records import AlertState
from rmmbridge.connectors.testing.server import RunningEmulator, serve_emulator

FAST = RetryPolicy(max_retries=3, backoff_base=0.01, backoff_max=0.02, retry_after_cap=0.05)


def entry(n: int, body: str = "") -> RequestLogEntry:
    return RequestLogEntry(at=datetime.now(UTC), method="GET", url=f"https://x.example/{n}", status=200,
                           duration_ms=1.0, request_body="", response_body=body, error="")


def test_request_log_is_bounded_and_keeps_the_newest() -> None:
    log = RequestLog(max_entries=5)
    for n in range(12):
        log.add(entry(n))
    assert [e.url.rsplit("/", 1)[1] for e in log.entries()] == ["7", "8", "9", "10", "11"]
    log.clear()
    assert log.entries() == []


def test_request_log_truncates_bodies() -> None:
    log = RequestLog(body_limit=10)
    assert log.truncate("x" * 10) == "x" * 10
    assert log.truncate("y" * 25) == "y" * 10 + "… [15 more characters]"


def test_request_log_is_thread_safe_and_calls_listeners() -> None:
    log = RequestLog(max_entries=10_000)
    seen: list[RequestLogEntry] = []
    lock = threading.Lock()

    def listener(e: RequestLogEntry) -> None:
        with lock:
            seen.append(e)

    def broken(e: RequestLogEntry) -> None:
        raise RuntimeError("listener down")

    log.add_listener(broken)
    log.add_listener(listener)
    threads = [threading.Thread(target=lambda: [log.add(entry(n)) for n in range(500)]) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(log.entries()) == 4000
    assert len(seen) == 4000


def test_redactor_hides_known_secrets_tokens_and_query_secrets() -> None:
    redactor = Redactor(["S3cretValue"])
    redactor.add("tok-abc-123", None, "")
    text = redactor("password=S3cretValue&x=1 Bearer tok-abc-123 https://h/api?api_key=zzz999&page=2 tok-abc-123")
    assert "S3cretValue" not in text
    assert "tok-abc-123" not in text
    assert "zzz999" not in text
    assert "page=2" in text


@pytest.mark.parametrize(
    ("header", "expected"),
    [(None, None), ("", None), ("3", 3.0), (" 1.5 ", 1.5), ("-4", 0.0), ("soon", None)],
)
def test_parse_retry_after_seconds(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header) == expected


def test_parse_retry_after_http_date() -> None:
    when = datetime.now(UTC) + timedelta(seconds=30)
    seconds = parse_retry_after(format_datetime(when, usegmt=True))
    assert seconds is not None
    assert 25 <= seconds <= 31


def test_backoff_grows_is_capped_and_jittered() -> None:
    policy = RetryPolicy(backoff_base=1.0, backoff_max=8.0, jitter=0.5, retry_after_cap=10.0)
    for attempt, ceiling in [(0, 1.0), (1, 2.0), (2, 4.0), (3, 8.0), (6, 8.0)]:
        delays = [policy.backoff(attempt) for _ in range(50)]
        assert all(ceiling * 0.5 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1
    assert policy.wait_for(120.0, 0) == 10.0
    assert policy.wait_for(2.0, 5) == 2.0


def response(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, content=body, headers=headers,
                          request=httpx.Request("GET", "https://rmm.example/api/v2/account"))


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, ConnectorAuthError), (403, ConnectorForbiddenError), (429, ConnectorRateLimitedError),
     (500, ConnectorUnavailableError), (503, ConnectorUnavailableError), (404, ConnectorFatalError),
     (409, ConnectorFatalError)],
)
def test_raise_for_status_names_what_to_do(status: int, error: type[Exception]) -> None:
    with pytest.raises(error) as info:
        raise_for_status(response(status, b'{"message": "nope"}', {"Retry-After": "7"}), vendor="Vendor X")
    assert "Vendor X" in str(info.value)
    assert "nope" in str(info.value)
    if status == 429:
        assert info.value.retry_after == 7.0  # type: ignore[attr-defined]
    raise_for_status(response(200))


def test_error_message_from_vendor_bodies() -> None:
    assert error_message_from(response(400, b'{"error":"invalid_grant","error_description":"Bad credentials"}')) == (
        "Bad credentials; invalid_grant")
    assert error_message_from(response(500, b"<html>proxy error</html>")) == ""
    assert error_message_from(response(500, b"plain failure")) == "plain failure"
    assert error_message_from(response(422, b'{"errors": [{"message": "bad field"}]}')) == "bad field"


def test_build_client_sets_base_url_timeout_and_headers() -> None:
    client = build_client("https://rmm.example/base", timeout=7)
    assert str(client.base_url) == "https://rmm.example/base/"
    assert client.timeout.read == 7
    assert client.headers["Accept"] == "application/json"
    assert not client.follow_redirects
    client.close()


def test_open_connector_rejects_unknown_vendor_and_bad_credentials() -> None:
    with pytest.raises(UnknownConnectorError) as info, open_connector("nosuch", {}):
        pass
    assert "datto_rmm" in info.value.message
    with pytest.raises(ConnectorConfigError) as bad, open_connector("datto_rmm", {"api_url": "https://x.example"}):
        pass
    assert "API Key: Field required" in bad.value.message
    assert "API Secret Key: Field required" in bad.value.message


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    with serve_emulator("datto_rmm", seed=5, customers=2, devices=12, alerts=3) as running:
        yield running


def test_post_is_not_retried_on_5xx(emulator: RunningEmulator) -> None:
    alert = emulator.state.open_alerts()[0]
    path = f"/api/v2/alert/{alert.id}/resolve"
    emulator.state.faults.add(f"500:POST:{path}:times=1")
    with open_connector("datto_rmm", emulator.credentials, retry=FAST) as connector:
        with pytest.raises(ConnectorUnavailableError):
            connector.resolve_alert(alert.id)
        assert emulator.state.requests_by_path[f"POST {path}"] == 1
        connector.resolve_alert(alert.id)  # the caller (the outbox) retries later
    assert emulator.state.alerts[alert.id].resolved


def test_post_is_retried_on_429(emulator: RunningEmulator) -> None:
    alert = emulator.state.open_alerts()[0]
    path = f"/api/v2/alert/{alert.id}/resolve"
    emulator.state.faults.add(f"429:POST:{path}:times=2,retry_after=0")
    with open_connector("datto_rmm", emulator.credentials, retry=FAST) as connector:
        connector.resolve_alert(alert.id)
    assert emulator.state.requests_by_path[f"POST {path}"] == 3
    assert [c["status"] for c in emulator.state.resolve_calls] == [200]


def test_long_retry_after_is_surfaced_not_waited_for(emulator: RunningEmulator) -> None:
    emulator.state.faults.add("429:GET:/api/v2/account:times=1,retry_after=120")
    started = time.monotonic()
    with open_connector("datto_rmm", emulator.credentials, retry=RetryPolicy(retry_after_cap=5)) as connector:
        with pytest.raises(ConnectorRateLimitedError) as info:
            connector.account_info()
        assert info.value.retry_after == 120
        assert time.monotonic() - started < 3
        assert connector.account_info().account_id  # the fault was used up: the next call works


def test_request_log_records_failures_and_retries(emulator: RunningEmulator) -> None:
    log = RequestLog()
    emulator.state.faults.add("503:GET:/api/v2/account/alerts/open:times=1")
    emulator.state.faults.add("drop:GET:/api/v2/account/alerts/open:times=1")
    with open_connector("datto_rmm", emulator.credentials, request_log=log, retry=FAST) as connector:
        assert len(list(connector.iter_alerts(AlertState.OPEN))) == 3
    alert_entries = [e for e in log.entries() if "alerts/open" in e.url]
    assert [e.status for e in alert_entries] == [503, None, 200]
    assert "RemoteProtocolError" in alert_entries[1].error
    assert '"status": 503' in alert_entries[0].response_body
    assert all(e.duration_ms >= 0 for e in alert_entries)
