"""Planning the device stream: unchanged devices at once, changed ones in batches, order-independent re-plans."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from rmmbridge.connectors.rawcheck import KnownDevice
from rmmbridge.connectors.records import RemoteDevice
from rmmbridge.sync.plan import Mapping, Op, OpKind, Snapshot, SyncSettings
from rmmbridge.sync.planner.assets import AssetPlanner
from rmmbridge.sync.planner.core import Resolution, TempIds
from rmmbridge.sync.planner.users import UserIndex
from rmmbridge.sync.planner.values import ChangedDevice, device_macs

#: Changed devices planned together, so that their linked assets are read in one batch.
CHANGED_BATCH = 1000


def plan_assets(devices: Iterable[RemoteDevice | KnownDevice], snap: Snapshot, cfg: SyncSettings,
                res: Resolution, temp_ids: TempIds, users: UserIndex, *, allow_pending: bool = True,
                added_mappings: Sequence[Mapping] = (),
                arm: Callable[[str, dict[str, str]], None] | None = None) -> tuple[list[Op], list[str], set[str]]:
    """Plan devices: (ops incl. asset types/fields to create, warnings, the external ids seen).

    Devices are read once, as they stream in: unchanged ones are decided at once, changed ones in batches whose
    linked assets the snapshot reads together. Ops keep the devices' order.
    """
    planner = AssetPlanner(snap, cfg, res, temp_ids, users, allow_pending=allow_pending,
                            added_mappings=added_mappings)
    if arm is not None:
        planner.arm(arm)
    device_ops: list[Op | None] = []
    waiting: list[tuple[int, ChangedDevice]] = []
    conflicts: list[tuple[int, ChangedDevice, Op]] = []
    seen: set[str] = set()

    def flush() -> None:
        snap.require_assets(w.ref.object_id for _, w in waiting if w.ref is not None)
        for position, item in waiting:
            op = device_ops[position] = planner.plan_changed(item)
            if op.kind is OpKind.LINK and planner.mac_keys and "MAC address" in op.reason:
                planner.mac_matched.append((position, item, op))
            elif op.kind is OpKind.CONFLICT and op.data.get("candidates"):
                conflicts.append((position, item, op))
        waiting.clear()

    for device in devices:
        if device.deleted:
            continue
        seen.add(device.external_id)
        if isinstance(device, KnownDevice):
            device_ops.append(planner.known(device))
            continue
        triaged = planner.triage(device)
        if isinstance(triaged, Op):
            device_ops.append(triaged)
            continue
        waiting.append((len(device_ops), triaged))
        device_ops.append(None)
        if len(waiting) >= CHANGED_BATCH:
            flush()
    flush()
    for position, item, op in planner.mac_matched:  # a MAC another device of this fetch reports too: re-plan
        if not any(planner.index.shared.get(m, 0) > 1 for m in device_macs(item.device)):
            continue
        if op.target_id is not None:
            planner.claimed.discard(op.target_id)
            planner.moves.discard(op.target_id)
        device_ops[position] = planner.plan_changed(item)
    # A conflict over an asset that a later device of this fetch took (by its link or a match) is planned again
    # without it, as the next run would plan it: the result does not depend on the order of the devices.
    for position, item, op in conflicts:
        if planner.claimed.intersection(op.data["candidates"]):
            device_ops[position] = planner.plan_changed(item)
    return planner.ops + [op for op in device_ops if op is not None], planner.warnings, seen
