"""Reversible links and provenance on the asset page: unlink in a real browser, revert a sync-made merge."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from rmmbridge.integrations import actions
from rmmbridge.integrations.models import ExternalRef, Integration
from rmmbridge.servicedesk.actions import Actor, AssetInput, do_upsert_asset
from rmmbridge.servicedesk.models import Asset, AuditEntry
from rmmbridge.sync.models import CustomerMapping, LinkVeto, SyncStatus
from rmmbridge.sync.runner import run_sync


@pytest.fixture
def automate() -> Iterator[Any]:
    from rmmbridge.connectors.testing.server import serve_emulator

    with serve_emulator("cw_automate", seed=3, customers=2, devices=8, alerts=0) as emulator:
        yield emulator


@pytest.fixture
def ninja() -> Iterator[Any]:
    from rmmbridge.connectors.testing.server import serve_emulator

    with serve_emulator("ninjaone", seed=8, customers=2, devices=8, alerts=0) as emulator:
        yield emulator


def connect(slug: str, name: str, emulator: Any) -> Integration:
    return actions.do_create_integration(Actor.cli("test"), slug, name, dict(emulator.credentials), test=False)


def workstation(emulator: Any) -> Any:
    return next(d for d in emulator.state.iter_devices() if not d.deleted and d.kind == "workstation")


def asset_of(integration: Integration, external_id: str) -> Asset:
    ref = ExternalRef.objects.get(integration=integration, kind="asset", external_id=external_id)
    return Asset.objects.get(pk=ref.object_id)


def merged(automate: Any, ninja: Any) -> tuple[Integration, Integration, Asset, Any]:
    """Automate creates an asset; NinjaOne's device with the same serial is linked to it (a sync-made merge)."""
    first = connect("cw_automate", "Automate", automate)
    device = workstation(automate)
    assert run_sync(first.pk).status == SyncStatus.SUCCESS
    asset = asset_of(first, device.id)
    second = connect("ninjaone", "NinjaOne", ninja)
    for org in ninja.state.customers:
        CustomerMapping.objects.create(integration=second, kind="customer", external_id=org.id,
                                       customer_id=asset.customer_id)
    twin = workstation(ninja)
    ninja.state.update_device(twin.id, serial_number=device.serial_number, model="Latitude 7440")
    Asset.objects.filter(pk=asset.pk).update(values={k: v for k, v in asset.values.items() if k != "model"})
    assert run_sync(second.pk).status == SyncStatus.SUCCESS
    assert asset_of(second, twin.id).pk == asset.pk
    return first, second, asset, twin


@pytest.mark.django_db
def test_asset_page_shows_each_fields_source_and_marks_local_edits(admin_client: Any, automate: Any) -> None:
    integration = connect("cw_automate", "Automate", automate)
    device = workstation(automate)
    run = run_sync(integration.pk)
    asset = asset_of(integration, device.id)
    person = Actor(Actor.ui(None).source, None, "alice")  # a person's edit, as the asset form makes it
    do_upsert_asset(person, AssetInput(values={"operating_system": "Hand-edited OS"}), asset=asset)
    do_upsert_asset(person, AssetInput(name="RENAMED-BY-HAND"), asset=asset)
    page = admin_client.get(f"/assets/{asset.pk}/").content.decode()
    row = page.split('data-key="serial_number"')[1].split("</tr>")[0]
    assert f"Automate (run #{run.pk})" in row
    assert run.started_at.strftime("%Y-%m-%d %H:%M") in row
    os_row = page.split('data-key="operating_system"')[1].split("</tr>")[0]
    assert "local edit" in os_row
    name = page.split('<dd data-key="name">')[1].split("</dd>")[0]
    assert "local edit by alice" in name


@pytest.mark.django_db
def test_revert_a_sync_made_merge_restores_values_and_the_device_gets_its_own_asset(
        admin_client: Any, automate: Any, ninja: Any) -> None:
    first, second, asset, twin = merged(automate, ninja)
    asset.refresh_from_db()
    assert asset.values["model"] == "Latitude 7440"
    ref = ExternalRef.objects.get(integration=second, kind="asset", external_id=twin.id)
    response = admin_client.post(f"/sync/assets/{asset.pk}/links/{ref.pk}/unlink/", {"revert": "1"}, follow=True)
    assert "Restored 1 value(s): model" in response.content.decode()
    asset.refresh_from_db()
    assert "model" not in asset.values  # back to what it was before the merge
    assert not ExternalRef.objects.filter(pk=ref.pk).exists()
    assert LinkVeto.objects.filter(integration=second, external_id=twin.id, asset_id=asset.pk).exists()
    entry = AuditEntry.objects.filter(object_type="asset", object_id=asset.pk, action="unlink").get()
    assert entry.changes["external_id"] == [twin.id, None]
    assert AuditEntry.objects.filter(object_type="asset", object_id=asset.pk, action="revert").exists()
    # the next sync gives the device its own asset and never merges the two again
    again = run_sync(second.pk)
    assert again.status == SyncStatus.SUCCESS, again.errors
    own = asset_of(second, twin.id)
    assert own.pk != asset.pk
    assert asset_of(first, workstation(automate).id).pk == asset.pk


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_unlink_a_device_from_its_asset_in_the_browser(page: Any, automate: Any, ninja: Any) -> None:
    _, second, asset, twin = merged(automate, ninja)
    page.goto(f"/assets/{asset.pk}/")
    rows = page.locator("#external-ids tbody tr")
    assert rows.count() == 2
    row = page.locator("#external-ids tbody tr", has_text="NinjaOne")
    page.once("dialog", lambda dialog: dialog.accept())
    row.locator("button", has_text="Unlink").first.click()
    page.wait_for_selector("text=Unlinked NinjaOne device")
    assert page.locator("#external-ids tbody tr").count() == 1
    assert "NinjaOne" not in page.locator("#external-ids").inner_text()
    assert not ExternalRef.objects.filter(integration=second, kind="asset", external_id=twin.id).exists()
    assert "unlink" in page.locator("main").inner_text().lower()  # the audit trail lists it
