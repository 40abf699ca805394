"""A resync reads local asset details only for devices whose RMM record changed; devices stream into the plan."""

from __future__ import annotations

from collections.abc import Collection

import pytest

from rmmbridge.connectors.errors import ConnectorRetryableError
from rmmbridge.connectors.testing.server import serve_emulator
from rmmbridge.integrations import actions
from rmmbridge.integrations.models import ExternalRef
from rmmbridge.servicedesk.actions import Actor
from rmmbridge.servicedesk.models import Asset, AuditEntry
from rmmbridge.sync import snapshot
from rmmbridge.sync.models import SyncRun, SyncStatus
from rmmbridge.sync.plan import LocalAsset
from rmmbridge.sync.runner import run_sync


@pytest.mark.django_db
def test_resync_reads_only_changed_assets(monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[list[int]] = []
    load = snapshot.load_assets

    def recording_load(asset_ids: Collection[int]) -> list[LocalAsset]:
        reads.append(sorted(asset_ids))
        return load(asset_ids)

    monkeypatch.setattr(snapshot, "load_assets", recording_load)
    with serve_emulator("datto_rmm", seed=6, customers=2, devices=30, alerts=0) as datto:
        integration = actions.do_create_integration(Actor.cli("test"), "datto_rmm", "Datto",
                                                    dict(datto.credentials), test=False)
        first = run_sync(integration.pk)
        assert first.status == SyncStatus.SUCCESS, first.errors
        live = [d for d in datto.state.iter_devices() if not d.deleted]
        assert Asset.objects.count() == first.counts["assets"]["created"] == len(live)
        assert reads == []  # nothing was linked yet: nothing to read on demand
        audits = AuditEntry.objects.count()

        second = run_sync(integration.pk)
        assert second.status == SyncStatus.SUCCESS, second.errors
        assert second.counts["assets"]["unchanged"] == len(live)
        assert reads == []  # a no-change resync decides from the links' fingerprints alone
        assert AuditEntry.objects.count() == audits

        renamed = live[0]
        datto.state.update_device(renamed.id, hostname="RENAMED-PC")
        third = run_sync(integration.pk)
        assert third.counts["assets"]["updated"] == 1
        asset = Asset.objects.get(name="RENAMED-PC")
        link = ExternalRef.objects.get(integration=integration, kind="asset", object_id=asset.pk)
        assert link.external_id == renamed.id
        assert reads == [[asset.pk]]


@pytest.mark.django_db
def test_a_fetch_that_fails_midway_writes_nothing_and_deactivates_nothing() -> None:
    with serve_emulator("datto_rmm", seed=7, customers=2, devices=600, alerts=0) as datto:
        # no audits: 600 of them would take over a minute at Datto's pace; this test is about the fetch failing
        integration = actions.do_create_integration(Actor.cli("test"), "datto_rmm", "Datto",
                                                    {**datto.credentials, "fetch_audits": False}, test=False)
        assert run_sync(integration.pk).status == SyncStatus.SUCCESS
        audits = AuditEntry.objects.count()
        live = [d for d in datto.state.iter_devices() if not d.deleted]
        datto.state.remove_device(live[0].id)
        datto.state.update_device(live[-1].id, hostname="RENAMED-PC")
        datto.state.faults.add("500:GET:/api/v2/account/devices:times=0,after=1")  # page 1 arrives, page 2 fails
        with pytest.raises(ConnectorRetryableError):
            run_sync(integration.pk)
        assert SyncRun.objects.latest("id").status == SyncStatus.FAILED
        assert AuditEntry.objects.count() == audits
        assert Asset.objects.filter(active=False).count() == 0
        assert not Asset.objects.filter(name="RENAMED-PC").exists()
