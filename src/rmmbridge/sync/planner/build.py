"""The whole plan of one run, in apply order."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from operator import itemgetter

from rmmbridge.sync.payloads import CustomerLink, Entity
from rmmbridge.sync.plan import Mapping, Op, Plan, Snapshot, SyncSettings
from rmmbridge.sync.planner.core import RemoteData, TempIds
from rmmbridge.sync.planner.customers import plan_customers_sites
from rmmbridge.sync.planner.missing import guard, plan_missing
from rmmbridge.sync.planner.stream import Sink, plan_assets
from rmmbridge.sync.planner.users import plan_users, user_index


class _KeepActive:
    """A sink that keeps every op but the idle ones (unchanged, nothing to write), which it only counts: the plan
    of a resync holds what changed, not the whole estate. The kept ops come out in the order of the whole plan."""

    def __init__(self) -> None:
        self.head: list[Op] = []
        self.devices: list[tuple[int, Op]] = []
        self.idle: Counter[str] = Counter()

    def __call__(self, batch: Sequence[tuple[int, Op]]) -> None:
        for position, op in batch:
            if position < 0:
                self.head.append(op)
            elif op.idle:
                self.idle[op.entity] += 1
            else:
                self.devices.append((position, op))

    def ops(self) -> list[Op]:
        self.devices.sort(key=itemgetter(0))  # held-back devices (MAC matches, conflicts) come last from the planner
        return self.head + [op for _, op in self.devices]


def build_plan(remote: RemoteData, snap: Snapshot, cfg: SyncSettings, *, sites_are_customers: bool,
               entities: Sequence[str], now: datetime, sink: Sink | None = None,
               keep_idle: bool = True) -> Plan:
    """The whole plan for the chosen entities, in apply order; the guard sets needs_confirmation.

    With `sink` (a streamed run, see plan_assets) the customer, site and user ops go to it first, then the
    devices' ops batch by batch; the plan returned holds only what needs the complete fetch (plan_missing), under
    the same guard. Without a sink, `keep_idle=False` leaves idle device ops (unchanged, nothing to write) out of
    `ops` and counts them in `plan.idle`: memory then follows the changes, not the estate.
    """
    kept = _KeepActive() if sink is None and not keep_idle else None
    if kept is not None:
        sink = kept
    temp_ids = TempIds()
    plan = Plan()
    place_ops, res = plan_customers_sites(remote.customers, remote.sites, snap, cfg, temp_ids,
                                          sites_are_customers=sites_are_customers)
    importing_places = Entity.CUSTOMERS in entities or Entity.SITES in entities
    if importing_places:
        plan.extend(place_ops)
    else:  # customers that would be created are not imported in this run: their records wait for them
        res.by_site = {k: p for k, p in res.by_site.items() if p.site_id > 0 and p.customer_id > 0}
        res.by_customer = {k: p for k, p in res.by_customer.items() if p.site_id > 0 and p.customer_id > 0}
    users = user_index(snap)
    if Entity.USERS in entities:
        plan.extend(plan_users(remote.users, snap, cfg, res, temp_ids, users))
    if sink is not None and plan.ops:
        sink([(-1, op) for op in plan.ops])
        plan.ops = []
    if Entity.ASSETS in entities:
        added = [Mapping(op.external_id, op.target_id) for op in place_ops if importing_places
                 and op.entity is Entity.CUSTOMERS and isinstance(op.data, CustomerLink) and op.data.add_mapping
                 and op.target_id is not None]
        ops, warnings, seen = plan_assets(remote.devices, snap, cfg, res, temp_ids, users,
                                          allow_pending=importing_places, added_mappings=added, arm=remote.arm,
                                          sink=sink)
        plan.extend(ops)
        plan.warnings.extend(warnings)
        missing, notes = plan_missing(seen, snap, cfg, now, fetch_complete="assets" in remote.complete)
        plan.extend(missing)
        plan.warnings.extend(notes)
        message = guard(missing, snap, cfg)
        if message:
            plan.needs_confirmation = True
            plan.guard_message = message
    if kept is not None:
        plan.ops = kept.ops() + plan.ops
        plan.idle = kept.idle
    return plan
