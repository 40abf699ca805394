"""Missing devices after a complete fetch (mark, deactivate, unlink) and the mass-deactivation guard."""

from __future__ import annotations

from collections.abc import Container, Sequence
from datetime import datetime, timedelta

from rmmbridge.sync.payloads import Entity, MissingMark
from rmmbridge.sync.plan import MissingAction, Op, OpKind, Snapshot, SyncSettings


def plan_missing(seen: Container[str], snap: Snapshot, cfg: SyncSettings, now: datetime, *,
                 fetch_complete: bool) -> tuple[list[Op], list[str]]:
    """Deactivate or unlink linked assets a complete fetch no longer contains, after the grace period (the links
    are read as a stream: nothing of the estate is held)."""
    if not fetch_complete:
        return [], ["The device fetch was not complete, so no asset was deactivated or unlinked."]
    ops: list[Op] = []
    grace = timedelta(hours=max(cfg.grace_hours, 0))
    for ref, asset in snap.asset_links():
        if ref.external_id in seen:
            continue
        if asset is None:
            ops.append(Op(Entity.ASSETS, OpKind.UNLINK, ref.external_id, ref.external_id,
                          "the linked asset no longer exists here", target_id=ref.object_id))
            continue
        since = ref.missing_since or now
        data = None if ref.missing_since else MissingMark(now.isoformat())
        if cfg.missing_action is MissingAction.NOTHING:
            continue
        if now - since < grace:
            if data:
                ops.append(Op(Entity.ASSETS, OpKind.UNCHANGED, ref.external_id, asset.name,
                              f"missing from the RMM; waiting {cfg.grace_hours} h before acting",
                              target_id=asset.id, data=data))
            continue
        if cfg.missing_action is MissingAction.UNLINK:
            ops.append(Op(Entity.ASSETS, OpKind.UNLINK, ref.external_id, asset.name,
                          "no longer in the RMM: unlinked (the asset is kept as it is)", target_id=asset.id))
        elif cfg.missing_action is MissingAction.DEACTIVATE_AND_UNLINK:
            if asset.active:
                ops.append(Op(Entity.ASSETS, OpKind.DEACTIVATE, ref.external_id, asset.name,
                              "no longer in the RMM (complete fetch): deactivated, then unlinked",
                              target_id=asset.id, changes={"active": [True, False]}))
            ops.append(Op(Entity.ASSETS, OpKind.UNLINK, ref.external_id, asset.name,
                          "no longer in the RMM: unlinked (deactivated)", target_id=asset.id))
        elif asset.active:
            ops.append(Op(Entity.ASSETS, OpKind.DEACTIVATE, ref.external_id, asset.name,
                          "no longer in the RMM (complete fetch)", target_id=asset.id,
                          changes={"active": [True, False]}, data=data))
        elif data:
            ops.append(Op(Entity.ASSETS, OpKind.UNCHANGED, ref.external_id, asset.name, "missing and already inactive",
                          target_id=asset.id, data=data))
    return ops, []


def guard(ops: Sequence[Op], snap: Snapshot, cfg: SyncSettings) -> str:
    """A message when the run would deactivate or unlink more than the allowed share of linked assets."""
    leaving = {op.external_id for op in ops  # an asset deactivated and unlinked counts once
               if op.entity is Entity.ASSETS and op.kind in (OpKind.DEACTIVATE, OpKind.UNLINK)
               and op.target_id is not None}
    if not leaving:
        return ""
    linked = gone = 0
    for ref, known in snap.asset_links():  # read again only when something would leave
        if known is not None:
            linked += known.active
            gone += ref.external_id in leaving
    if gone == 0 or linked == 0:
        return ""
    share = 100.0 * gone / linked
    if share > cfg.guard_percent:
        return (f"This run would deactivate or unlink {gone} of {linked} linked assets ({share:.0f}%), more "
                f"than the {cfg.guard_percent}% guard. Nothing was written; confirm to apply it.")
    return ""
