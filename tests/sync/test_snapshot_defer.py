"""A deferred snapshot arms the connector from its link rows first, then reads the rest; both reads agree."""

from __future__ import annotations

import gc
from datetime import timedelta

import pytest

from rmmbridge.common.clock import utcnow
from rmmbridge.common.gcpause import bulk_work
from rmmbridge.connectors.testing.server import serve_emulator
from rmmbridge.integrations import actions
from rmmbridge.integrations.models import ExternalRef
from rmmbridge.servicedesk.actions import Actor
from rmmbridge.servicedesk.models import Asset
from rmmbridge.sync.models import SyncStatus
from rmmbridge.sync.planner.assets import AssetPlanner
from rmmbridge.sync.planner.core import Resolution, TempIds
from rmmbridge.sync.planner.users import user_index
from rmmbridge.sync.runner import run_sync
from rmmbridge.sync.snapshot import load_settings, load_snapshot


@pytest.mark.django_db
def test_deferred_snapshot_agrees_with_the_whole_one_and_arms_before_reading_the_rest() -> None:
    with serve_emulator("datto_rmm", seed=11, customers=2, devices=12, alerts=0) as datto:
        integration = actions.do_create_integration(
            Actor.cli("test"), "datto_rmm", "Datto", {**datto.credentials, "fetch_audits": False}, test=False
        )
        assert run_sync(integration.pk).status == SyncStatus.SUCCESS
    links = list(ExternalRef.objects.filter(integration=integration, kind="asset").order_by("id"))
    missing_at = (utcnow() - timedelta(hours=3)).replace(microsecond=123456)
    ExternalRef.objects.filter(pk=links[0].pk).update(missing_since=missing_at)
    Asset.objects.filter(pk=links[1].object_id).delete()  # a link whose asset is gone
    model = Asset.objects.get(pk=links[2].object_id)
    Asset.objects.create(name="UNLINKED-PC", site=model.site, customer=model.customer, asset_type=model.asset_type)

    whole = load_snapshot(integration.pk)
    deferred = load_snapshot(integration.pk, defer=True)
    assert deferred.has_asset_links()
    assert whole.has_asset_links()
    assert not any(kind == "asset" for kind, _ in deferred.refs)
    assert not deferred.briefs
    assert not deferred.assets
    prefix = links[2].fingerprint[:16]
    known = deferred.known_links(prefix)
    assert known == whole.known_links(prefix)
    assert links[0].external_id not in known  # its link went missing
    assert links[1].external_id not in known  # its asset was deleted
    assert len(known) == len(links) - 2

    deferred.complete()
    assert deferred.rest is None
    assert deferred.link_rows == []
    assert deferred.refs == whole.refs
    assert deferred.briefs == whole.briefs
    assert deferred.assets == whole.assets
    assert [a.name for a in deferred.assets.values()] == ["UNLINKED-PC"]
    assert deferred.refs[("asset", links[0].external_id)].missing_since == missing_at  # aware, to the microsecond

    armed: list[tuple[str, int, bool]] = []
    fresh = load_snapshot(integration.pk, defer=True)
    settings = load_settings(integration)
    planner = AssetPlanner(
        fresh,
        settings,
        Resolution(),
        TempIds(),
        user_index(fresh),
        allow_pending=True,
        arm=lambda salt, links: armed.append((salt, len(links), fresh.rest is not None)),
    )
    assert armed == [(planner.config_key, len(fresh.known_links(armed[0][0][:16])), True)]
    assert fresh.rest is None
    assert fresh.briefs == whole.briefs


def test_bulk_work_freezes_until_the_last_block_ends_and_leaves_the_thresholds() -> None:
    import sys

    from rmmbridge.common.gcpause import SWITCH_INTERVAL

    before, interval = gc.get_threshold(), sys.getswitchinterval()
    with bulk_work():
        assert gc.get_freeze_count() > 0
        assert sys.getswitchinterval() == SWITCH_INTERVAL
        with bulk_work():
            assert gc.get_threshold() == before
        assert gc.get_freeze_count() > 0  # an inner block's end leaves the outer one's freeze alone
        assert sys.getswitchinterval() == SWITCH_INTERVAL
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
    assert sys.getswitchinterval() == interval
