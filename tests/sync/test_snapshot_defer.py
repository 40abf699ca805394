"""A snapshot holds no asset link for the run: it arms the connector from a stream, reads a batch's links on demand."""

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
from rmmbridge.sync.plan import AssetBrief
from rmmbridge.sync.planner.assets import AssetPlanner
from rmmbridge.sync.planner.core import Resolution, TempIds
from rmmbridge.sync.planner.users import user_index
from rmmbridge.sync.runner import run_sync
from rmmbridge.sync.snapshot import load_settings, load_snapshot


@pytest.mark.django_db
def test_snapshot_streams_its_links_reads_a_batch_on_demand_and_arms_before_reading_the_rest() -> None:
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

    snap = load_snapshot(integration.pk, defer=True)
    assert snap.has_asset_links()
    assert not any(kind == "asset" for kind, _ in snap.refs)  # no link is held for the run
    assert not snap.briefs
    assert not snap.assets
    prefix = links[2].fingerprint[:16]
    known = snap.known_links(prefix)
    assert len(known) == len(links) - 2
    assert known.get(links[2].external_id, links[2].fingerprint) == links[2].object_id
    assert known.get(links[0].external_id, links[0].fingerprint) is None  # its link went missing
    assert known.get(links[1].external_id, links[1].fingerprint) is None  # its asset was deleted
    streamed = {ref.external_id: (ref, brief) for ref, brief in snap.asset_links()}
    assert len(streamed) == len(links)
    assert streamed[links[1].external_id][1] is None
    assert streamed[links[0].external_id][0].missing_since == missing_at  # aware, to the microsecond
    assert streamed[links[2].external_id][1] == AssetBrief(model.pk, model.name, True)

    snap.require_links([links[2].external_id, links[1].external_id, "not-linked"])
    assert snap.ref("asset", links[2].external_id) == streamed[links[2].external_id][0]
    assert snap.brief(links[2].object_id) == AssetBrief(model.pk, model.name, True)
    assert snap.ref("asset", links[1].external_id) is not None
    assert snap.brief(links[1].object_id) is None
    snap.require_assets([links[2].object_id])
    assert snap.assets[links[2].object_id].name == model.name
    snap.forget_links()  # the batch was planned: nothing of it is held
    assert not any(kind == "asset" for kind, _ in snap.refs)
    assert not snap.briefs
    assert not snap.assets
    assert snap.ref("asset", links[3].external_id) == streamed[links[3].external_id][0]  # read when asked
    assert snap.asset(links[3].object_id) is not None

    snap.complete()
    assert snap.rest is None
    assert "UNLINKED-PC" in [a.name for a in snap.assets.values()]

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
    assert [a.name for a in fresh.assets.values()] == ["UNLINKED-PC"]


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
