"""Property test (hypothesis): random two-integration estates never merge different devices, never move a
customer's records silently, and a second identical run writes nothing (issue 12)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rmmbridge.common.clock import utcnow
from rmmbridge.connectors.records import DeviceType, RemoteCustomer, RemoteDevice, RemoteSite
from rmmbridge.integrations import actions
from rmmbridge.integrations.models import ExternalRef, Integration
from rmmbridge.servicedesk.actions import Actor
from rmmbridge.servicedesk.models import Asset, Site
from rmmbridge.sync.apply import ApplyResult, LateCheck, apply_ops
from rmmbridge.sync.plan import ENTITIES, Plan
from rmmbridge.sync.planner import RemoteData, build_plan
from rmmbridge.sync.snapshot import load_settings, load_snapshot

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CUSTOMER_NAMES = ("Kestrel Logistics", "Kestrel Insurance", "Acme")
HOSTNAMES = ("PC-01", "PC-02", "OLD-PC-01")
SERIALS = ("PPW86A3WWT", "QP25YP2NJ3", "CND1234XYZ", None)
MACS = ("3C:52:82:00:00:01", "3C:52:82:00:00:02", "00:00:00:00:00:00", "02:00:4C:4F:4F:50", None)


@st.composite
def estate(draw: Any) -> dict[str, Any]:
    """One integration's customers, sites and devices; ids 1, 2, 3… in every kind (they collide on purpose)."""
    names = draw(st.lists(st.sampled_from(CUSTOMER_NAMES), min_size=1, max_size=3, unique=True))
    customers = [RemoteCustomer(str(n + 1), name) for n, name in enumerate(names)]
    sites = [RemoteSite(str(n + 1), f"Site {n + 1}", customers[n % len(customers)].external_id)
             for n in range(draw(st.integers(1, 3)))]
    devices = []
    for n in range(draw(st.integers(0, 6))):
        site = draw(st.sampled_from(sites))
        mac = draw(st.sampled_from(MACS))
        devices.append(RemoteDevice(
            external_id=str(n + 1), hostname=draw(st.sampled_from(HOSTNAMES)), site_external_id=site.external_id,
            customer_external_id=site.customer_external_id, device_type=DeviceType.WORKSTATION,
            serial_number=draw(st.sampled_from(SERIALS)), mac_addresses=(mac,) if mac else ()))
    return {"customers": customers, "sites": sites, "devices": devices}


def sync(integration: Integration, data: dict[str, Any]) -> ApplyResult:
    """Plan against the real database and apply through the real write layer (no HTTP: the estate is given)."""
    cfg = load_settings(integration)
    since = utcnow()

    def plan(keep_idle: bool) -> Plan:
        remote = RemoteData(customers=list(data["customers"]), sites=list(data["sites"]),
                            devices=list(data["devices"]), complete=set(ENTITIES))
        return build_plan(remote, load_snapshot(integration.pk), cfg, sites_are_customers=False, entities=ENTITIES,
                          now=NOW, keep_idle=keep_idle)

    whole, lean = plan(True), plan(False)
    # the runner's plan leaves idle rows out and only counts them: the same rows in the same order, the same counts
    idle_devices = [op for op in whole.ops if op.idle and op.entity == "assets"]
    assert lean.ops == [op for op in whole.ops if not (op.idle and op.entity == "assets")]
    assert lean.counts() == whole.counts()
    assert lean.idle == ({"assets": len(idle_devices)} if idle_devices else {})
    return apply_ops(integration, lean.ops, Actor.sync(f"{integration.name} sync"), now=NOW,
                     late=LateCheck.of(cfg, since))


def linked_devices(integrations: dict[int, dict[str, Any]]) -> dict[int, list[tuple[int, RemoteDevice]]]:
    found: dict[int, list[tuple[int, RemoteDevice]]] = {}
    for ref in ExternalRef.objects.filter(kind="asset"):
        device = next(d for d in integrations[ref.integration_id]["devices"] if d.external_id == ref.external_id)
        found.setdefault(ref.object_id, []).append((ref.integration_id, device))
    return found


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=estate(), second=estate())
def test_random_two_integration_estates(first: dict[str, Any], second: dict[str, Any]) -> None:
    with transaction.atomic():
        a = actions.do_create_integration(Actor.cli("test"), "datto_rmm", "RMM A", CREDENTIALS, test=False)
        b = actions.do_create_integration(Actor.cli("test"), "datto_rmm", "RMM B",
                                          {**CREDENTIALS, "api_key": "B" * 32}, test=False)
        estates = {a.pk: first, b.pk: second}
        sync(a, first)
        customers_after_first = dict(Asset.objects.values_list("id", "customer_id"))
        sites_after_first = dict(Site.objects.values_list("id", "customer_id"))
        sync(b, second)

        for asset_id, devices in linked_devices(estates).items():
            serials = {d.serial_number.lower() for _, d in devices if d.serial_number}
            assert len(serials) <= 1, (asset_id, devices)  # never one asset for devices whose serials differ
            asset = Asset.objects.get(pk=asset_id)
            for iid, device in devices:  # every linked device's site belongs to the asset's customer
                ref = ExternalRef.objects.get(integration_id=iid, kind="site", external_id=device.site_external_id)
                assert Site.objects.get(pk=ref.object_id).customer_id == asset.customer_id
        for asset_id, customer_id in customers_after_first.items():  # no move without the setting
            assert Asset.objects.get(pk=asset_id).customer_id == customer_id
        for site_id, customer_id in sites_after_first.items():
            assert Site.objects.get(pk=site_id).customer_id == customer_id

        assert sync(a, first).rows_written == 0  # a second identical run writes nothing
        assert sync(b, second).rows_written == 0
        transaction.set_rollback(True)


CREDENTIALS = {"api_url": "https://pinotage-api.centrastage.net", "api_key": "A" * 32, "api_secret": "S" * 32}
