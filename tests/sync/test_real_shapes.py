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
