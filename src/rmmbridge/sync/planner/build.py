"""The whole plan of one run, in apply order."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rmmbridge.sync.payloads import CustomerLink, Entity
from rmmbridge.sync.plan import Mapping, Plan, Snapshot, SyncSettings
from rmmbridge.sync.planner.core import RemoteData, TempIds
from rmmbridge.sync.planner.customers import plan_customers_sites
from rmmbridge.sync.planner.missing import guard, plan_missing
from rmmbridge.sync.planner.stream import Sink, plan_assets
from rmmbridge.sync.planner.users import plan_users, user_index


def build_plan(remote: RemoteData, snap: Snapshot, cfg: SyncSettings, *, sites_are_customers: bool,
               entities: Sequence[str], now: datetime, sink: Sink | None = None) -> Plan:
    """The whole plan for the chosen entities, in apply order; the guard sets needs_confirmation.

    With `sink` (a streamed run, see plan_assets) the customer, site and user ops go to it first, then the
    devices' ops batch by batch; the plan returned holds only what needs the complete fetch (plan_missing), under
    the same guard.
    """
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
    return plan
