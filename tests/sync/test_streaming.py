"""A first sync applies its devices batch by batch while later pages are still being fetched, with the same result
(counts, kept rows, audit) as the whole plan a preview builds."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from rmmbridge.connectors.testing.server import serve_emulator
from rmmbridge.integrations import actions
from rmmbridge.integrations.models import ExternalRef
from rmmbridge.servicedesk.actions import Actor
from rmmbridge.servicedesk.models import Asset, AuditEntry
from rmmbridge.sync import runner, streaming
from rmmbridge.sync.models import RowStatus, SyncConfig, SyncStatus
from rmmbridge.sync.plan import Snapshot
from rmmbridge.sync.planner import stream as planner_stream
from rmmbridge.sync.runner import run_sync

pytestmark = pytest.mark.django_db(transaction=False)
DEVICES_PATH = "GET /api/v2/account/devices"


@pytest.fixture
def datto() -> Iterator[Any]:
    with serve_emulator("datto_rmm", seed=5, customers=4, devices=300, alerts=0, page_size=50) as emulator:
        yield emulator


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of 40 changed devices and a short read-ahead, so the fetch cannot finish before the first apply."""
    monkeypatch.setattr(planner_stream, "CHANGED_BATCH", 40)
    monkeypatch.setattr(planner_stream, "LINK_CHUNK", 10)
    monkeypatch.setattr(runner, "PREFETCH_CHUNK", 10)
    monkeypatch.setattr(runner, "PREFETCH_DEPTH", 1)
    monkeypatch.setattr(streaming, "APPLY_EVERY", 40)


def _integration(datto: Any, name: str) -> Any:
    return actions.do_create_integration(Actor.cli("test"), "datto_rmm", name,
                                         {**datto.credentials, "fetch_audits": False}, test=False)


def test_first_sync_applies_devices_while_later_pages_are_still_to_come(
        datto: Any, small_batches: None, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[int, int]] = []  # (device pages requested, assets stored) after each applied batch
    real = streaming.StreamedApply.__call__

    def spy(self: streaming.StreamedApply, batch: Any) -> None:
        real(self, batch)
        seen.append((datto.state.requests_by_path[DEVICES_PATH], Asset.objects.count()))

    monkeypatch.setattr(streaming.StreamedApply, "__call__", spy)
    integration = _integration(datto, "Datto")
    run = run_sync(integration.pk)
    assert run.status == SyncStatus.SUCCESS, run.errors
    pages = datto.state.requests_by_path[DEVICES_PATH]
    live = [d for d in datto.state.iter_devices() if not d.deleted]
    assert pages >= 6
    assert Asset.objects.count() == len(live) == run.counts["assets"]["created"]
    first_write = next((pages_then, stored) for pages_then, stored in seen if stored)
    assert first_write[0] < pages  # assets were stored before the last device page was even asked for
    assert len([s for s in seen if s[1]]) >= 5  # in several batches
    assert AuditEntry.objects.filter(object_type="asset", action="create").count() == len(live)
    assert ExternalRef.objects.filter(integration=integration, kind="asset").count() == len(live)


def test_streamed_first_sync_records_what_the_whole_plan_says(datto: Any, small_batches: None,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Counts and rows (positions, kinds, reasons) equal the preview's whole plan; with the row cap, the first
    rows of that plan are the ones kept."""
    integration = _integration(datto, "Datto")
    preview = run_sync(integration.pk, dry_run=True)
    assert preview.status == SyncStatus.PLANNED
    planned = [(r.position, r.entity, r.kind, r.external_id, r.reason)
               for r in preview.rows.order_by("position")]
    monkeypatch.setattr(runner, "APPLIED_ROW_CAP", 25)
    run = run_sync(integration.pk)
    assert run.status == SyncStatus.SUCCESS, run.errors
    assert run.counts == preview.counts
    kept = [(r.position, r.entity, r.kind, r.external_id, r.reason) for r in run.rows.order_by("position")]
    assert kept == planned[:25]
    assert set(run.rows.values_list("status", flat=True)) == {RowStatus.APPLIED}
    assert any("Only the first 25 changed rows" in w for w in run.warnings)
    assert [r[1] for r in kept[:3]] != ["assets"] * 3  # customers and sites come first, as in the plan


def test_a_resync_builds_the_whole_plan_before_writing() -> None:
    """Only a run that links no asset yet streams: a resync can deactivate, which the guard must see first."""
    from rmmbridge.sync.plan import Snapshot

    empty = Snapshot()
    assert streaming.streams(empty, ["customers", "sites", "assets"], dry_run=False)
    assert not streaming.streams(empty, ["customers", "sites", "assets"], dry_run=True)
    assert not streaming.streams(empty, ["customers", "sites"], dry_run=False)
    from rmmbridge.sync.plan import LocalRef

    linked = Snapshot(refs={("asset", "d1"): LocalRef("asset", "d1", 1, "f", None)})
    assert not streaming.streams(linked, ["assets"], dry_run=False)


def test_a_resync_holds_one_batch_of_links_at_a_time_and_still_sees_every_change(
        datto: Any, small_batches: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every device changed (none recognised from its raw item) and two gone: the links are read per batch of
    devices and let go once planned, never the whole estate's, and the missing ones are found from the stream."""
    integration = _integration(datto, "Datto")
    assert run_sync(integration.pk).status == SyncStatus.SUCCESS
    config = SyncConfig.objects.get(integration=integration)
    config.grace_hours = 0
    config.save()
    live = [d for d in datto.state.iter_devices() if not d.deleted]
    gone = live[:2]
    for device in gone:
        datto.state.remove_device(device.id)
    for device in live[2:]:
        datto.state.update_device(device.id, hostname=f"{device.hostname}-renamed")
    held: list[int] = []
    real = Snapshot.forget_links

    def spy(self: Snapshot) -> None:
        held.append(sum(1 for kind, _ in self.refs if kind == "asset"))
        real(self)

    monkeypatch.setattr(Snapshot, "forget_links", spy)
    run = run_sync(integration.pk)
    assert run.status == SyncStatus.SUCCESS, run.errors
    assert run.counts["assets"]["updated"] == len(live) - 2
    assert run.counts["assets"]["deactivated"] == 2
    assert len(held) >= 5
    assert 0 < max(held) <= planner_stream.CHANGED_BATCH + planner_stream.LINK_CHUNK  # a batch, not the estate
    names = set(Asset.objects.filter(active=True).values_list("name", flat=True))
    assert names == {f"{d.hostname}-renamed" for d in live[2:]}
    assert not Asset.objects.filter(active=True, name__in=[d.hostname for d in gone]).exists()


def test_a_first_sync_cut_short_by_the_rmm_keeps_every_device_planned_before(
        datto: Any, small_batches: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The device list fails for good after three page requests (of 50 devices; two are on the wire at a time),
    while every device planned so far still waits for its transaction (a batch larger than the estate): those
    devices are imported all the same (without that, none would be), the run says how many, and the next run
    imports the rest without duplicating any. Devices still being planned when the error arrives are not."""
    monkeypatch.setattr(streaming, "APPLY_EVERY", 1000)
    integration = _integration(datto, "Datto")
    datto.state.faults.add("400:GET:/api/v2/account/devices:times=0,after=3")
    run = run_sync(integration.pk)
    assert run.status == SyncStatus.FAILED
    assert run.errors, "the failure is reported"
    first_pages = {d.id for d in list(datto.state.iter_devices())[:200] if not d.deleted}
    imported = set(ExternalRef.objects.filter(integration=integration, kind="asset")
                   .values_list("external_id", flat=True))
    assert len(imported) >= 40
    assert imported <= first_pages  # devices of the pages read, none of later ones
    assert Asset.objects.count() == len(imported) == run.counts["assets"]["created"]
    assert f"applied {len(imported)} device row(s)" in run.message
    datto.state.faults.clear()
    again = run_sync(integration.pk)
    assert again.status == SyncStatus.SUCCESS, again.errors
    live = [d for d in datto.state.iter_devices() if not d.deleted]
    assert Asset.objects.count() == len(live) == ExternalRef.objects.filter(integration=integration,
                                                                           kind="asset").count()
