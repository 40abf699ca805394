"""Datto RMM audits over HTTP against the emulator: on by default, cached by lastAuditDate, paced to 600 per 60 s."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from rmmbridge.connectors import ratelimit
from rmmbridge.connectors.datto_rmm import const
from rmmbridge.connectors.datto_rmm.connector import DattoRmmConnector, format_eta
from rmmbridge.connectors.http import RetryPolicy
from rmmbridge.connectors.opening import open_connector
from rmmbridge.connectors.ratelimit import RollingWindowLimiter
from rmmbridge.connectors.records import DeviceType, RemoteDevice
from rmmbridge.connectors.testing.server import RunningEmulator, serve_emulator

FAST = RetryPolicy(max_retries=2, backoff_base=0.01, backoff_max=0.02, retry_after_cap=0.05)


class VirtualClock:
    """Time that passes only when the limiter sleeps, so a paced 1,200-audit sync runs in seconds."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    with serve_emulator(const.SLUG, seed=21, customers=4, devices=120, alerts=0, page_size=50) as running:
        yield running


def connect(emulator: RunningEmulator, **overrides: Any) -> Any:
    return open_connector(const.SLUG, {**emulator.credentials, **overrides}, retry=FAST, timeout=10)


def audit_requests(emulator: RunningEmulator) -> int:
    return sum(n for key, n in emulator.state.requests_by_path.items() if " /api/v2/audit/" in key)


def virtual_limiter(emulator: RunningEmulator, clock: VirtualClock) -> RollingWindowLimiter:
    """Install the account's shared 600-per-60-s limiter on a virtual clock (the limiter logic stays the real one)."""
    secrets = sorted([emulator.credentials["api_key"], emulator.credentials["api_secret"]])
    account = hashlib.sha256("\0".join(secrets).encode()).hexdigest()[:16]
    limiter = RollingWindowLimiter(const.RATE_LIMIT_PER_MINUTE, 60.0, clock=clock, sleep=clock.sleep)
    with ratelimit._LIMITERS_LOCK:
        ratelimit._LIMITERS[(const.SLUG, emulator.url, account)] = limiter
    return limiter


def agents(devices: list[RemoteDevice]) -> list[RemoteDevice]:
    return [d for d in devices if d.fields.get("deviceClass") == "device"]


def test_first_sync_of_1200_devices_audits_by_default_within_600_per_minute() -> None:
    with serve_emulator(const.SLUG, seed=5, customers=12, devices=1200, alerts=0) as emulator:
        # the emulator's own limit counts real seconds; the client's limiter (virtual time) must keep it alone
        emulator.state.rate_limit_per_minute = None  # type: ignore[misc]
        clock = VirtualClock()
        stamps: list[float] = []
        limiter = virtual_limiter(emulator, clock)
        acquire = limiter.acquire

        def counted() -> float:
            waited = acquire()
            stamps.append(clock.now)
            return waited

        limiter.acquire = counted  # type: ignore[method-assign]
        notes: list[tuple[str, int, int]] = []
        with connect(emulator) as connector:
            assert isinstance(connector, DattoRmmConnector)
            assert connector.include_audit  # the default
            connector.clock = clock
            connector.audit_limiter = RollingWindowLimiter(const.AUDITS_PER_MINUTE, 60.0, clock=clock,
                                                           sleep=clock.sleep)
            devices = []
            for device in connector.iter_devices():
                devices.append(device)
                note = connector.progress_note()
                if note and len(devices) % 100 == 0:
                    notes.append(note)
            state = connector.dump_state()
        assert len(devices) == 1200
        audited = agents(devices)
        complete = [d for d in audited if d.serial_number and d.manufacturer and d.model and d.mac_addresses]
        assert len(complete) / len(audited) >= 0.95
        auditable = [d for d in devices if d.fields["deviceClass"] in ("device", "printer") and not d.deleted]
        assert audit_requests(emulator) == len(auditable)  # one audit per live agent and printer, none twice
        # never more than 540 requests (90 % of the account's 600) in any rolling 60 s: no slowdown, no 429, no block
        assert all(b - a >= 60.0 for a, b in zip(stamps, stamps[540:], strict=False))
        assert clock.slept >= 120.0  # ~1,100 audits at 500 a minute
        # progress says how many audits of how many, and how long is left at 600 a minute
        stage, done, total = notes[len(notes) // 2]
        assert stage.startswith("audits (~")
        assert stage.endswith("left)")
        assert 0 < done < total <= 1200
        assert format_eta(8800 / (const.AUDITS_PER_MINUTE / 60)) == "~18 min left"
        assert state is not None
        assert len(state["audits"]) == audit_requests(emulator)


def test_no_change_resync_sends_no_audit_request(emulator: RunningEmulator) -> None:
    with connect(emulator) as connector:
        first = {d.external_id: d for d in connector.iter_devices()}
        state = connector.dump_state()
    assert state is not None
    audits_first = audit_requests(emulator)
    assert audits_first > 0
    with connect(emulator) as connector:
        connector.load_state(state)
        second = {d.external_id: d for d in connector.iter_devices()}
        assert connector.dump_state() is None  # nothing changed: nothing to store
    assert audit_requests(emulator) == audits_first
    assert second.keys() == first.keys()
    for uid, device in second.items():  # the cached audit gives the very same record (so the sync sees no change)
        assert device == first[uid]


def test_a_changed_audit_is_fetched_again_with_one_request(emulator: RunningEmulator) -> None:
    with connect(emulator) as connector:
        list(connector.iter_devices())
        state = connector.dump_state()
    assert state is not None
    target = next(d for d in emulator.state.iter_devices() if d.kind == "laptop")
    control = httpx.Client(base_url=f"{emulator.url}/_emulator")
    assert control.patch(f"/devices/{target.id}", json={"serial_number": "NEWSERIAL42"}).status_code == 200
    before = audit_requests(emulator)
    with connect(emulator) as connector:
        connector.load_state(state)
        devices = {d.external_id: d for d in connector.iter_devices()}
        state2 = connector.dump_state()
    assert audit_requests(emulator) - before == 1
    assert emulator.state.requests_by_path[f"GET /api/v2/audit/device/{target.id}"] == 2
    assert devices[target.id].serial_number == "NEWSERIAL42"
    assert state2 is not None
    assert state2["audits"][target.id]["audit"]["bios"]["serialNumber"] == "NEWSERIAL42"


def test_printers_use_the_printer_audit_and_network_devices_none(emulator: RunningEmulator) -> None:
    with connect(emulator) as connector:
        devices = list(connector.iter_devices())
    printers = [d for d in devices if d.device_type is DeviceType.PRINTER]
    network = [d for d in devices if d.device_type is DeviceType.NETWORK_DEVICE]
    assert printers
    assert network
    for printer in printers:
        generated = emulator.state.get_device(printer.external_id)
        assert generated is not None
        assert printer.serial_number == generated.serial_number
        assert printer.model == generated.model
    assert all(d.serial_number is None for d in network)
    assert not [k for k in emulator.state.requests_by_path if "/audit/" in k and "network" in k]
    for device in network:
        assert f"GET /api/v2/audit/device/{device.external_id}" not in emulator.state.requests_by_path


def test_the_setting_turns_audits_off(emulator: RunningEmulator) -> None:
    with connect(emulator, fetch_audits=False) as connector:
        devices = list(connector.iter_devices())
    assert devices
    assert all(d.serial_number is None for d in devices)
    assert audit_requests(emulator) == 0


def test_a_failing_audit_costs_its_values_not_the_device(emulator: RunningEmulator) -> None:
    target = next(d for d in emulator.state.iter_devices() if d.kind == "workstation")
    emulator.state.faults.add(f"404:GET:/api/v2/audit/device/{target.id}:times=0")
    with connect(emulator) as connector:
        devices = {d.external_id: d for d in connector.iter_devices()}
        assert isinstance(connector, DattoRmmConnector)
        assert connector.audits_failed == 1
        assert connector.field_issues.summary("device").startswith("1 device had unreadable fields: audit (unreadable)")
        assert connector.skipped_records == 0
    assert devices[target.id].serial_number is None
    assert devices[target.id].hostname == target.hostname
