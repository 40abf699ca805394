"""The asset an alert lands on: device id (ExternalRef), exact name, name ignoring case, hostname field, IP."""

from __future__ import annotations

from typing import Any

import pytest

from rmmbridge.alerts.cache import use_cache
from rmmbridge.alerts.decide import EventKind
from rmmbridge.alerts.facts.base import AlertFacts
from rmmbridge.alerts.lookup import find_asset
from rmmbridge.common.clock import utcnow
from rmmbridge.integrations.models import ExternalRef, Integration, RefKind
from rmmbridge.servicedesk.actions import Actor, AssetInput, do_upsert_asset
from rmmbridge.servicedesk.models import Asset

from .conftest import Desk

pytestmark = pytest.mark.django_db


def _asset(desk: Desk, name: str, *, linked: Integration | None = None, external_id: str = "",
           values: dict[str, Any] | None = None) -> Asset:
    asset, _ = do_upsert_asset(Actor.cli("test"), AssetInput(asset_type=desk.asset.asset_type, site=desk.site,
                                                              name=name))
    if values:
        asset.values = {**asset.values, **values}
        asset.save()
    if linked is not None:
        now = utcnow()
        ExternalRef.objects.create(integration=linked, kind=RefKind.ASSET, external_id=external_id or f"x-{name}",
                                   object_id=asset.pk, first_seen=now, last_seen=now)
    return asset


def _facts(desk: Desk, **kwargs: Any) -> AlertFacts:
    return AlertFacts(kind=EventKind.TRIGGER, key="k", integration=desk.integration, **kwargs)


@pytest.fixture(params=[False, True], ids=["plain", "receiver-cache"])
def cache(request: Any) -> Any:
    use_cache(request.param)
    yield request.param
    use_cache(False)


def test_each_lookup_in_order(desk: Desk, cache: bool) -> None:
    mine = desk.integration
    other = Integration.objects.create(vendor="datto_rmm", name="Other Datto")
    by_field = _asset(desk, "Front desk PC", linked=mine, values={"hostname": "FD-01", "ip_address": "10.9.0.7"})
    exact_upper = _asset(desk, "WS-7", linked=mine)
    _asset(desk, "ws-7", linked=mine)
    _asset(desk, "LAB-1", linked=other)  # another integration's asset is never chosen
    assert find_asset(_facts(desk, device_external_id="dev-1", hostname="nothing")) == desk.asset
    assert find_asset(_facts(desk, hostname="HD-WS01")) == desk.asset
    assert find_asset(_facts(desk, hostname="HD-WS01.harbourview.local")) == desk.asset
    assert find_asset(_facts(desk, hostname="hd-ws01")) == desk.asset
    assert find_asset(_facts(desk, hostname="WS-7")) == exact_upper
    assert find_asset(_facts(desk, hostname="FD-01")) == by_field
    assert find_asset(_facts(desk, hostname="unknown", ip_address="10.9.0.7")) == by_field
    assert find_asset(_facts(desk, hostname="LAB-1")) is None
    found = find_asset(_facts(desk, hostname="HD-WS01"))
    assert found is not None
    assert (found.customer, found.site, found.end_user, found.asset_type.name) == (
        desk.customer, desk.site, desk.user, desk.asset.asset_type.name)


def test_inactive_assets_are_not_chosen(desk: Desk, cache: bool) -> None:
    Asset.objects.filter(pk=desk.asset.pk).update(active=False)
    assert find_asset(_facts(desk, device_external_id="dev-1")) is None
    assert find_asset(_facts(desk, hostname="HD-WS01")) is None
