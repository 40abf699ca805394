"""The emulator base: fault grammar, deterministic lazy estate, device changes, alerts."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from rmmbridge.connectors.datto_rmm.emulator import DattoRmmEmulatorState
from rmmbridge.connectors.testing.faults import FaultQueue, FaultSpecError, parse_fault


def test_fault_grammar() -> None:
    fault = parse_fault("429:GET:/api/v2/account/devices:times=2,retry_after=3")
    assert (fault.kind, fault.method, fault.path, fault.times, fault.retry_after) == (
        "429", "GET", "/api/v2/account/devices", 2, 3.0)
    assert fault.status == 429
    assert parse_fault("slow:delay=0.5").delay == 0.5
    assert parse_fault("drop:*:/api/*").path == "/api/*"
    assert parse_fault("500:*:*:after=1").after == 1
    assert parse_fault("malformed-item:get").method == "GET"


@pytest.mark.parametrize(
    ("spec", "message"),
    [("", "Empty"), ("boom", "Unknown fault kind"), ("200", "Unknown fault kind"), ("429:FETCH", "Unknown HTTP method"),
     ("429:GET:/x:colour=red", "Unknown fault option"), ("429:times=many", "needs a number"),
     ("429:GET:/x:extra", "Cannot read"), ("429:times=-1", "0 or more")],
)
def test_bad_fault_specs_say_what_to_fix(spec: str, message: str) -> None:
    with pytest.raises(FaultSpecError, match=message):
        parse_fault(spec)


def test_fault_queue_matching_times_and_after() -> None:
    queue = FaultQueue()
    queue.add("500:GET:/a:times=2,after=1")
    queue.add("malformed-item:GET:/a")
    assert queue.take("GET", "/a") is None  # let through (after=1)
    assert queue.take("POST", "/a") is None
    assert queue.take("GET", "/b") is None
    assert queue.take("GET", "/a") is not None
    assert queue.take("GET", "/a") is not None
    assert queue.take("GET", "/a") is None  # exhausted
    assert queue.take("GET", "/a", frozenset({"malformed-item"})) is not None
    assert queue.pending() == []


def test_estate_is_deterministic_and_varied() -> None:
    one = DattoRmmEmulatorState(seed=3, customers=4, devices=300)
    two = DattoRmmEmulatorState(seed=3, customers=4, devices=300, now=one.now)
    other = DattoRmmEmulatorState(seed=4, customers=4, devices=300, now=one.now)
    assert [d.hostname for d in one.iter_devices()] == [d.hostname for d in two.iter_devices()]
    assert [d.serial_number for d in one.iter_devices()] != [d.serial_number for d in other.iter_devices()]
    devices = list(one.iter_devices())
    kinds = {d.kind for d in devices}
    assert {"workstation", "laptop", "server", "network_device", "printer"} <= kinds
    assert 0 < sum(d.deleted for d in devices) < 20
    assert len({d.site_id for d in devices}) == 4
    assert len({d.os_name for d in devices}) >= 6
    assert any(d.parent_id for d in devices if d.kind in ("printer", "network_device"))
    assert len({c.name for c in one.customers}) == 4
    assert all(one.get_device(d.id) == d for d in devices[:20])
    assert one.get_device("not-a-uuid") is None
    assert other.get_device(devices[0].id) is None


def test_a_hundred_thousand_devices_cost_almost_nothing_until_listed() -> None:
    tracemalloc.start()
    started = time.perf_counter()
    state = DattoRmmEmulatorState(seed=1, customers=50, devices=100_000)
    page = state.page_of_devices(99_750, 250)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(page) == 250
    assert page[-1].index == 99_999
    assert peak < 5_000_000
    assert time.perf_counter() - started < 5


def test_device_changes_and_removal_keep_paging_consistent() -> None:
    state = DattoRmmEmulatorState(seed=2, customers=2, devices=10)
    first = next(state.iter_devices())
    state.remove_device(first.id)
    added = state.add_device(hostname="ADDED-1", kind="server")
    state.update_device(added.id, hostname="ADDED-2", udf={"udf9": "x"})
    ids = [d.id for d in state.iter_devices()]
    assert first.id not in ids
    assert ids[-1] == added.id
    assert state.device_count() == 10
    assert [d.id for d in state.page_of_devices(5, 5)] == ids[5:10]
    assert state.get_device(added.id).hostname == "ADDED-2"  # type: ignore[union-attr]
    with pytest.raises(KeyError):
        state.remove_device(first.id)
    with pytest.raises(ValueError, match="Unknown site_id"):
        state.add_device(hostname="X", site_id="nope")
    with pytest.raises(ValueError, match="Unknown device kind 'toaster'; use one of: workstation"):
        state.add_device(hostname="X", kind="toaster")
    with pytest.raises(ValueError, match="Unknown device kind"):
        state.update_device(added.id, kind="toaster")


def test_alerts_raise_and_resolve() -> None:
    state = DattoRmmEmulatorState(seed=2, customers=2, devices=10, alerts=3)
    assert len(state.open_alerts()) == 3
    alert = state.raise_alert(message="Printer out of toner", priority="Low")
    assert alert.device_id == next(state.iter_devices()).id
    state.resolve_alert(alert.id)
    assert alert.resolved
    assert alert.resolved_at is not None
    assert alert in state.resolved_alerts()
    with pytest.raises(ValueError, match="Unknown device_id"):
        state.raise_alert("nope")
    with pytest.raises(KeyError):
        state.resolve_alert("nope")


def test_numbered_ids_read_back_the_vendors_prefixed_device_ids() -> None:
    from rmmbridge.connectors.testing import EMULATORS

    atera, automate, ninja = (EMULATORS[slug][0](devices=3) for slug in ("atera", "cw_automate", "ninjaone"))
    assert [atera.customer_id(0), atera.site_id(1), atera.device_id(2)] == ["1", "2", "3"]
    assert (atera.device_index("snmp-2"), atera.device_index(" 2 "), atera.device_index("nd-2")) == (1, 1, None)
    assert (automate.device_index("nd-3"), automate.device_index("snmp-3")) == (2, None)
    assert (ninja.device_index("3"), ninja.device_index("nd-3"), ninja.device_index("0")) == (2, None, None)
