"""Planning customers and sites: ref, mapping row, normalised name, then the new-customer setting."""

from __future__ import annotations

from collections.abc import Sequence

from rmmbridge.connectors.records import RemoteCustomer, RemoteSite
from rmmbridge.sync.matching import normalise_name
from rmmbridge.sync.plan import Mapping, NewCustomerMode, Op, OpKind, Snapshot, SyncSettings
from rmmbridge.sync.planner.core import Placement, Resolution, TempIds


class _CustomerResolver:
    """Resolves remote customers to local ones: ref, mapping row, normalised name, then the setting."""

    def __init__(self, snap: Snapshot, cfg: SyncSettings, temp_ids: TempIds) -> None:
        self.snap = snap
        self.cfg = cfg
        self.temp_ids = temp_ids
        #: Typed: (kind, external id) → row, so customer 4's row never applies to site 4.
        self.mappings: dict[tuple[str, str], Mapping] = {m.key: m for m in cfg.mappings}
        self.by_name: dict[str, list[int]] = {}
        for customer in snap.customers.values():
            self.by_name.setdefault(normalise_name(customer.name), []).append(customer.id)
        self.main_site: dict[int, int] = {
            c.id: c.main_site_id for c in snap.customers.values() if c.main_site_id is not None
        }

    def site_for(self, customer_id: int, mapping: Mapping | None) -> int | None:
        if mapping is not None and mapping.site_id is not None and mapping.site_id in self.snap.sites:
            return mapping.site_id
        return self.main_site.get(customer_id)

    def resolve(self, external_id: str, name: str, *, main_site_external_id: str | None = None) -> Op:
        """One op for the remote customer; op.target_id is the (possibly pending) customer id, or None."""
        ref = self.snap.ref("customer", external_id)
        if ref is not None and ref.object_id in self.snap.customers:
            return Op("customers", OpKind.UNCHANGED, external_id, name, "linked by an earlier import",
                      target_id=ref.object_id)
        mapping = self.mappings.get(("customer", external_id))
        if mapping is not None and mapping.customer_id in self.snap.customers:
            local = self.snap.customers[mapping.customer_id].name
            return Op("customers", OpKind.LINK, external_id, name,
                      f"mapped to '{local}' in the customer mapping table", target_id=mapping.customer_id,
                      data={"site_id": self.site_for(mapping.customer_id, mapping),
                            "site_external_id": main_site_external_id})
        found = self.by_name.get(normalise_name(name), [])
        if len(found) == 1:
            local = self.snap.customers[found[0]].name if found[0] > 0 else name
            return Op("customers", OpKind.LINK, external_id, name, f"matched by name '{local}'",
                      target_id=found[0], data={"add_mapping": found[0] > 0, "site_id": self.main_site.get(found[0]),
                                                "site_external_id": main_site_external_id})
        if len(found) > 1:
            ids = ", ".join(f"#{i}" for i in found)
            return Op("customers", OpKind.CONFLICT, external_id, name,
                      f"name '{name}' matches {len(found)} local customers ({ids}); add a mapping row")
        if self.cfg.new_customer_mode is NewCustomerMode.CREATE:
            temp, site_temp = self.temp_ids.new(), self.temp_ids.new()
            self.by_name.setdefault(normalise_name(name), []).append(temp)
            self.main_site[temp] = site_temp
            return Op("customers", OpKind.CREATE, external_id, name, "no mapping or customer of that name: create it",
                      target_id=temp, data={"temp_id": temp, "name": name, "toplevel_id": self.cfg.toplevel_id,
                                            "main_site_temp_id": site_temp,
                                            "site_external_id": main_site_external_id})
        return Op("customers", OpKind.SKIP, external_id, name,
                  "not mapped and no customer has this name: left for review (add a mapping row)")


def plan_customers_sites(
    customers: Sequence[RemoteCustomer],
    sites: Sequence[RemoteSite],
    snap: Snapshot,
    cfg: SyncSettings,
    temp_ids: TempIds,
    *,
    sites_are_customers: bool,
) -> tuple[list[Op], Resolution]:
    """Plan customers and sites; return the ops and where each remote customer/site's records go."""
    resolver = _CustomerResolver(snap, cfg, temp_ids)
    ops: list[Op] = []
    res = Resolution(site_names={s.id: s.name for s in snap.sites.values()})
    if sites_are_customers:
        remote_customers = [RemoteCustomer(s.external_id, s.name) for s in sites] or list(customers)
        if cfg.new_customer_mode is NewCustomerMode.ONE_CUSTOMER:
            return _plan_sites_under_one_customer(remote_customers, snap, cfg, temp_ids, resolver)
        for remote in remote_customers:
            op = resolver.resolve(remote.external_id, remote.name, main_site_external_id=remote.external_id)
            ops.append(op)
            _record_customer(op, remote.external_id, remote.name, resolver, res, as_site=True)
        return ops, res

    for remote in customers:
        op = resolver.resolve(remote.external_id, remote.name)
        ops.append(op)
        _record_customer(op, remote.external_id, remote.name, resolver, res, as_site=False)
    site_names: dict[tuple[int, str], int] = {
        (s.customer_id, normalise_name(s.name)): s.id for s in snap.sites.values()
    }
    for remote_site in sites:
        ops.append(_plan_site(remote_site, snap, resolver, res, temp_ids, site_names))
    return ops, res


def _record_customer(op: Op, external_id: str, name: str, resolver: _CustomerResolver, res: Resolution,
                     *, as_site: bool) -> None:
    if op.target_id is None:
        res.unresolved[external_id] = name
        return
    site_id = op.data.get("site_id") or resolver.main_site.get(op.target_id)
    if site_id is None:
        res.unresolved[external_id] = name
        return
    placement = Placement(op.target_id, int(site_id), op.reason)
    res.by_customer[external_id] = placement
    if as_site:
        res.by_site[external_id] = placement


def _plan_site(remote: RemoteSite, snap: Snapshot, resolver: _CustomerResolver, res: Resolution,
               temp_ids: TempIds, site_names: dict[tuple[int, str], int]) -> Op:
    ref = snap.ref("site", remote.external_id)
    if ref is not None and ref.object_id in snap.sites:
        site = snap.sites[ref.object_id]
        res.by_site[remote.external_id] = Placement(site.customer_id, site.id, "linked by an earlier import")
        return Op("sites", OpKind.UNCHANGED, remote.external_id, remote.name, "linked by an earlier import",
                  target_id=site.id)
    mapping = resolver.mappings.get(("site", remote.external_id))
    if mapping is not None and mapping.customer_id in snap.customers:
        site_id = resolver.site_for(mapping.customer_id, mapping)
        if site_id is not None:
            res.by_site[remote.external_id] = Placement(mapping.customer_id, site_id, "site mapping")
            return Op("sites", OpKind.LINK, remote.external_id, remote.name,
                      f"site {remote.external_id} mapped to '{snap.sites[site_id].name}' of "
                      f"'{snap.customers[mapping.customer_id].name}' in the mapping table", target_id=site_id)
    parent = res.by_customer.get(remote.customer_external_id or "")
    if parent is None:
        res.unresolved[remote.external_id] = remote.name
        return Op("sites", OpKind.SKIP, remote.external_id, remote.name,
                  "its customer is not imported or mapped: left for review")
    existing = site_names.get((parent.customer_id, normalise_name(remote.name)))
    if existing is not None:
        res.by_site[remote.external_id] = Placement(parent.customer_id, existing, "site name")
        return Op("sites", OpKind.LINK, remote.external_id, remote.name,
                  f"matched by site name '{res.site_names.get(existing, remote.name)}' within the customer",
                  target_id=existing)
    temp = temp_ids.new()
    site_names[(parent.customer_id, normalise_name(remote.name))] = temp
    res.by_site[remote.external_id] = Placement(parent.customer_id, temp, "new site")
    res.site_names[temp] = remote.name
    return Op("sites", OpKind.CREATE, remote.external_id, remote.name, "new site of its customer",
              target_id=temp, data={"temp_id": temp, "customer_id": parent.customer_id, "name": remote.name})


def _plan_sites_under_one_customer(
    remotes: Sequence[RemoteCustomer], snap: Snapshot, cfg: SyncSettings, temp_ids: TempIds,
    resolver: _CustomerResolver,
) -> tuple[list[Op], Resolution]:
    ops: list[Op] = []
    res = Resolution(site_names={s.id: s.name for s in snap.sites.values()})
    target = cfg.one_customer_id
    site_names = {(s.customer_id, normalise_name(s.name)): s.id for s in snap.sites.values()}
    for remote in remotes:
        ref = snap.ref("site", remote.external_id)
        mapping = resolver.mappings.get(("customer", remote.external_id))  # Datto RMM: its sites are customers
        if ref is not None and ref.object_id in snap.sites:
            site = snap.sites[ref.object_id]
            res.by_site[remote.external_id] = Placement(site.customer_id, site.id, "linked")
            ops.append(Op("sites", OpKind.UNCHANGED, remote.external_id, remote.name, "linked by an earlier import",
                          target_id=site.id))
            continue
        if mapping is not None and mapping.customer_id in snap.customers:
            site_id = resolver.site_for(mapping.customer_id, mapping)
            if site_id is not None:
                res.by_site[remote.external_id] = Placement(mapping.customer_id, site_id, "mapping")
                ops.append(Op("sites", OpKind.LINK, remote.external_id, remote.name,
                              "mapped in the customer mapping table", target_id=site_id))
                continue
        if target is None or target not in snap.customers:
            res.unresolved[remote.external_id] = remote.name
            ops.append(Op("sites", OpKind.SKIP, remote.external_id, remote.name,
                          "'all sites under one customer' is chosen but no customer is set: choose it in the settings"))
            continue
        existing = site_names.get((target, normalise_name(remote.name)))
        if existing is not None:
            res.by_site[remote.external_id] = Placement(target, existing, "site name")
            ops.append(Op("sites", OpKind.LINK, remote.external_id, remote.name,
                          f"matched by site name within '{snap.customers[target].name}'", target_id=existing))
            continue
        temp = temp_ids.new()
        site_names[(target, normalise_name(remote.name))] = temp
        res.by_site[remote.external_id] = Placement(target, temp, "new site")
        res.site_names[temp] = remote.name
        ops.append(Op("sites", OpKind.CREATE, remote.external_id, remote.name,
                      f"new site of '{snap.customers[target].name}' (all sites under one customer)", target_id=temp,
                      data={"temp_id": temp, "customer_id": target, "name": remote.name}))
    res.by_customer = dict(res.by_site)
    return ops, res
