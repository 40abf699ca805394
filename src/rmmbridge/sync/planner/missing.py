"""Missing devices after a complete fetch (mark, deactivate, unlink) and the mass-deactivation guard."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from rmmbridge.sync.plan import MissingAction, Op, OpKind, Snapshot, SyncSettings


def plan_missing(seen: set[str], snap: Snapshot, cfg: SyncSettings, now: datetime, *,
                 fetch_complete: bool) -> tuple[list[Op], list[str]]:
    """Deactivate or unlink linked assets a complete fetch no longer contains, after the grace period."""
    if not fetch_complete:
        return [], ["The device fetch was not complete, so no asset was deactivated or unlinked."]
    ops: list[Op] = []
    grace = timedelta(hours=max(cfg.grace_hours, 0))
    for ref in snap.refs.values():
        if ref.kind != "asset" or ref.external_id in seen:
            continue
        asset = snap.brief(ref.object_id)
        if asset is None:
            ops.append(Op("assets", OpKind.UNLINK, ref.external_id, ref.external_id,
                          "the linked asset no longer exists here", target_id=ref.object_id))
            continue
        since = ref.missing_since or now
        data: dict[str, Any] = {} if ref.missing_since else {"mark_missing": now.isoformat()}
        if cfg.missing_action is MissingAction.NOTHING:
            continue
        if now - since < grace:
            if data:
                ops.append(Op("assets", OpKind.UNCHANGED, ref.external_id, asset.name,
                              f"missing from the RMM; waiting {cfg.grace_hours} h before acting",
                              target_id=asset.id, data=data))
            continue
        if cfg.missing_action is MissingAction.UNLINK:
            ops.append(Op("assets", OpKind.UNLINK, ref.external_id, asset.name,
                          "no longer in the RMM: unlinked (the asset is kept as it is)", target_id=asset.id))
        elif cfg.missing_action is MissingAction.DEACTIVATE_AND_UNLINK:
            if asset.active:
                ops.append(Op("assets", OpKind.DEACTIVATE, ref.external_id, asset.name,
                              "no longer in the RMM (complete fetch): deactivated, then unlinked",
                              target_id=asset.id, changes={"active": [True, False]}))
            ops.append(Op("assets", OpKind.UNLINK, ref.external_id, asset.name,
                          "no longer in the RMM: unlinked (deactivated)", target_id=asset.id))
        elif asset.active:
            ops.append(Op("assets", OpKind.DEACTIVATE, ref.external_id, asset.name,
                          "no longer in the RMM (complete fetch)", target_id=asset.id,
                          changes={"active": [True, False]}, data=data))
        elif data:
            ops.append(Op("assets", OpKind.UNCHANGED, ref.external_id, asset.name, "missing and already inactive",
                          target_id=asset.id, data=data))
    return ops, []


def guard(ops: Sequence[Op], snap: Snapshot, cfg: SyncSettings) -> str:
    """A message when the run would deactivate or unlink more than the allowed share of linked assets."""
    leaving = len({op.external_id for op in ops  # an asset deactivated and unlinked counts once
                   if op.entity == "assets" and op.kind in (OpKind.DEACTIVATE, OpKind.UNLINK)
                   and op.target_id is not None and snap.brief(op.target_id) is not None})
    linked = 0
    for ref in snap.refs.values():
        known = snap.brief(ref.object_id) if ref.kind == "asset" else None
        if known is not None and known.active:
            linked += 1
    if leaving == 0 or linked == 0:
        return ""
    share = 100.0 * leaving / linked
    if share > cfg.guard_percent:
        return (f"This run would deactivate or unlink {leaving} of {linked} linked assets ({share:.0f}%), more "
                f"than the {cfg.guard_percent}% guard. Nothing was written; confirm to apply it.")
    return ""
