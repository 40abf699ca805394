"""Sync correctness against the emulators over HTTP: typed ids, strong identifiers, customer boundary (issue 12)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from rmmbridge.connectors.http import RetryPolicy
from rmmbridge.integrations import actions
from rmmbridge.integrations.models import ExternalRef, Integration
from rmmbridge.servicedesk.actions import (
    Actor,
    AssetInput,
    do_create_asset_group,
    do_create_asset_type,
    do_create_customer,
    do_create_site,
    do_upsert_asset,
)
from rmmbridge.servicedesk.models import Asset, Customer, Site
from rmmbridge.sync import runner
from rmmbridge.sync.models import CustomerMapping, SyncStatus
from rmmbridge.sync.runner import run_sync

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "RETRY", RetryPolicy(max_retries=1, backoff_base=0.01, backoff_max=0.02,
                                                     retry_after_cap=0.05))


@pytest.fixture
def automate() -> Iterator[Any]:
    from rmmbridge.connectors.testing.server import serve_emulator

    with serve_emulator("cw_automate", seed=5, customers=4, devices=40, alerts=0) as emulator:
        yield emulator


def connect(slug: str, name: str, emulator: Any) -> Integration:
    return actions.do_create_integration(Actor.cli("test"), slug, name, dict(emulator.credentials), test=False)


def site_of(integration: Integration, external_id: str) -> Site:
    ref = ExternalRef.objects.get(integration=integration, kind="site", external_id=external_id)
    return Site.objects.select_related("customer").get(pk=ref.object_id)


def test_customer_mapping_row_never_applies_to_the_site_with_the_same_id(db: Any, automate: Any) -> None:
    """Issue 12, corruption 1: Automate numbers clients and locations 1, 2, 3…; the row for client 4 filed
    location 4 (of client 2) under the mapped customer. Failed before the mapping rows were typed."""
    state = automate.state
    location_4 = next(s for s in state.sites if s.id == "4")
    assert location_4.customer_id != "4"  # the collision this test is about
    integration = connect("cw_automate", "Automate", automate)
    main = do_create_customer(Actor.cli("test"), "Main")
    CustomerMapping.objects.create(integration=integration, kind="customer", external_id="4", customer=main)

    run = run_sync(integration.pk, dry_run=True)
    rows = {(r.entity, r.external_id): r for r in run.rows.all()}
    assert "Main" not in rows[("sites", "4")].reason
    run = run_sync(integration.pk)
    assert run.status == SyncStatus.SUCCESS, run.errors

    own = site_of(integration, "4")
    assert own.customer.name != "Main"
    assert ExternalRef.objects.get(integration=integration, kind="customer",
                                   external_id=location_4.customer_id).object_id == own.customer_id
    # client 4's own locations are the ones under Main, and so are their devices only
    for site in state.sites:
        local = site_of(integration, site.id)
        assert (local.customer_id == main.pk) == (site.customer_id == "4"), site
    for device in state.iter_devices():
        if device.deleted:
            continue
        ref = ExternalRef.objects.filter(integration=integration, kind="asset", external_id=device.id).first()
        if ref is None:
            continue
        asset = Asset.objects.get(pk=ref.object_id)
        assert (asset.customer_id == main.pk) == (device.customer_id == "4"), device.id


def test_site_mapping_row_applies_to_that_site_only(db: Any, automate: Any) -> None:
    integration = connect("cw_automate", "Automate", automate)
    main = do_create_customer(Actor.cli("test"), "Main")
    CustomerMapping.objects.create(integration=integration, kind="site", external_id="3", customer=main)
    run = run_sync(integration.pk)
    assert run.status == SyncStatus.SUCCESS, run.errors
    assert site_of(integration, "3").customer_id == main.pk
    location_3 = next(s for s in automate.state.sites if s.id == "3")
    customer_3 = ExternalRef.objects.get(integration=integration, kind="customer", external_id="3")
    assert Customer.objects.get(pk=customer_3.object_id).name != "Main"
    assert site_of(integration, "4").customer_id != main.pk
    assert location_3.customer_id != "3"


@pytest.fixture
def datto() -> Iterator[Any]:
    """The first RMM (ConnectWise Automate: its device list carries serial numbers and MACs)."""
    from rmmbridge.connectors.testing.server import serve_emulator

    with serve_emulator("cw_automate", seed=3, customers=2, devices=12, alerts=0) as emulator:
        yield emulator


@pytest.fixture
def ninja() -> Iterator[Any]:
    from rmmbridge.connectors.testing.server import serve_emulator

    with serve_emulator("ninjaone", seed=8, customers=2, devices=12, alerts=0) as emulator:
        yield emulator


def live(emulator: Any) -> list[Any]:
    return [d for d in emulator.state.iter_devices() if not d.deleted]


def asset_of(integration: Integration, external_id: str) -> Asset:
    ref = ExternalRef.objects.get(integration=integration, kind="asset", external_id=external_id)
    return Asset.objects.get(pk=ref.object_id)


def snapshot_assets() -> dict[int, tuple[str, str, int, Any]]:
    return {a.pk: (a.name, a.values.get("serial_number"), a.customer_id, a.values.get("mac_addresses"))
            for a in Asset.objects.all()}


def test_mac_match_with_different_serials_is_a_conflict_never_a_merge(db: Any, datto: Any, ninja: Any) -> None:
    """Issue 12, corruption 2: a second RMM linked assets of the first by MAC and overwrote their name, serial
    and customer although the serial numbers differed. Failed before strong identifiers vetoed weak matches."""
    first = connect("cw_automate", "Automate", datto)
    datto_devices = [d for d in live(datto) if d.kind not in ("network_device", "printer")][:4]
    for n, device in enumerate(datto_devices):  # universally administered unicast MACs, as real NICs have
        datto.state.update_device(device.id, mac_address=f"3C:52:82:00:10:{n:02X}")
    assert run_sync(first.pk).status == SyncStatus.SUCCESS
    before = snapshot_assets()
    target = asset_of(first, datto_devices[0].id)
    second = connect("ninjaone", "NinjaOne", ninja)
    for org in ninja.state.customers:  # the second RMM's organisations are the same customer here
        CustomerMapping.objects.create(integration=second, kind="customer", external_id=org.id,
                                       customer_id=target.customer_id)
    ninja_devices = [d for d in live(ninja) if d.kind not in ("network_device", "printer")][:4]
    for n, device in enumerate(ninja_devices):
        ninja.state.update_device(device.id, mac_address=f"3C:52:82:00:10:{n:02X}", serial_number=f"QP25YP2N{n:02d}")

    preview = run_sync(second.pk, dry_run=True)
    rows = {r.external_id: r for r in preview.rows.filter(entity="assets")}
    reason = rows[ninja_devices[0].id].reason
    assert rows[ninja_devices[0].id].kind == "conflict", reason
    assert f"matches {target.name}, but serial" in reason, reason
    assert f"serial QP25YP2N00 ≠ {datto_devices[0].serial_number}" in reason

    run = run_sync(second.pk)
    assert run.status == SyncStatus.SUCCESS, run.errors
    after = snapshot_assets()
    for pk, (name, serial, customer, _) in before.items():  # no asset of the first RMM was overwritten
        assert after[pk][:3] == (name, serial, customer)
    for device in ninja_devices:  # neither merged nor silently created: listed for review
        assert not ExternalRef.objects.filter(integration=second, kind="asset", external_id=device.id).exists()
    assert run.counts["assets"]["conflicts"] >= len(ninja_devices)


def test_match_to_an_asset_of_another_customer_is_a_conflict_unless_moves_are_allowed(
        db: Any, datto: Any, ninja: Any) -> None:
    first = connect("cw_automate", "Automate", datto)
    assert run_sync(first.pk).status == SyncStatus.SUCCESS
    device = live(datto)[0]
    asset = asset_of(first, device.id)
    second = connect("ninjaone", "NinjaOne", ninja)
    twin = live(ninja)[0]
    ninja.state.update_device(twin.id, serial_number=device.serial_number)

    preview = run_sync(second.pk, dry_run=True)
    row = preview.rows.get(entity="assets", external_id=twin.id)
    assert row.kind == "conflict"
    assert f"of customer '{asset.customer.name}'" in row.reason, row.reason
    assert "not moved" in row.reason

    from rmmbridge.sync.snapshot import sync_config

    config = sync_config(second)
    config.allow_customer_moves = True
    config.save()
    preview = run_sync(second.pk, dry_run=True)
    row = preview.rows.get(entity="assets", external_id=twin.id)
    assert row.kind == "link", row.reason
    assert f"moves it from customer '{asset.customer.name}'" in row.reason
    assert row.op["changes"]["customer"][0] == asset.customer.name


def test_mac_reported_by_two_devices_of_one_fetch_identifies_neither(db: Any, datto: Any) -> None:
    integration = connect("cw_automate", "Automate", datto)
    device, other = live(datto)[:2]
    actor = Actor.cli("test")
    group = do_create_asset_group(actor, "Desks")
    atype = do_create_asset_type(actor, "Dock", group)
    customer = do_create_customer(actor, "Unrelated")
    local = do_create_site(actor, customer, "Somewhere")
    dock, _ = do_upsert_asset(actor, AssetInput(asset_type=atype, site=local, name="DOCK-1"))
    Asset.objects.filter(pk=dock.pk).update(values={"mac_addresses": "3C:52:82:00:20:01"})
    for item in (device, other):  # a USB dock's MAC, reported by both laptops that used it
        datto.state.update_device(item.id, mac_address="3C:52:82:00:20:01")
    config_mac_first(integration)
    run = run_sync(integration.pk, dry_run=True)
    row = run.rows.get(entity="assets", external_id=device.id)
    assert row.kind == "create", row.reason
    assert "MAC 3C-52-82-00-20-01 not used: 2 devices of this fetch report it" in row.reason
    assert "dock" not in row.reason.lower()


def config_mac_first(integration: Integration) -> None:
    from rmmbridge.sync.snapshot import sync_config

    config = sync_config(integration)
    config.match_rules = [{"field": "mac_addresses", "within_customer": False}]
    config.save()


def test_two_rmms_one_device_the_creator_owns_its_fields_and_each_value_records_its_source(
        db: Any, datto: Any, ninja: Any) -> None:
    """Issue 12, item 3: the last writer won field by field; now the owner keeps its values and the other RMM
    fills only what is empty. Every written value records integration, run and time."""
    from rmmbridge.servicedesk.provenance import source_of

    first = connect("cw_automate", "Automate", datto)
    device = next(d for d in live(datto) if d.kind == "workstation")
    assert run_sync(first.pk).status == SyncStatus.SUCCESS
    asset = asset_of(first, device.id)
    first_run = first.sync_runs.latest("started_at")
    assert source_of(asset.provenance, "name") == {
        "by": "sync", "label": "Automate", "integration": first.pk, "run": first_run.pk,
        "at": first_run.started_at.isoformat(timespec="seconds")}
    assert asset.created_by_integration == first.pk
    Asset.objects.filter(pk=asset.pk).update(values={k: v for k, v in asset.values.items() if k != "model"})

    second = connect("ninjaone", "NinjaOne", ninja)
    for org in ninja.state.customers:
        CustomerMapping.objects.create(integration=second, kind="customer", external_id=org.id,
                                       customer_id=asset.customer_id)
    twin = next(d for d in live(ninja) if d.kind == "workstation")
    ninja.state.update_device(twin.id, serial_number=device.serial_number, hostname="MIGRATED-01",
                              model="Latitude 7440")
    preview = run_sync(second.pk, dry_run=True)
    row = preview.rows.get(entity="assets", external_id=twin.id)
    assert row.kind == "link", row.reason
    assert "kept: owned by Automate (name" in row.reason, row.reason
    assert "name" not in row.op["changes"]
    run = run_sync(second.pk)
    assert run.status == SyncStatus.SUCCESS, run.errors
    asset.refresh_from_db()
    assert asset.name == device.hostname  # owned by Automate: kept
    assert asset.values["model"] == "Latitude 7440"  # empty in Automate's record: filled by NinjaOne
    assert source_of(asset.provenance, "model")["label"] == "NinjaOne"
    assert source_of(asset.provenance, "name")["label"] == "Automate"
    # neither RMM's next identical run writes anything
    for integration in (first, second):
        again = run_sync(integration.pk)
        counts = again.counts["assets"]
        assert counts["updated"] == counts["created"] == counts["linked"] == 0, (integration, counts)


def test_a_match_to_an_asset_another_sync_created_meanwhile_is_deferred_not_duplicated(db: Any) -> None:
    """Issue 12, item 4: two RMM accounts report the same estate (a migration). Sync A reads its snapshot, sync B
    creates every asset, then A applies: A's devices are deferred (reported), not created twice, and A's next
    run links them, so the result equals the one of running B then A. Failed before: A created duplicates."""
    from rmmbridge.connectors.testing.server import serve_emulator
    from rmmbridge.sync.runner import apply_rows

    with serve_emulator("cw_automate", seed=3, customers=2, devices=10, alerts=0) as old, \
            serve_emulator("cw_automate", seed=3, customers=2, devices=10, alerts=0) as new:
        a = connect("cw_automate", "Automate (old)", old)
        b = connect("cw_automate", "Automate (new)", new)
        places = ["customers", "sites", "assets"]
        preview = run_sync(a.pk, dry_run=True, entities=places)  # A has read its snapshot: nothing exists yet
        assert run_sync(b.pk, entities=places).status == SyncStatus.SUCCESS  # B creates everything meanwhile
        created = Asset.objects.count()
        applied = apply_rows(preview)
        assert applied.status == SyncStatus.SUCCESS, applied.errors
        assert Asset.objects.count() == created  # nothing duplicated
        assert applied.counts["assets"]["created"] == 0
        deferred = applied.rows.filter(entity="assets", reason__startswith="deferred:")
        assert deferred.count() >= 1
        assert any("linked at the next run" in w for w in applied.warnings)
        again = run_sync(a.pk, entities=places)
        assert again.status == SyncStatus.SUCCESS, again.errors
        assert Asset.objects.count() == created
        for ref in ExternalRef.objects.filter(integration=b, kind="asset"):
            twin = ExternalRef.objects.get(integration=a, kind="asset", external_id=ref.external_id)
            assert twin.object_id == ref.object_id  # the same device, one asset, linked to both accounts


def test_assets_another_sync_creates_between_two_batches_of_a_run_are_matched_in_the_later_batch(db: Any) -> None:
    """The late-match check reads only the assets inserted since its previous batch: an asset another sync creates
    between two batches of one run (as in a streamed first sync) is still seen, and its device is deferred."""
    from rmmbridge.common.clock import utcnow
    from rmmbridge.connectors.testing.server import serve_emulator
    from rmmbridge.sync.apply import Applier, LateCheck
    from rmmbridge.sync.plan import Op, OpKind
    from rmmbridge.sync.snapshot import load_settings

    with serve_emulator("cw_automate", seed=3, customers=2, devices=10, alerts=0) as old, \
            serve_emulator("cw_automate", seed=3, customers=2, devices=10, alerts=0) as new:
        a = connect("cw_automate", "Automate (old)", old)
        b = connect("cw_automate", "Automate (new)", new)
        places = ["customers", "sites", "assets"]
        since = utcnow()
        preview = run_sync(a.pk, dry_run=True, entities=places)
        ops = [Op.from_dict(row.op) for row in preview.rows.order_by("position")]
        creates = [i for i, op in enumerate(ops) if op.entity == "assets" and op.kind is OpKind.CREATE]
        assert len(creates) >= 6
        third, half = creates[len(creates) // 3], creates[2 * len(creates) // 3]
        applier = Applier(a, Actor.sync("A"), now=since, late=LateCheck.of(load_settings(a), since))
        for batch in (ops[:third], ops[third:half]):  # the second batch's check reads up to A's own first assets
            done = applier.run_batch(batch)
            assert not done.errors
            assert done.deferred == 0
        before_b = Asset.objects.count()
        assert run_sync(b.pk, entities=places).status == SyncStatus.SUCCESS  # B creates the rest meanwhile
        assert Asset.objects.count() > before_b
        second = applier.run_batch(ops[half:])
        applier.finish()
        assert not second.errors, second.errors
        assert second.deferred == len(creates) - creates.index(half)  # every later device matched B's new asset
        for ref in ExternalRef.objects.filter(integration=b, kind="asset"):  # nothing was created twice
            assert Asset.objects.filter(name=Asset.objects.get(pk=ref.object_id).name).count() == 1
