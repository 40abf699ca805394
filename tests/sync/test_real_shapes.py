"""First syncs against the Addigy, N-central and Automate emulators serving the vendors' real shapes (issue 11):
every device and customer imported; Automate printers as children of their computer, asset tags as Halo sets them."""

from __future__ import annotations

from typing import Any

import pytest

from rmmbridge.connectors.http import RetryPolicy
from rmmbridge.connectors.testing.server import serve_emulator
from rmmbridge.integrations import actions
from rmmbridge.integrations.models import ExternalRef, Integration
from rmmbridge.servicedesk.actions import Actor, do_create_asset_group, do_create_asset_type
from rmmbridge.servicedesk.models import Asset, AuditEntry
from rmmbridge.sync import runner
from rmmbridge.sync.models import AssetTypeMapping, SyncStatus
from rmmbridge.sync.runner import run_sync

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "RETRY", RetryPolicy(max_retries=1, backoff_base=0.01, backoff_max=0.02,
                                                     retry_after_cap=0.05))


def _integration(slug: str, emulator: Any) -> Integration:
    return actions.do_create_integration(Actor.cli("test"), slug, slug, dict(emulator.credentials), test=False)


def _by_ref(integration: Integration, kind: str) -> dict[str, int]:
    return dict(ExternalRef.objects.filter(integration=integration, kind=kind).values_list("external_id", "object_id"))


def test_addigy_first_sync_imports_every_policy_and_device() -> None:
    with serve_emulator("addigy", seed=5, customers=4, devices=30, alerts=0) as emulator:
        integration = _integration("addigy", emulator)
        run = run_sync(integration.pk)
        assert run.status == SyncStatus.SUCCESS, run.errors
        policies = emulator.state.policies()  # type: ignore[attr-defined]
        assert set(_by_ref(integration, "customer")) == {p["policyId"] for p in policies}
        devices = {d.id for d in emulator.state.iter_devices() if not d.deleted}
        assert set(_by_ref(integration, "asset")) == devices


def test_ncentral_first_sync_imports_every_customer_and_device() -> None:
    with serve_emulator("ncentral", seed=5, customers=3, devices=30, alerts=0) as emulator:
        integration = _integration("ncentral", emulator)
        run = run_sync(integration.pk)
        assert run.status == SyncStatus.SUCCESS, run.errors
        assert set(_by_ref(integration, "customer")) == {c.id for c in emulator.state.customers}
        assets = _by_ref(integration, "asset")
        assert set(assets) == {d.id for d in emulator.state.iter_devices() if not d.deleted}
        assert not Asset.objects.filter(pk__in=assets.values(), end_user__name="-").exists()


def test_automate_first_sync_with_printers_as_children_and_serials_as_asset_tags() -> None:
    with serve_emulator("cw_automate", seed=5, customers=3, devices=30, alerts=0) as emulator:
        state: Any = emulator.state
        integration = _integration("cw_automate", emulator)
        printer_type = do_create_asset_type(Actor.cli("test"), "Printer", do_create_asset_group(Actor.cli("test"),
                                                                                              "Printers"))
        AssetTypeMapping.objects.create(integration=integration, device_type="printer", asset_type=printer_type)
        run = run_sync(integration.pk)
        assert run.status == SyncStatus.SUCCESS, run.errors
        assets = _by_ref(integration, "asset")
        computers = [d for d in state.iter_devices() if state.is_computer(d) and not d.deleted]
        assert {c.id for c in computers} <= set(assets)
        for computer in computers:
            asset = Asset.objects.get(pk=assets[computer.id])
            assert asset.asset_tag == (computer.serial_number or "")  # Halo: the serial is the asset tag
        printers = {(c.id, p["Id"]) for c in computers for p in state.printers_json(c)}
        assert printers
        for computer_id, printer_id in printers:
            child = Asset.objects.get(pk=assets[f"printer-{computer_id}-{printer_id}"])
            assert child.parent_id == assets[computer_id]
            assert child.asset_type == printer_type
        before = AuditEntry.objects.count()
        again = run_sync(integration.pk)
        assert again.status == SyncStatus.SUCCESS, again.errors
        assert AuditEntry.objects.count() == before  # a resync of the same estate writes nothing


def test_automate_without_a_printer_mapping_sends_no_printer_requests() -> None:
    with serve_emulator("cw_automate", seed=6, customers=2, devices=12, alerts=0) as emulator:
        integration = _integration("cw_automate", emulator)
        run = run_sync(integration.pk)
        assert run.status == SyncStatus.SUCCESS, run.errors
        assert not [k for k in emulator.state.requests_by_path if k.lower().endswith("/printers")]
        assert not [e for e in _by_ref(integration, "asset") if e.startswith("printer-")]


def test_asset_type_from_a_chosen_vendor_field_maps_its_values() -> None:
    from rmmbridge.servicedesk.models import AssetType
    from rmmbridge.sync.snapshot import sync_config

    with serve_emulator("addigy", seed=7, customers=3, devices=24, alerts=0) as emulator:
        integration = _integration("addigy", emulator)
        config = sync_config(integration)
        config.type_field = "facts.device_model_name"  # Halo's "Addigy Asset Type Field": Hardware Model
        config.save()
        models = {}
        for device in emulator.state.iter_devices():
            facts = emulator.state.render_device(device)["facts"]  # type: ignore[attr-defined]
            models[device.id] = facts["device_model_name"]["value"]
        chosen = sorted(set(models.values()))[0]
        macs = do_create_asset_type(Actor.cli("test"), "Chosen Macs", do_create_asset_group(Actor.cli("test"), "Mac"))
        AssetTypeMapping.objects.create(integration=integration, device_type=chosen, asset_type=macs)
        run = run_sync(integration.pk)
        assert run.status == SyncStatus.SUCCESS, run.errors
        assets = _by_ref(integration, "asset")
        for device_id, model in models.items():
            asset = Asset.objects.get(pk=assets[device_id])
            if model == chosen:
                assert asset.asset_type == macs
            else:  # unmapped values get an asset type named like the value, as unmapped device types do
                assert asset.asset_type.name.lower() == model.lower()
        assert AssetType.objects.filter(name__iexact=chosen).count() == 0


def test_missing_device_can_be_deactivated_and_unlinked_both() -> None:
    from rmmbridge.sync.plan import MissingAction
    from rmmbridge.sync.snapshot import sync_config

    with serve_emulator("ncentral", seed=8, customers=2, devices=10, alerts=0) as emulator:
        integration = _integration("ncentral", emulator)
        config = sync_config(integration)
        config.missing_action = MissingAction.DEACTIVATE_AND_UNLINK.value
        config.guard_percent = 100
        config.save()
        assert run_sync(integration.pk).status == SyncStatus.SUCCESS
        gone = next(d for d in emulator.state.iter_devices() if not d.deleted)
        asset_id = _by_ref(integration, "asset")[gone.id]
        emulator.state.remove_device(gone.id)
        run = run_sync(integration.pk)
        assert run.status == SyncStatus.SUCCESS, run.errors
        assert Asset.objects.get(pk=asset_id).active is False  # deactivated
        assert gone.id not in _by_ref(integration, "asset")  # and unlinked
        assert run_sync(integration.pk).status == SyncStatus.SUCCESS  # nothing left to do on the next run


def test_automate_import_buttons_are_its_four_types_disabled_until_mapped(client: Any, admin_user: Any) -> None:
    with serve_emulator("cw_automate", seed=9, customers=1, devices=4, alerts=0) as emulator:
        integration = _integration("cw_automate", emulator)
    client.force_login(admin_user)
    page = client.get(f"/sync/integrations/{integration.pk}/").content.decode()
    for label in ("servers", "workstations", "routers", "printers"):
        assert f"Import {label}" in page
    assert page.count(" disabled title=") == 4
    assert "Map Servers to an asset type first" in page
    servers = do_create_asset_type(Actor.cli("test"), "Server", do_create_asset_group(Actor.cli("test"), "IT"))
    AssetTypeMapping.objects.create(integration=integration, device_type="server", asset_type=servers)
    page = client.get(f"/sync/integrations/{integration.pk}/").content.decode()
    assert page.count(" disabled title=") == 3
    assert "Map Servers to an asset type first" not in page


def test_automate_type_mapping_offers_its_four_types(client: Any, admin_user: Any) -> None:
    with serve_emulator("cw_automate", seed=9, customers=1, devices=4, alerts=0) as emulator:
        integration = _integration("cw_automate", emulator)
    client.force_login(admin_user)
    dialog = client.get(f"/sync/integrations/{integration.pk}/mappings/types/add/", HTTP_HX_REQUEST="true")
    text = dialog.content.decode()
    for value, label in (("server", "Servers"), ("workstation", "Workstations"), ("network_device", "Routers"),
                         ("printer", "Printers")):
        assert f'value="{value}">{label}</option>' in text
    assert 'value="mobile"' not in text  # not an Automate type
