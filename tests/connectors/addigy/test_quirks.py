"""Addigy quirks over HTTP against the emulator: POST query paging, x-api-key, retries of read-only POSTs, the
24-hour rate-limit block, policies as customers, Apple device types, unlinking removed devices."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from rmmbridge.connectors.addigy import const
from rmmbridge.connectors.addigy.connector import AddigyConnector
from rmmbridge.connectors.base import Capability
from rmmbridge.connectors.errors import ConnectorFatalError, ConnectorRateLimitedError, ConnectorUnavailableError
from rmmbridge.connectors.http import RequestLog, RetryPolicy
from rmmbridge.connectors.opening import open_connector
from rmmbridge.connectors.records import AlertState, DeviceType
from rmmbridge.connectors.testing.contract import FAST_RETRY, free_closed_port
from rmmbridge.connectors.testing.server import RunningEmulator, serve_emulator


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    with serve_emulator(const.SLUG, seed=3, customers=4, devices=60, alerts=3, page_size=20) as running:
        yield running


def connect(emulator: RunningEmulator, request_log: RequestLog | None = None, retry: RetryPolicy = FAST_RETRY,
            **overrides: str) -> Any:
    credentials = {**emulator.credentials, **overrides}
    return open_connector(const.SLUG, credentials, request_log=request_log, retry=retry, timeout=5)


def test_devices_are_paged_by_post_body_until_page_count(emulator: RunningEmulator) -> None:
    log = RequestLog(max_entries=50, body_limit=5000)
    with connect(emulator, request_log=log) as connector:
        devices = list(connector.iter_devices())
    assert len(devices) == 60
    posts = [e for e in log.entries() if e.method == "POST" and e.url.endswith(const.DEVICES)]
    bodies = [json.loads(e.request_body) for e in posts]
    assert [b["page"] for b in bodies] == [1, 2, 3]  # 60 devices, 20 per page: page_count 3, no 4th request
    assert all(b["per_page"] == const.PAGE_SIZE for b in bodies)
    assert set(bodies[0]["desired_fact_identifiers"]) == set(const.DESIRED_FACTS)
    headers = {"x-api-key": emulator.credentials["client_secret"]}
    last = httpx.post(emulator.url + const.DEVICES, headers=headers, json={"page": 3, "per_page": 100}).json()
    assert last["metadata"] == {"page": 3, "per_page": 20, "page_count": 3, "result_count": 20, "total": 60}
    assert emulator.state.requests_by_path.get(f"GET {const.DEVICES}", 0) == 0


def test_the_api_key_goes_in_x_api_key_and_a_wrong_one_is_a_clear_401(emulator: RunningEmulator) -> None:
    body = {"page": 1, "per_page": 1}
    url = emulator.url + const.POLICIES_QUERY
    key = emulator.credentials["client_secret"]
    assert httpx.post(url, json=body, headers={"x-api-key": key}).status_code == 200
    assert httpx.post(url, json=body, headers={"Authorization": f"Bearer {key}"}).status_code == 200
    missing = httpx.post(url, json=body)
    assert missing.status_code == 401
    assert "API key" in missing.json()["error"]
    with connect(emulator, client_secret="not-the-key") as connector:
        result = connector.test_connection()
    assert result.error_key == "invalid_auth"
    assert "Addigy rejected the credentials" in result.message


def test_test_connection_names_the_organization(emulator: RunningEmulator) -> None:
    with connect(emulator) as connector:
        result = connector.test_connection()
    assert result.ok
    assert result.account is not None
    assert result.account.account_id == emulator.state.orgid  # type: ignore[attr-defined]
    assert result.account.display_name == "Addigy – Emulated MSP"
    assert emulator.state.requests_by_path[f"GET {const.WHOAMI}"] == 1
    assert emulator.state.requests_by_path[f"POST {const.POLICIES_QUERY}"] == 0


def test_each_tenant_gets_its_own_account_id_from_whoami() -> None:
    ids = set()
    for seed in (11, 12):
        with serve_emulator(const.SLUG, seed=seed, customers=2, devices=4, alerts=0) as running, \
                connect(running) as connector:
            result = connector.test_connection()
            assert result.account is not None
            assert result.account.account_id == running.state.whoami()["organization_id"]  # type: ignore[attr-defined]
            ids.add(result.account.account_id)
    assert len(ids) == 2


def test_a_key_without_whoami_permission_falls_back_to_the_policies(emulator: RunningEmulator) -> None:
    emulator.state.faults.add(f"403:GET:{const.WHOAMI}:times=1")
    with connect(emulator) as connector:
        result = connector.test_connection()
    assert result.ok, result.message
    assert result.account is not None
    assert result.account.account_id == emulator.state.orgid  # type: ignore[attr-defined]


def test_policies_are_one_bare_array_without_paging(emulator: RunningEmulator) -> None:
    log = RequestLog()
    with connect(emulator, request_log=log) as connector:
        customers = list(connector.iter_customers())
    answer = httpx.post(f"{emulator.url}{const.POLICIES_QUERY}", json={},
                        headers={const.API_KEY_HEADER: emulator.credentials["client_secret"]})
    assert isinstance(answer.json(), list)  # the real shape: no items, no metadata
    assert len(customers) == len(answer.json())
    assert emulator.state.requests_by_path[f"POST {const.POLICIES_QUERY}"] == 2  # one from the connector


def test_missing_permission_is_forbidden(emulator: RunningEmulator) -> None:
    emulator.state.faults.add(f"403:GET:{const.WHOAMI}:times=1")
    emulator.state.faults.add(f"403:POST:{const.POLICIES_QUERY}:times=1")
    with connect(emulator) as connector:
        result = connector.test_connection()
    assert result.error_key == "forbidden"
    assert "Grant the API user this permission in Addigy" in result.message


def test_read_only_query_posts_are_retried_after_5xx_and_drops(emulator: RunningEmulator) -> None:
    emulator.state.faults.add(f"500:POST:{const.POLICIES_QUERY}:times=2")
    emulator.state.faults.add(f"drop:POST:{const.DEVICES}:times=1,after=1")
    with connect(emulator) as connector:
        customers = list(connector.iter_customers())
        devices = list(connector.iter_devices())
        assert connector.client.query_retries == 3
    assert len(customers) == len(emulator.state.policies()) == 6  # type: ignore[attr-defined]
    assert len(devices) == 60


def test_refused_connections_are_not_retried_twice(emulator: RunningEmulator) -> None:
    waits: list[float] = []
    policy = RetryPolicy(max_retries=2, backoff_base=0.001, backoff_max=0.002, sleep=waits.append)
    closed = f"http://127.0.0.1:{free_closed_port()}"
    with connect(emulator, retry=policy, api_url=closed) as connector, pytest.raises(ConnectorUnavailableError) as info:
        connector.account_info()
    assert "Cannot connect" in info.value.message
    assert len(waits) == 2  # the transport's two retries, none added by the query retry loop


def test_going_over_the_limit_blocks_the_key_and_says_for_how_long(emulator: RunningEmulator) -> None:
    state = emulator.state
    state.limit_requests = 3  # type: ignore[attr-defined]
    policy = RetryPolicy(max_retries=1, backoff_base=0.001, retry_after_cap=0.01)
    with connect(emulator, retry=policy) as connector:
        for _ in range(3):
            assert connector.test_connection().ok
        with pytest.raises(ConnectorRateLimitedError) as info:
            connector.account_info()
    assert info.value.retry_after is not None
    assert info.value.retry_after > 86_000
    assert state.blocked_for() > 86_000  # type: ignore[attr-defined]
    # Still blocked for everyone using the key, whatever the window says.
    key = emulator.credentials["client_secret"]
    answer = httpx.post(emulator.url + const.DEVICES, json={}, headers={"x-api-key": key})
    assert answer.status_code == 429
    assert int(answer.headers["Retry-After"]) > 86_000


def test_the_client_side_limit_keeps_every_10_second_window_under_the_published_limit() -> None:
    per_minute = AddigyConnector.rate_limit_per_minute
    assert per_minute is not None
    # A rolling-minute budget smaller than the 10-second limit means even a burst cannot trip the 24-hour block.
    assert per_minute < const.VENDOR_LIMIT_REQUESTS * 0.75


def test_every_policy_is_a_customer_and_devices_point_at_their_own_policy(emulator: RunningEmulator) -> None:
    with connect(emulator) as connector:
        customers = list(connector.iter_customers())
        devices = list(connector.iter_devices())
        assert not connector.supports(Capability.SITES)
        assert connector.supports(Capability.ALERTS_POLL)
        assert not connector.supports(Capability.ALERT_RESOLVE)
    by_id = {c.external_id: c for c in customers}
    top = {c.name for c in customers if not c.fields["parent"]}
    assert top == {c.name for c in emulator.state.customers}
    children = [c for c in customers if c.fields["parent"]]
    assert children
    assert all(by_id[str(c.fields["parent"])].name + " – Laptops" == c.name for c in children)
    assert all(c.fields["orgid"] == emulator.state.orgid for c in customers)  # type: ignore[attr-defined]
    assert {d.customer_external_id for d in devices} <= set(by_id)
    in_child = [d for d in devices if d.customer_external_id in {c.external_id for c in children}]
    assert in_child
    assert all(d.device_type is DeviceType.LAPTOP for d in in_child)
    assert all(str(d.fields["facts.policy_ids"]).endswith(str(by_id[d.customer_external_id or ""].fields["parent"]))
               for d in in_child)
    assert all(d.site_external_id is None for d in devices)


def test_an_apple_estate_with_realistic_types_and_facts(emulator: RunningEmulator) -> None:
    with connect(emulator) as connector:
        devices = list(connector.iter_devices())
    kinds = {d.device_type for d in devices}
    assert {DeviceType.WORKSTATION, DeviceType.LAPTOP, DeviceType.SERVER, DeviceType.MOBILE} <= kinds
    assert all(d.manufacturer == "Apple" for d in devices)
    assert all(d.serial_number and len(d.serial_number) == 10 for d in devices)
    assert all(d.os_name and d.os_name.split()[0] in ("macOS", "iOS", "iPadOS") for d in devices)
    mobiles = [d for d in devices if d.device_type is DeviceType.MOBILE]
    assert all(d.os_name and not d.os_name.startswith("macOS") for d in mobiles)
    laptops = [d for d in devices if d.device_type is DeviceType.LAPTOP]
    assert all("MacBook" in (d.model or "") for d in laptops)
    assert any(d.online is False for d in devices)
    assert any(d.online for d in devices)
    assert all(d.last_seen is not None and d.last_seen.tzinfo is not None for d in devices)
    sample = devices[0]
    assert sample.fields["facts.serial_number"] == sample.serial_number
    assert "facts.warranty_expiration_date" in sample.fields
    assert sample.fields["agentid"] == sample.external_id


def test_a_removed_device_disappears_and_a_changed_fact_shows(emulator: RunningEmulator) -> None:
    with connect(emulator) as connector:
        before = list(connector.iter_devices())
    gone, changed = before[0].external_id, before[1].external_id
    control = emulator.url + "/_emulator/devices/"
    assert httpx.delete(control + gone).status_code == 204
    assert httpx.patch(control + changed, json={"extra": {"device_name": "Renamed-Mac"}}).status_code == 200
    with connect(emulator) as connector:
        after = {d.external_id: d for d in connector.iter_devices()}
    assert gone not in after
    assert len(after) == len(before) - 1
    assert after[changed].hostname == "Renamed-Mac"


def test_desired_facts_and_policy_query_are_honoured_by_the_emulator(emulator: RunningEmulator) -> None:
    headers = {"x-api-key": emulator.credentials["client_secret"]}
    policy = emulator.state.customers[1].id
    answer = httpx.post(emulator.url + const.DEVICES, headers=headers, json={
        "page": 1, "per_page": 100, "desired_fact_identifiers": ["serial_number", "policy_id"],
        "query": {"policyId": policy},
    }).json()
    assert answer["items"]
    assert all(set(item["facts"]) == {"serial_number", "policy_id"} for item in answer["items"])
    assert all(item["facts"]["policy_id"]["value"] == policy for item in answer["items"])
    assert answer["items"][0]["facts"]["serial_number"]["type"] == "string"
    assert answer["metadata"]["total"] == len(answer["items"])
    bad = httpx.post(emulator.url + const.DEVICES, headers=headers, json={"page": 0})
    assert bad.status_code == 400


def test_a_server_that_ignores_the_page_number_stops_with_an_error(emulator: RunningEmulator) -> None:
    emulator.state.faults.add(f"repeat-page:POST:{const.DEVICES}:times=1")
    with connect(emulator) as connector, pytest.raises(ConnectorFatalError) as info:
        list(connector.iter_devices())
    assert "same page twice" in info.value.message
    assert emulator.state.requests_by_path[f"POST {const.DEVICES}"] == 2


def test_alerts_are_polled_from_the_v2_alert_list(emulator: RunningEmulator) -> None:
    state: Any = emulator.state
    raised = state.raise_alert(message="Disk almost full", priority="Critical", alert_type="perf_resource_usage")
    with connect(emulator) as connector:
        open_alerts = {a.external_id: a for a in connector.iter_alerts(AlertState.OPEN)}
        state.resolve_alert(raised.id)
        resolved = {a.external_id: a for a in connector.iter_alerts(AlertState.RESOLVED, since=raised.raised_at)}
        still_open = {a.external_id for a in connector.iter_alerts(AlertState.OPEN)}
    assert set(open_alerts) == {a.id for a in state.alerts.values() if a.id == raised.id or not a.resolved}
    alert = open_alerts[raised.id]
    assert alert.device_external_id == raised.device_id  # `agent_id` of the v2 item
    assert alert.raised_at == raised.raised_at.replace(microsecond=0)  # `created_date`
    assert alert.severity == "Critical"
    assert alert.state is AlertState.OPEN
    assert raised.id in resolved
    assert resolved[raised.id].state is AlertState.RESOLVED
    assert raised.id not in still_open
    assert state.requests_by_path[f"POST {const.ALERTS_QUERY}"] == 3


def test_the_alert_list_is_asked_at_most_100_per_page(emulator: RunningEmulator) -> None:
    answer = httpx.post(f"{emulator.url}{const.ALERTS_QUERY}", json={"page": 1, "per_page": 101},
                        headers={const.API_KEY_HEADER: emulator.credentials["client_secret"]})
    assert answer.status_code == 400
    with serve_emulator(const.SLUG, seed=4, customers=3, devices=40, alerts=0) as running:
        for index in range(130):
            running.state.raise_alert(message=f"Alert {index}")
        with connect(running) as connector:
            alerts = list(connector.iter_alerts())
        assert len(alerts) == 130
        assert running.state.requests_by_path[f"POST {const.ALERTS_QUERY}"] == 2


def _resolved_alerts(state: Any, recent: int, old: int) -> None:
    """``recent`` alerts raised now and ``old`` ones raised 30 days ago, all resolved."""
    now = datetime.now(UTC).replace(microsecond=0)
    for number in range(recent + old):
        alert = state.raise_alert(message=f"Alert {number}")
        if number >= recent:
            alert.raised_at = now - timedelta(days=30)
        state.resolve_alert(alert.id)


def test_the_resolved_poll_stops_at_the_first_page_older_than_the_lookback() -> None:
    with serve_emulator(const.SLUG, seed=4, customers=1, devices=3, alerts=0) as running:
        state: Any = running.state
        _resolved_alerts(state, recent=150, old=250)
        with connect(running) as connector:
            resolved = list(connector.iter_alerts(AlertState.RESOLVED, since=datetime.now(UTC)))
        # newest first, 100 a page: page 1 recent, page 2 half recent, page 3 only old → stop after page 3
        assert len(resolved) == 150
        assert {a.state for a in resolved} == {AlertState.RESOLVED}
        assert state.requests_by_path[f"POST {const.ALERTS_QUERY}"] == 3


def test_the_resolved_poll_reads_at_most_resolved_max_pages() -> None:
    with serve_emulator(const.SLUG, seed=4, customers=1, devices=3, alerts=0) as running:
        state: Any = running.state
        _resolved_alerts(state, recent=const.ALERTS_PAGE_SIZE * (const.RESOLVED_MAX_PAGES + 2), old=0)
        with connect(running) as connector:
            resolved = list(connector.iter_alerts(AlertState.RESOLVED, since=datetime.now(UTC)))
            everything = list(connector.iter_alerts(AlertState.RESOLVED))
        assert len(resolved) == const.ALERTS_PAGE_SIZE * const.RESOLVED_MAX_PAGES
        assert len(everything) == const.ALERTS_PAGE_SIZE * const.RESOLVED_MAX_PAGES  # without since: the cap too
        assert state.requests_by_path[f"POST {const.ALERTS_QUERY}"] == 2 * const.RESOLVED_MAX_PAGES
