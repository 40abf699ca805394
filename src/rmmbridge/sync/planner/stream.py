"""Planning the device stream: unchanged devices at once, changed ones in batches, order-independent re-plans."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice

from rmmbridge.connectors.rawcheck import KnownDevice, KnownLinks
from rmmbridge.connectors.records import RemoteDevice
from rmmbridge.sync.payloads import AssetConflict
from rmmbridge.sync.plan import Mapping, Op, OpKind, Snapshot, SyncSettings
from rmmbridge.sync.planner.assets import AssetPlanner
from rmmbridge.sync.planner.core import Resolution, SeenIds, TempIds
from rmmbridge.sync.planner.users import UserIndex
from rmmbridge.sync.planner.values import ChangedDevice, device_macs

#: Changed devices planned together, so that their linked assets are read in one batch.
CHANGED_BATCH = 1000
#: Devices read from the stream together: their links are read in one query.
LINK_CHUNK = 250
#: With a sink, the devices' ops are handed to it at least every HAND_EVERY devices (planning the changed ones
#: waiting by then in a smaller batch): a resync of an unchanged estate holds a page's worth, not the estate.
HAND_EVERY = 2000
#: Receives ops of a streamed run that no later device can change, as (position among the devices or -1, op).
Sink = Callable[[Sequence[tuple[int, Op]]], None]


def plan_assets(devices: Iterable[RemoteDevice | KnownDevice], snap: Snapshot, cfg: SyncSettings,
                res: Resolution, temp_ids: TempIds, users: UserIndex, *, allow_pending: bool = True,
                added_mappings: Sequence[Mapping] = (),
                arm: Callable[[str, KnownLinks], None] | None = None,
                sink: Sink | None = None) -> tuple[list[Op], list[str], SeenIds]:
    """Plan devices: (ops incl. asset types/fields to create, warnings, the external ids seen).

    Devices are read once, as they stream in: unchanged ones are decided at once, changed ones in batches whose
    linked assets the snapshot reads together. Ops keep the devices' order. With `sink` (a streamed run), the ops
    no later device can change are handed to it after each batch and not kept: new asset types and fields first
    (position -1), then each device's op with its position among the devices; a device matched by MAC address
    and a conflict with candidates wait for the end of the fetch, which may plan them again. Nothing is returned
    then but the warnings and the ids seen.
    """
    planner = AssetPlanner(snap, cfg, res, temp_ids, users, allow_pending=allow_pending,
                            added_mappings=added_mappings, arm=arm)
    device_ops: list[Op | None] = []
    waiting: list[tuple[int, ChangedDevice]] = []
    conflicts: list[tuple[int, ChangedDevice, Op]] = []
    seen = SeenIds()
    handed = [0, 0]  # with a sink: planner ops and device positions already handed to it
    held: set[int] = set()

    def hand(final: bool = False) -> None:
        if sink is None:
            return
        out: list[tuple[int, Op]] = [(-1, op) for op in planner.ops[handed[0]:]]
        handed[0] = len(planner.ops)
        for position in range(0 if final else handed[1], len(device_ops)):
            op = device_ops[position]
            if op is not None and (final or position not in held):
                out.append((position, op))
                device_ops[position] = None
        handed[1] = len(device_ops)
        if out:
            sink(out)

    def flush() -> None:
        snap.require_assets(w.ref.object_id for _, w in waiting if w.ref is not None)
        for position, item in waiting:
            op = device_ops[position] = planner.plan_changed(item)
            if op.kind is OpKind.LINK and planner.mac_keys and "MAC address" in op.reason:
                planner.mac_matched.append((position, item, op))
                held.add(position)
            elif isinstance(op.data, AssetConflict) and op.data.candidates:
                conflicts.append((position, item, op))
                held.add(position)
        waiting.clear()
        hand()

    for chunk in _chunks(devices, LINK_CHUNK):
        # the links of this chunk's changed devices (and of their parents), read together; let go once planned
        snap.require_links(key for device in chunk if not isinstance(device, KnownDevice) and not device.deleted
                           for key in (device.external_id, device.parent_external_id) if key)
        for device in chunk:
            if device.deleted:
                continue
            seen.add(device.external_id)
            if isinstance(device, KnownDevice):
                device_ops.append(planner.known(device))
            else:
                triaged = planner.triage(device)
                if isinstance(triaged, Op):
                    device_ops.append(triaged)
                else:
                    waiting.append((len(device_ops), triaged))
                    device_ops.append(None)
        if len(waiting) >= CHANGED_BATCH or (sink is not None and len(device_ops) - handed[1] >= HAND_EVERY):
            flush()
        if not waiting:
            snap.forget_links()
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
        if isinstance(op.data, AssetConflict) and planner.claimed.intersection(op.data.candidates):
            device_ops[position] = planner.plan_changed(item)
    if sink is not None:
        hand(final=True)
        return [], planner.warnings, seen
    return planner.ops + [op for op in device_ops if op is not None], planner.warnings, seen


def _chunks(devices: Iterable[RemoteDevice | KnownDevice], size: int) -> Iterator[list[RemoteDevice | KnownDevice]]:
    stream = iter(devices)
    while chunk := list(islice(stream, size)):
        yield chunk
