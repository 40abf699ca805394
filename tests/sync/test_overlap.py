"""Outside a transaction the local snapshot is read in a worker thread while the fetch runs: same results."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from rmmbridge.connectors.testing.server import serve_emulator
from rmmbridge.integrations import actions
from rmmbridge.servicedesk.actions import Actor
from rmmbridge.servicedesk.models import Asset, AuditEntry
from rmmbridge.sync import runner
from rmmbridge.sync.models import SyncStatus
from rmmbridge.sync.plan import Snapshot
from rmmbridge.sync.runner import run_sync


@pytest.mark.django_db(transaction=True)
def test_snapshot_read_in_a_thread_during_the_fetch(monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[str] = []
    load = runner.load_snapshot

    def recording_load(integration_id: int, *, with_assets: bool = True) -> Snapshot:
        threads.append(threading.current_thread().name)
        return load(integration_id, with_assets=with_assets)

    monkeypatch.setattr(runner, "load_snapshot", recording_load)
    with serve_emulator("datto_rmm", seed=6, customers=2, devices=30, alerts=0) as datto:
        integration = actions.do_create_integration(Actor.cli("test"), "datto_rmm", "Datto",
                                                    dict(datto.credentials), test=False)
        first = run_sync(integration.pk)
        assert first.status == SyncStatus.SUCCESS, first.errors
        live = [d for d in datto.state.iter_devices() if not d.deleted]
        assert Asset.objects.count() == first.counts["assets"]["created"] == len(live)
        audits = AuditEntry.objects.count()
        second = run_sync(integration.pk)
        assert second.status == SyncStatus.SUCCESS, second.errors
        assert second.counts["assets"]["created"] == 0
        assert second.counts["assets"]["unchanged"] == len(live)
        assert AuditEntry.objects.count() == audits
        renamed = live[0]
        datto.state.update_device(renamed.id, hostname="RENAMED-PC")
        third = run_sync(integration.pk)
        assert third.counts["assets"]["updated"] == 1
        assert Asset.objects.filter(name="RENAMED-PC").count() == 1
    assert len(threads) == 3
    assert all(name.startswith("sync-snapshot") for name in threads), threads


def test_inside_a_transaction_the_snapshot_is_read_on_this_connection(db: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        assert runner.snapshot_while_fetching(pool, 1, True) is None
