"""Sync correctness against the emulators over HTTP: typed ids, strong identifiers, customer boundary (issue 12)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from rmmbridge.connectors.http import RetryPolicy
from rmmbridge.integrations import actions
from rmmbridge.integrations.models import ExternalRef, Integration
from rmmbridge.servicedesk.actions import Actor, do_create_customer
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
