"""run_sync against the Datto RMM emulator: audits fill serials, the audit cache survives runs in ConnectorState."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from rmmbridge.connectors.http import RetryPolicy
from rmmbridge.connectors.testing.server import RunningEmulator, serve_emulator
from rmmbridge.integrations import actions
from rmmbridge.integrations.models import ConnectorState, ExternalRef, Integration
from rmmbridge.servicedesk.actions import Actor
from rmmbridge.servicedesk.models import Asset
from rmmbridge.sync import runner
from rmmbridge.sync.models import SyncStatus
from rmmbridge.sync.runner import run_sync

# The fetch thread writes the request log while the sync plans: a test transaction held open by the main
# thread would make it wait on the SQLite write lock (real runs hold no transaction while fetching).
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "RETRY", RetryPolicy(max_retries=1, backoff_base=0.01, backoff_max=0.02,
                                                     retry_after_cap=0.05))


@pytest.fixture
def datto() -> Iterator[RunningEmulator]:
    with serve_emulator("datto_rmm", seed=8, customers=3, devices=60, alerts=0) as emulator:
        yield emulator


@pytest.fixture
def integration(db: Any, datto: RunningEmulator) -> Integration:
    return actions.do_create_integration(Actor.cli("test"), "datto_rmm", "Datto", dict(datto.credentials), test=False)


def audit_requests(emulator: RunningEmulator) -> int:
    return sum(n for key, n in emulator.state.requests_by_path.items() if " /api/v2/audit/" in key)


def asset_of(integration: Integration, external_id: str) -> Asset:
    ref = ExternalRef.objects.get(integration=integration, kind="asset", external_id=external_id)
    return Asset.objects.get(pk=ref.object_id)


def test_resync_reads_the_stored_audits_and_a_changed_one_is_fetched_once(
    integration: Integration, datto: RunningEmulator
) -> None:
    first = run_sync(integration.pk)
    assert first.status == SyncStatus.SUCCESS, first.errors
    audits = audit_requests(datto)
    live_agents = [d for d in datto.state.iter_devices() if not d.deleted and d.kind not in ("network_device",
                                                                                             "other")]
    assert audits >= len(live_agents)
    with_serial = [d for d in live_agents if asset_of(integration, d.id).values.get("serial_number")]
    assert len(with_serial) >= 0.95 * len(live_agents)
    laptop = next(d for d in live_agents if d.kind == "laptop")
    assert asset_of(integration, laptop.id).values["serial_number"] == datto.state.audit_serial(laptop)  # type: ignore[attr-defined]
    stored = ConnectorState.objects.get(integration=integration).data
    assert laptop.id in stored["audits"]

    second = run_sync(integration.pk)
    assert second.status == SyncStatus.SUCCESS, second.errors
    assert audit_requests(datto) == audits  # a no-change resync sends no audit request
    assert second.counts["assets"]["updated"] == 0

    control = httpx.Client(base_url=f"{datto.url}/_emulator")
    assert control.patch(f"/devices/{laptop.id}", json={"serial_number": "SWAPPED-BOARD-7"}).status_code == 200
    third = run_sync(integration.pk)
    assert third.status == SyncStatus.SUCCESS, third.errors
    assert audit_requests(datto) == audits + 1
    assert asset_of(integration, laptop.id).values["serial_number"] == "SWAPPED-BOARD-7"
    assert third.counts["assets"]["updated"] == 1


def test_the_sync_progress_shows_the_audits(transactional_db: Any) -> None:
    with serve_emulator("datto_rmm", seed=9, customers=3, devices=300, alerts=0) as datto:
        integration = actions.do_create_integration(Actor.cli("test"), "datto_rmm", "Datto", dict(datto.credentials),
                                                    test=False)
        seen: list[tuple[str, int, int]] = []
        run = run_sync(integration.pk, entities=["assets"], progress=lambda s, d, t: seen.append((s, d, t)))
    assert run.status == SyncStatus.SUCCESS, run.errors
    # the fetch runs ahead in its own thread: the sync shows where the audits are when it reports (every 250)
    audits = [(stage, done, total) for stage, done, total in seen if stage.startswith("audits")]
    assert audits, seen
    for stage, done, total in audits:
        assert stage == "audits" or (stage.startswith("audits (~") and stage.endswith("left)")), stage
        assert 0 < done <= total
        assert abs(total - audit_requests(datto)) <= 0.1 * audit_requests(datto)  # the estimate is close
