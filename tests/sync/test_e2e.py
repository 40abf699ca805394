"""End to end: run_sync against the Datto RMM emulator over HTTP into the real database."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from rmmbridge.connectors.errors import ConnectorAuthError, ConnectorRetryableError
from rmmbridge.connectors.http import RetryPolicy
from rmmbridge.integrations import actions
from rmmbridge.integrations.models import ExternalRef, Integration
from rmmbridge.servicedesk.actions import Actor, AssetInput, do_upsert_asset
from rmmbridge.servicedesk.models import Asset, AuditEntry, Customer, FieldDefinition, Site
from rmmbridge.sync import runner
from rmmbridge.sync.models import SyncPlanRow, SyncRun, SyncStatus
from rmmbridge.sync.runner import apply_rows, run_sync

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "RETRY", RetryPolicy(max_retries=1, backoff_base=0.01, backoff_max=0.02,
                                                     retry_after_cap=0.05))


@pytest.fixture
def datto() -> Iterator[Any]:
    from rmmbridge.connectors.testing.server import serve_emulator

    with serve_emulator("datto_rmm", seed=3, customers=3, devices=40, alerts=0) as emulator:
        yield emulator


@pytest.fixture
def integration(db: Any, datto: Any) -> Integration:
    return actions.do_create_integration(Actor.cli("test"), "datto_rmm", "Datto", dict(datto.credentials), test=False)


def live_devices(datto: Any) -> list[Any]:
    return [d for d in datto.state.iter_devices() if not d.deleted]


def ref_asset(integration: Integration, external_id: str) -> Asset:
    ref = ExternalRef.objects.get(integration=integration, kind="asset", external_id=external_id)
    return Asset.objects.get(pk=ref.object_id)


def writes() -> tuple[int, int, int]:
    """Rows that a sync would write: audit entries, assets updated_at, external refs last_seen."""
    latest_ref = ExternalRef.objects.order_by("-last_seen").values_list("last_seen", flat=True).first()
    latest_asset = Asset.objects.order_by("-updated_at").values_list("updated_at", flat=True).first()
    return AuditEntry.objects.count(), hash(latest_ref), hash(latest_asset)


def test_first_sync_creates_and_second_writes_nothing(integration: Integration, datto: Any) -> None:
    run = run_sync(integration.pk)
    assert run.status == SyncStatus.SUCCESS, run.errors
    devices = live_devices(datto)
    sites = datto.state.sites
    assert run.counts["customers"]["created"] == len(sites)
    assert run.counts["assets"]["created"] == len(devices)
    assert Asset.objects.count() == len(devices)
    assert Customer.objects.count() == len(sites)
    # each Datto site became a customer with its main site, and devices sit in their site's customer
    device = devices[0]
    asset = ref_asset(integration, device.id)
    assert asset.name == device.hostname
    assert asset.site.is_main
    assert ExternalRef.objects.get(integration=integration, kind="site", external_id=device.site_id).object_id == (
        asset.site_id)
    assert asset.values["operating_system"] == device.os_name
    # mapped fields were created and attached to the asset types that use them
    os_field = FieldDefinition.objects.get(name="operating_system")
    assert asset.asset_type in os_field.asset_types.all()

    before = writes()
    second = run_sync(integration.pk)
    assert second.status == SyncStatus.SUCCESS
    assert writes() == before
    assert second.counts["assets"]["created"] == 0
    assert second.counts["assets"]["updated"] == 0
    assert second.counts["assets"]["unchanged"] == len(devices)
    assert second.counts["customers"]["unchanged"] == len(sites)


def test_renamed_device_updates(integration: Integration, datto: Any) -> None:
    run_sync(integration.pk)
    device = live_devices(datto)[0]
    datto.state.update_device(device.id, hostname="RENAMED-01")
    run = run_sync(integration.pk)
    assert run.counts["assets"]["updated"] == 1
    asset = ref_asset(integration, device.id)
    assert asset.name == "RENAMED-01"
    entry = AuditEntry.objects.filter(object_type="asset", object_id=asset.pk, action="update").get()
    assert entry.changes["name"][1] == "RENAMED-01"
    assert entry.source == "sync"


def test_removed_device_is_deactivated_and_reactivated(integration: Integration, datto: Any) -> None:
    run_sync(integration.pk)
    gone, deleted = live_devices(datto)[:2]
    datto.state.remove_device(gone.id)
    datto.state.update_device(deleted.id, deleted=True)
    run = run_sync(integration.pk)
    assert run.status == SyncStatus.SUCCESS
    assert run.counts["assets"]["deactivated"] == 2
    assert not ref_asset(integration, gone.id).active
    assert not ref_asset(integration, deleted.id).active

    datto.state.update_device(deleted.id, deleted=False)
    back = run_sync(integration.pk)
    assert back.counts["assets"]["reactivated"] == 1
    assert ref_asset(integration, deleted.id).active
    assert ExternalRef.objects.get(integration=integration, kind="asset", external_id=deleted.id).missing_since is None
    assert not ref_asset(integration, gone.id).active


def test_failed_fetch_deactivates_nothing(integration: Integration, datto: Any) -> None:
    run_sync(integration.pk)
    datto.state.remove_device(live_devices(datto)[0].id)
    datto.state.faults.add("500:GET:/api/v2/account/devices:times=0")
    with pytest.raises(ConnectorRetryableError):
        run_sync(integration.pk)
    assert SyncRun.objects.latest("id").status == SyncStatus.FAILED
    assert Asset.objects.filter(active=False).count() == 0


def test_malformed_item_makes_the_fetch_partial(integration: Integration, datto: Any) -> None:
    run_sync(integration.pk)
    datto.state.remove_device(live_devices(datto)[0].id)
    datto.state.faults.add("malformed-item:GET:/api/v2/account/devices")
    run = run_sync(integration.pk)
    assert run.status == SyncStatus.PARTIAL
    assert Asset.objects.filter(active=False).count() == 0
    assert any("malformed" in w for w in run.warnings)


def test_auth_error_propagates_after_recording_the_run(integration: Integration, datto: Any) -> None:
    integration.set_credentials({**datto.credentials, "api_secret": "wrong"})
    integration.save()
    with pytest.raises(ConnectorAuthError):
        run_sync(integration.pk, trigger="schedule")
    run = SyncRun.objects.latest("id")
    assert run.status == SyncStatus.FAILED
    assert run.trigger == "schedule"


def test_guard_stops_mass_deactivation_until_confirmed(integration: Integration, datto: Any) -> None:
    run_sync(integration.pk)
    devices = live_devices(datto)
    for device in devices[: len(devices) // 3]:
        datto.state.remove_device(device.id)
    before = writes()
    stopped = run_sync(integration.pk)
    assert stopped.status == SyncStatus.NEEDS_CONFIRMATION
    assert "guard" in stopped.message
    assert Asset.objects.filter(active=False).count() == 0
    assert writes()[0] == before[0]
    confirmed = run_sync(integration.pk, confirm=True)
    assert confirmed.status == SyncStatus.SUCCESS
    assert Asset.objects.filter(active=False).count() == len(devices) // 3


def test_dry_run_then_apply_selected_rows(integration: Integration, datto: Any) -> None:
    preview = run_sync(integration.pk, dry_run=True, trigger="ui")
    assert preview.status == SyncStatus.PLANNED
    assert Asset.objects.count() == 0
    assert Customer.objects.count() == 0
    customer_rows = list(preview.rows.filter(entity="customers", kind="create"))
    site_id = customer_rows[0].external_id
    device_rows = [r for r in preview.rows.filter(entity="assets", kind="create")
                   if datto.state.get_device(r.external_id).site_id == site_id]
    chosen = [customer_rows[0].pk, device_rows[0].pk]
    applied = apply_rows(preview, chosen)
    assert applied.status == SyncStatus.SUCCESS, applied.errors
    assert Customer.objects.count() == 1
    assert Asset.objects.count() == 1
    assert set(SyncPlanRow.objects.filter(pk__in=chosen).values_list("status", flat=True)) == {"applied"}
    # an asset whose customer row was not applied is reported, not guessed
    other = preview.rows.filter(entity="assets", kind="create").exclude(
        external_id__in=[r.external_id for r in device_rows]).first()
    assert other is not None
    failed = apply_rows(preview, [other.pk])
    assert failed.status == SyncStatus.PARTIAL
    assert "apply that row too" in failed.errors[0]


def test_local_edit_is_kept_with_never_after_local_edit(integration: Integration, datto: Any) -> None:
    from rmmbridge.sync.models import FieldMapping

    run_sync(integration.pk)
    FieldMapping.objects.filter(integration=integration, target="operating_system").update(
        policy="not_after_local_edit")
    device, other = live_devices(datto)[:2]
    asset = ref_asset(integration, device.id)
    do_upsert_asset(Actor.cli("person"), AssetInput(values={"operating_system": "Hand-typed"}), asset=asset)
    datto.state.update_device(device.id, os_name="New OS 9")
    datto.state.update_device(other.id, os_name="New OS 9")
    run_sync(integration.pk)
    asset.refresh_from_db()
    assert asset.values["operating_system"] == "Hand-typed"
    assert ref_asset(integration, other.id).values["operating_system"] == "New OS 9"


def test_existing_asset_is_linked_by_hostname_within_customer(integration: Integration, datto: Any) -> None:
    from rmmbridge.servicedesk.actions import do_create_asset_group, do_create_asset_type, do_create_customer

    actor = Actor.cli("person")
    device = live_devices(datto)[0]
    site_name = next(s.name for s in datto.state.sites if s.id == device.site_id)
    customer = do_create_customer(actor, site_name)
    group = do_create_asset_group(actor, "Hardware")
    kind = do_create_asset_type(actor, "Old type", group)
    existing, _ = do_upsert_asset(actor, AssetInput(asset_type=kind, site=Site.objects.get(customer=customer),
                                                    name=device.hostname.lower()))
    run = run_sync(integration.pk)
    assert run.counts["customers"]["linked"] == 1
    assert run.counts["assets"]["linked"] == 1
    assert ref_asset(integration, device.id).pk == existing.pk
    row = SyncPlanRow.objects.get(run=run, external_id=device.id)
    assert "matched by hostname" in row.reason
    assert "within the customer" in row.reason


def test_ninjaone_organizations_locations_users_and_child_devices(db: Any) -> None:
    from rmmbridge.connectors.testing.server import serve_emulator
    from rmmbridge.servicedesk.models import EndUser

    with serve_emulator("ninjaone", seed=4, customers=2, devices=25, alerts=0) as ninja:
        integration = actions.do_create_integration(Actor.cli("test"), "ninjaone", "Ninja", dict(ninja.credentials),
                                                    test=False)
        run = run_sync(integration.pk)
        assert run.status == SyncStatus.SUCCESS, run.errors
        assert run.counts["customers"]["created"] == Customer.objects.count() > 0
        assert run.counts["sites"]["created"] + run.counts["sites"]["linked"] > 0
        assert run.counts["assets"]["created"] == Asset.objects.count() > 0
        assert EndUser.objects.count() == run.counts["users"]["created"]
        for ref in ExternalRef.objects.filter(integration=integration, kind="site"):
            assert Site.objects.filter(pk=ref.object_id).exists()
        children = Asset.objects.filter(parent__isnull=False)
        for child in children:
            assert child.parent.customer_id == child.customer_id
        before = writes()
        again = run_sync(integration.pk)
        assert writes() == before
        assert again.counts["assets"]["updated"] == 0
        assert again.counts["users"]["updated"] == 0


def test_value_that_does_not_fit_its_field_is_reported_and_left_out(integration: Integration, datto: Any) -> None:
    from rmmbridge.servicedesk.actions import do_create_field_definition
    from rmmbridge.sync.models import FieldMapping
    from rmmbridge.sync.snapshot import sync_config

    sync_config(integration)
    do_create_field_definition(Actor.cli("person"), "agent_build", label="Agent build", data_type="integer")
    FieldMapping.objects.create(integration=integration, source="cagVersion", target="agent_build")
    run = run_sync(integration.pk)
    assert run.status == SyncStatus.SUCCESS
    assert any("did not fit their field" in w and "Field 'Agent build' expects a whole number" in w
               for w in run.warnings)
    device = live_devices(datto)[0]
    asset = ref_asset(integration, device.id)
    assert "agent_build" not in asset.values
    assert asset.values["operating_system"] == device.os_name


def test_old_preview_does_not_duplicate_devices_imported_since(integration: Integration, datto: Any) -> None:
    preview = run_sync(integration.pk, dry_run=True)
    run_sync(integration.pk)
    count = Asset.objects.count()
    again = apply_rows(preview)
    assert Asset.objects.count() == count
    assert again.status == SyncStatus.PARTIAL
    assert "was imported after this preview was made" in " ".join(again.errors)


def test_a_partial_run_that_deactivated_an_asset_says_so(integration: Integration, datto: Any) -> None:
    """Issue repro: one malformed site (skipped) plus one device deleted in the RMM."""
    run_sync(integration.pk)
    gone = live_devices(datto)[0]
    datto.state.remove_device(gone.id)
    datto.state.faults.add("malformed-item:GET:/api/v2/account/sites:times=1")
    run = run_sync(integration.pk)
    assert run.status == SyncStatus.PARTIAL
    deactivated = Asset.objects.filter(active=False).count()
    assert deactivated == 1
    text = " ".join([run.message, *run.warnings])
    assert "not deactivated" not in text
    assert "no asset was deactivated" not in text
    assert "1 asset(s) no longer in the RMM were deactivated" in run.message


@pytest.mark.timeout(60)
@pytest.mark.parametrize("huge", ["1e999999999", "1e1000000", "9" * 5000])
def test_a_huge_number_from_the_rmm_is_refused_quickly_not_parsed(integration: Integration, datto: Any,
                                                                   huge: str) -> None:
    """Field mappings coerce values too: numeric text is capped before it is parsed (it used to hang)."""
    from rmmbridge.servicedesk.actions import do_create_field_definition
    from rmmbridge.sync.models import FieldMapping
    from rmmbridge.sync.snapshot import sync_config

    sync_config(integration)
    do_create_field_definition(Actor.cli("person"), "capacity", label="Capacity", data_type="decimal")
    do_create_field_definition(Actor.cli("person"), "count", label="Count", data_type="integer")
    FieldMapping.objects.create(integration=integration, source="hostname", target="capacity")
    FieldMapping.objects.create(integration=integration, source="hostname", target="count")
    device = live_devices(datto)[0]
    datto.state.update_device(device.id, hostname=huge)
    run = run_sync(integration.pk)
    assert run.status == SyncStatus.SUCCESS
    assert any("Field 'Capacity' expects a decimal number" in w for w in run.warnings), run.warnings
    asset = ref_asset(integration, device.id)
    assert "capacity" not in asset.values
    assert "count" not in asset.values


def test_a_customer_row_that_fails_half_written_is_undone_alone_and_the_others_are_kept(
        integration: Integration, datto: Any) -> None:
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("the failure is made with an SQLite trigger")
    preview = run_sync(integration.pk, dry_run=True, trigger="ui")
    rows = list(preview.rows.filter(entity="customers", kind="create").order_by("position"))
    assert len(rows) == 3
    poisoned = rows[1]
    poisoned.op["data"]["name"] = "Poison"
    poisoned.save()
    with connection.cursor() as cursor:  # the customer goes in, then its main site fails: a half-written row
        cursor.execute("CREATE TRIGGER poison BEFORE INSERT ON servicedesk_site WHEN (SELECT name FROM "
                       "servicedesk_customer WHERE id = NEW.customer_id) = 'Poison' BEGIN "
                       "SELECT RAISE(ABORT, 'poisoned site'); END")
    try:
        applied = apply_rows(preview, [r.pk for r in rows])
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER poison")
    assert applied.status == SyncStatus.PARTIAL
    assert len(applied.errors) == 1
    assert applied.errors[0] == f"customers '{poisoned.label}': poisoned site"
    assert not Customer.objects.filter(name="Poison").exists()  # its savepoint was rolled back, customer and all
    assert Customer.objects.count() == 2
    assert Site.objects.count() == 2
    assert ExternalRef.objects.filter(integration=integration, kind="customer").count() == 2
