"""The pure planner: (remote records, local snapshot, settings) → a plan of explained operations (no Django)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from operator import attrgetter
from typing import Any

from rmmbridge.connectors.rawcheck import KnownDevice, raw_fingerprint
from rmmbridge.connectors.records import DeviceType, RemoteCustomer, RemoteDevice, RemoteSite, RemoteUser
from rmmbridge.servicedesk.fieldtypes import DataType, FieldValueError, coerce_value
from rmmbridge.sync.matching import STRONG_KEYS, MatchIndex, junk_set, match_asset, normalise_name, normalise_value
from rmmbridge.sync.plan import (
    LocalAsset,
    LocalField,
    LocalRef,
    Mapping,
    MissingAction,
    NewCustomerMode,
    Op,
    OpKind,
    Plan,
    Snapshot,
    SyncSettings,
)

#: The normalized device types (keys of type mappings without a type field).
DEVICE_TYPE_KEYS = frozenset(t.value for t in DeviceType)
DEVICE_ATTRIBUTES = (
    "hostname", "serial_number", "os_name", "manufacturer", "model", "ip_addresses", "mac_addresses",
    "last_logged_in_user", "last_seen", "online", "device_type", "vendor_type", "site_external_id",
    "customer_external_id",
)
DEFAULT_GROUP_NAME = "RMM devices"
UNCHANGED_REASON = "unchanged in the RMM since the last import"
GONE_REASON = ("its linked asset was removed while this run read the RMM: it is planned again at the next run "
               "(nothing written)")


def raw_sources(cfg: SyncSettings) -> list[str]:
    """Every device attribute and vendor field path the asset planner reads (for the connector's RawCheck)."""
    return list(dict.fromkeys([
        "hostname", "site_external_id", "customer_external_id", "parent_external_id", "device_type",
        cfg.user_source or "last_logged_in_user", *([cfg.type_field] if cfg.type_field else []),
        *(fm.source for fm in cfg.field_maps), *(r.field for r in cfg.match_rules), *STRONG_KEYS,
    ]))


@dataclass
class RemoteData:
    """Everything fetched for one run; `complete` says which entities were fetched fully without error."""

    customers: list[RemoteCustomer] = field(default_factory=list)
    sites: list[RemoteSite] = field(default_factory=list)
    users: list[RemoteUser] = field(default_factory=list)
    #: Read once (may be a draining iterator); a KnownDevice is a device the connector found unchanged (RawCheck).
    devices: Iterable[RemoteDevice | KnownDevice] = field(default_factory=list)
    complete: set[str] = field(default_factory=set)
    #: The connector's RawCheck.arm: called with the settings' key and the links' fingerprints once planned.
    arm: Callable[[str, dict[str, str]], None] | None = None


class Pending:
    """Hands out negative temporary ids for objects the plan creates; apply maps them to real ids."""

    def __init__(self) -> None:
        self._next = -1

    def new(self) -> int:
        value = self._next
        self._next -= 1
        return value


@dataclass
class Placement:
    """Where records of a remote customer/site go: local (or pending) customer and site, and why."""

    customer_id: int
    site_id: int
    via: str


@dataclass
class Resolution:
    """Outcome of the customers/sites stage, used to place users and devices."""

    by_site: dict[str, Placement] = field(default_factory=dict)
    by_customer: dict[str, Placement] = field(default_factory=dict)
    unresolved: dict[str, str] = field(default_factory=dict)  # remote id → remote name, left for review
    site_names: dict[int, str] = field(default_factory=dict)

    def place(self, site_external_id: str | None, customer_external_id: str | None) -> Placement | None:
        if site_external_id and site_external_id in self.by_site:
            return self.by_site[site_external_id]
        if customer_external_id and customer_external_id in self.by_customer:
            return self.by_customer[customer_external_id]
        return None


def fingerprint(payload: Any) -> str:
    """A stable hash of the wanted state of one record."""
    text = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:40]


# Customers and sites --------------------------------------------------------------------------------


class _CustomerResolver:
    """Resolves remote customers to local ones: ref, mapping row, normalised name, then the setting."""

    def __init__(self, snap: Snapshot, cfg: SyncSettings, pending: Pending) -> None:
        self.snap = snap
        self.cfg = cfg
        self.pending = pending
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
            temp, site_temp = self.pending.new(), self.pending.new()
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
    pending: Pending,
    *,
    sites_are_customers: bool,
) -> tuple[list[Op], Resolution]:
    """Plan customers and sites; return the ops and where each remote customer/site's records go."""
    resolver = _CustomerResolver(snap, cfg, pending)
    ops: list[Op] = []
    res = Resolution(site_names={s.id: s.name for s in snap.sites.values()})
    if sites_are_customers:
        remote_customers = [RemoteCustomer(s.external_id, s.name) for s in sites] or list(customers)
        if cfg.new_customer_mode is NewCustomerMode.ONE_CUSTOMER:
            return _plan_sites_under_one_customer(remote_customers, snap, cfg, pending, resolver)
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
        ops.append(_plan_site(remote_site, snap, resolver, res, pending, site_names))
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
               pending: Pending, site_names: dict[tuple[int, str], int]) -> Op:
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
    temp = pending.new()
    site_names[(parent.customer_id, normalise_name(remote.name))] = temp
    res.by_site[remote.external_id] = Placement(parent.customer_id, temp, "new site")
    res.site_names[temp] = remote.name
    return Op("sites", OpKind.CREATE, remote.external_id, remote.name, "new site of its customer",
              target_id=temp, data={"temp_id": temp, "customer_id": parent.customer_id, "name": remote.name})


def _plan_sites_under_one_customer(
    remotes: Sequence[RemoteCustomer], snap: Snapshot, cfg: SyncSettings, pending: Pending,
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
        temp = pending.new()
        site_names[(target, normalise_name(remote.name))] = temp
        res.by_site[remote.external_id] = Placement(target, temp, "new site")
        res.site_names[temp] = remote.name
        ops.append(Op("sites", OpKind.CREATE, remote.external_id, remote.name,
                      f"new site of '{snap.customers[target].name}' (all sites under one customer)", target_id=temp,
                      data={"temp_id": temp, "customer_id": target, "name": remote.name}))
    res.by_customer = dict(res.by_site)
    return ops, res


# Users ----------------------------------------------------------------------------------------------


@dataclass
class UserIndex:
    """Users per customer by e-mail and normalised name (local and pending), for matching and device links."""

    by_email: dict[tuple[int, str], int] = field(default_factory=dict)
    by_name: dict[tuple[int, str], int] = field(default_factory=dict)

    def add(self, customer_id: int, user_id: int, name: str, email: str) -> None:
        if email:
            self.by_email.setdefault((customer_id, email.strip().lower()), user_id)
        if name:
            self.by_name.setdefault((customer_id, normalise_name(name)), user_id)

    def find(self, customer_id: int, text: str) -> tuple[int | None, str]:
        """A user of the customer by e-mail, by name, or by a DOMAIN\\login's login part."""
        raw = text.strip()
        if not raw:
            return None, ""
        lowered = raw.lower()
        if (customer_id, lowered) in self.by_email:
            return self.by_email[(customer_id, lowered)], "e-mail"
        login = lowered.split("\\")[-1]
        if (customer_id, normalise_name(login)) in self.by_name:
            return self.by_name[(customer_id, normalise_name(login))], "name"
        for (cid, email), uid in self.by_email.items():
            if cid == customer_id and email.split("@")[0] == login:
                return uid, "login"
        return None, ""


def user_index(snap: Snapshot) -> UserIndex:
    index = UserIndex()
    for user in snap.users.values():
        index.add(user.customer_id, user.id, user.name, user.email)
    return index


def plan_users(users: Sequence[RemoteUser], snap: Snapshot, cfg: SyncSettings, res: Resolution, pending: Pending,
               index: UserIndex) -> list[Op]:
    """Match users by e-mail, then by name within the customer; create the rest at their site."""
    ops: list[Op] = []
    for remote in users:
        email = (remote.email or "").strip()
        wanted = {"name": remote.name.strip(), "email": email}
        fp = fingerprint(wanted)
        ref = snap.ref("end_user", remote.external_id)
        if ref is not None and ref.object_id in snap.users:
            local = snap.users[ref.object_id]
            changes = {k: [getattr(local, k), v] for k, v in wanted.items() if v and getattr(local, k) != v}
            kind = OpKind.UPDATE if changes else OpKind.UNCHANGED
            ops.append(Op("users", kind, remote.external_id, remote.name, "linked by an earlier import",
                          target_id=local.id, changes=changes, fingerprint=fp))
            continue
        placement = res.place(remote.site_external_id, remote.customer_external_id)
        if placement is None:
            ops.append(Op("users", OpKind.SKIP, remote.external_id, remote.name,
                          "its customer is not mapped or imported: import or map the customer first"))
            continue
        found: int | None = None
        reason = ""
        if cfg.match_users:
            if email and (placement.customer_id, email.lower()) in index.by_email:
                found, reason = index.by_email[(placement.customer_id, email.lower())], f"matched by e-mail '{email}'"
            elif (placement.customer_id, normalise_name(remote.name)) in index.by_name:
                found = index.by_name[(placement.customer_id, normalise_name(remote.name))]
                reason = f"matched by name '{remote.name}' within the customer"
        if found is not None and found > 0:
            ops.append(Op("users", OpKind.LINK, remote.external_id, remote.name, reason, target_id=found,
                          fingerprint=fp))
            continue
        temp = pending.new()
        index.add(placement.customer_id, temp, remote.name, email)
        ops.append(Op("users", OpKind.CREATE, remote.external_id, remote.name, "no user with this e-mail or name",
                      target_id=temp, fingerprint=fp,
                      data={"temp_id": temp, "site_id": placement.site_id, "name": remote.name, "email": email}))
    return ops


# Assets ---------------------------------------------------------------------------------------------


def device_value(device: RemoteDevice, path: str) -> Any:
    """The value of a field path on a device: a normalized attribute or a flattened vendor field."""
    if path in DEVICE_ATTRIBUTES:
        return _plain(getattr(device, path))
    return _plain(device.fields.get(path[7:] if path.startswith("fields.") else path))


def _plain(value: Any) -> Any:
    if value is None or type(value) is str:
        return value
    if isinstance(value, tuple):
        return ", ".join(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


def type_label(key: str) -> str:
    """'network_device' → 'Network device'."""
    text = key.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


class _AssetPlanner:
    def __init__(self, snap: Snapshot, cfg: SyncSettings, res: Resolution, pending: Pending, users: UserIndex,
                 *, allow_pending: bool, added_mappings: Sequence[Mapping] = ()) -> None:
        self.snap = snap
        self.cfg = cfg
        self.res = res
        self.pending = pending
        self.users = users
        self.allow_pending = allow_pending
        self.ops: list[Op] = []
        self.warnings: list[str] = []
        self.type_maps = {t.device_type: t for t in cfg.type_maps}
        self.types_by_name = {t.name.lower(): t.id for t in snap.asset_types.values()}
        self.type_names = {t.id: t.name for t in snap.asset_types.values()}
        self.fields: dict[str, LocalField] = dict(snap.fields)
        self.rules = [(r.field, r.within_customer) for r in cfg.match_rules]
        self.index = MatchIndex(tuple(k for k, _ in self.rules), junk_set(cfg.junk_values))
        self.asset_refs: dict[int, str] = {r.object_id: r.external_id for r in snap.refs.values() if r.kind == "asset"}
        for asset in snap.assets.values():
            if asset.id in self.asset_refs:
                continue  # already linked to one of this integration's devices
            for key, _ in self.rules:
                value = asset.name if key == "name" else asset.values.get(key)
                self.index.add(asset.id, asset.customer_id, key, value)
            self.index.describe(asset.id, asset.name, asset.customer_id, asset.values)
        self.mac_keys = tuple(k for k, _ in self.rules if "mac" in k.lower())
        self.customer_names = {c.id: c.name for c in snap.customers.values()}
        #: Devices matched by a MAC: re-planned at the end of the fetch if another device reports that MAC too.
        self.mac_matched: list[tuple[int, _Pending, Op]] = []
        self.claimed: set[int] = set()
        self.moves: set[int] = set()
        self._readers: dict[str, Callable[[RemoteDevice], Any]] = {}
        self._types: dict[str, tuple[int | None, str]] = {}
        self._plan_fields()
        targets = sorted((fm.target, self.fields[fm.target].data_type) for fm in cfg.field_maps
                         if fm.target in self.fields)
        self.config_key = fingerprint([
            # the rows this run adds by name match count as there already: the next run's key is the same
            sorted(set(cfg.mappings) | set(added_mappings), key=lambda m: (m.kind, m.external_id, m.customer_id)),
            cfg.new_customer_mode.value, cfg.one_customer_id, cfg.toplevel_id, cfg.link_device_users,
            cfg.user_source,
            cfg.type_maps, cfg.type_field, cfg.import_types, cfg.default_group_id, cfg.field_maps, cfg.default_site_id,
            cfg.child_assets, targets,
        ])

    def _plan_fields(self) -> None:
        for fm in self.cfg.field_maps:
            if fm.target in self.fields or fm.target.lower() in {k.lower() for k in self.fields}:
                continue
            if fm.create_if_missing and fm.target not in ("name",):
                custom = fm.target.startswith("CF") and len(fm.target) > 2
                name = fm.target[2:] if custom else fm.target
                label = type_label(name)
                self.fields[fm.target] = LocalField(fm.target, label)
                self.ops.append(Op("fields", OpKind.CREATE, fm.target, label,
                                   f"field mapping from '{fm.source}' asks to create it",
                                   data={"name": name, "label": label,
                                         "kind": "custom_field" if custom else "asset_field"}))
            elif fm.target != "name":
                self.warnings.append(
                    f"Field mapping '{fm.source}' → '{fm.target}': no field '{fm.target}' exists; create it under "
                    "Settings > Fields or tick 'create the field if missing'."
                )

    def asset_type(self, key: str) -> tuple[int | None, str]:
        """(asset type id or pending id, reason) or (None, why it is skipped); decided once per device type."""
        known = self._types.get(key)
        if known is None:
            known = self._types[key] = self._decide_asset_type(key)
        return known

    def type_key(self, device: RemoteDevice) -> str:
        """The key the asset type mapping is looked up by: the value of the chosen type field, else (no option, or
        no value on this device) the device type."""
        if self.cfg.type_field:
            value = device_value(device, self.cfg.type_field)
            if value not in (None, "") and str(value).strip():
                return str(value).strip()[:100]
        return str(device.device_type)

    def _decide_asset_type(self, key: str) -> tuple[int | None, str]:
        if self.cfg.import_types and key in DEVICE_TYPE_KEYS and key not in self.cfg.import_types:
            return None, f"device type '{type_label(key)}' is not selected for import"
        mapped = self.type_maps.get(key)
        if mapped is not None and mapped.ignore:
            return None, f"device type '{type_label(key)}' is set to 'ignore'"
        if mapped is not None and mapped.asset_type_id in self.type_names:
            return mapped.asset_type_id, "type mapping"
        label = type_label(key)
        if label.lower() in self.types_by_name:
            return self.types_by_name[label.lower()], "same-named asset type"
        temp = self.pending.new()
        self.types_by_name[label.lower()] = temp
        self.type_names[temp] = label
        self.ops.append(Op("asset_types", OpKind.CREATE, key, label,
                           "no asset type mapped or named like this device type: create it",
                           target_id=temp, data={"temp_id": temp, "name": label,
                                                 "group_id": self.cfg.default_group_id,
                                                 "group_name": DEFAULT_GROUP_NAME}))
        return temp, "new asset type"

    def wanted_values(self, device: RemoteDevice, type_key: str, warnings: list[str]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for fm in self.cfg.field_maps:
            if fm.device_type and fm.device_type != type_key:
                continue
            definition = self.fields.get(fm.target)
            if definition is None or fm.target == "name":
                continue
            raw = device_value(device, fm.source)
            try:
                values[fm.target] = coerce_value(definition.label, DataType(definition.data_type), raw,
                                                 definition.choices)
            except FieldValueError as exc:
                warnings.append(f"{exc} (from RMM field '{fm.source}'; the value was left out)")
        return values

    def record_fingerprint(self, device: RemoteDevice, type_key: str) -> str:
        """Hash of what this import reads from the device, plus the settings that shape it."""
        read = self._readers.get(type_key)
        if read is None:
            read = self._readers[type_key] = self._record_reader(type_key)
        text = repr((self.config_key, type_key, read(device)))
        return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()

    def _record_reader(self, type_key: str) -> Callable[[RemoteDevice], Any]:
        """One function reading, raw, every device attribute and vendor field this import uses for a type."""
        sources = [self.cfg.user_source or "last_logged_in_user",
                   *(fm.source for fm in self.cfg.field_maps if not fm.device_type or fm.device_type == type_key)]
        attributes = attrgetter("hostname", "site_external_id", "customer_external_id", "parent_external_id",
                                *dict.fromkeys(p for p in sources if p in DEVICE_ATTRIBUTES))
        keys = tuple(dict.fromkeys(p[7:] if p.startswith("fields.") else p
                                   for p in sources if p not in DEVICE_ATTRIBUTES))
        return lambda device: (attributes(device), tuple(map(device.fields.get, keys)))

    def policy_allows(self, key: str, asset: LocalAsset | None) -> bool:
        if asset is None:
            return True
        policy = next((fm.policy.value for fm in self.cfg.field_maps if fm.target == key), "always")
        if policy == "only_empty":
            return asset.values.get(key) in (None, "")
        if policy == "not_after_local_edit":
            return key not in asset.locally_edited
        return True

    def triage(self, device: RemoteDevice) -> Op | _Pending:
        """The op of a device that is skipped or unchanged since the last import; otherwise what planning it needs.

        Unchanged records are decided from the link's fingerprint alone, without reading the local asset.
        """
        ext = device.external_id
        kind = str(device.device_type)
        if self.cfg.import_types and kind not in self.cfg.import_types:
            return Op("assets", OpKind.SKIP, ext, device.hostname or ext,
                      f"device type '{type_label(kind)}' is not selected for import")
        if self.mac_keys and device.mac_addresses:
            self.index.count_fetched(self.mac_keys[0], device.mac_addresses)
        type_key = self.type_key(device) if self.cfg.type_field else kind
        type_id, type_reason = self._types.get(type_key) or self.asset_type(type_key)
        if type_id is None:
            return Op("assets", OpKind.SKIP, ext, device.hostname or ext, type_reason)
        if device.raw_digest:  # the connector hashed the raw keys this import reads (type field included)
            fp = raw_fingerprint(self.config_key, device.raw_digest)
        else:
            fp = self.record_fingerprint(device, kind)
            if type_key != kind:  # the type field's value chose the type: a new value must replan the device
                fp = hashlib.sha1(f"{fp}|{type_key}".encode(), usedforsecurity=False).hexdigest()
        ref = self.snap.refs.get(("asset", ext))  # the hot path of a resync: plain lookups
        if ref is not None and ref.fingerprint == fp and ref.missing_since is None:
            known = self.snap.assets.get(ref.object_id) or self.snap.briefs.get(ref.object_id)
            if known is not None:  # same RMM record and same settings as at the last import: nothing to do
                self.claimed.add(known.id)
                return Op("assets", OpKind.UNCHANGED, ext, device.hostname or ext, UNCHANGED_REASON,
                          target_id=known.id, fingerprint=fp)
        return _Pending(device, type_id, type_reason, fp, ref)

    def known(self, device: KnownDevice) -> Op:
        """The op of a device the connector recognised as unchanged from its raw item (never normalised)."""
        if self.mac_keys and device.mac_addresses:
            self.index.count_fetched(self.mac_keys[0], device.mac_addresses)
        ref = self.snap.refs.get(("asset", device.external_id))
        found = self.snap.brief(ref.object_id) if ref is not None and ref.fingerprint == device.fingerprint else None
        if found is None:  # the arm's links came from this snapshot: only a removal while planning gets here
            return Op("assets", OpKind.SKIP, device.external_id, device.hostname, GONE_REASON)
        self.claimed.add(found.id)
        return Op("assets", OpKind.UNCHANGED, device.external_id, device.hostname, UNCHANGED_REASON,
                  target_id=found.id, fingerprint=device.fingerprint)

    def arm(self, arm: Callable[[str, dict[str, str]], None]) -> None:
        """Let the connector recognise unchanged devices: the links (with an asset, not missing) of this settings'
        key, by external id."""
        prefix = raw_fingerprint(self.config_key, "")
        known = {ext: ref.fingerprint for (kind, ext), ref in self.snap.refs.items()
                 if kind == "asset" and ref.missing_since is None and ref.fingerprint.startswith(prefix)
                 and self.snap.brief(ref.object_id) is not None}
        arm(self.config_key, known)

    def plan_pending(self, pending: _Pending) -> Op:
        device, type_id, type_reason, fp, ref = (pending.device, pending.type_id, pending.type_reason,
                                                 pending.fingerprint, pending.ref)
        ext = device.external_id
        label = device.hostname or ext
        type_key = device.device_type.value
        placement = self.res.place(device.site_external_id, device.customer_external_id)
        if placement is not None and placement.site_id < 0 and not self.allow_pending:
            placement = None
        via_default = False
        if placement is None:
            if self.cfg.default_site_id is not None and self.cfg.default_site_id in self.snap.sites:
                site = self.snap.sites[self.cfg.default_site_id]
                placement = Placement(site.customer_id, site.id, "default site")
                via_default = True
            else:
                return Op("assets", OpKind.SKIP, ext, label,
                          "its customer/site is not mapped or imported and no default site is set: map the "
                          "customer, import customers first, or choose a default site")
        warnings: list[str] = []
        values = self.wanted_values(device, type_key, warnings)
        user_id: int | None = None
        user_text = device_value(device, self.cfg.user_source or "last_logged_in_user")
        if self.cfg.link_device_users and user_text:
            user_id, _ = self.users.find(placement.customer_id, str(user_text))
        parent_ext = device.parent_external_id if self.cfg.child_assets else None
        wanted: dict[str, Any] = {
            "name": (device.hostname or "").strip()[:255], "asset_type_id": type_id, "site_id": placement.site_id,
            "values": values, "end_user_id": user_id, "parent_external_id": parent_ext,
        }
        asset = self.snap.asset(ref.object_id) if ref is not None else None
        reason = "linked by an earlier import"
        kind = OpKind.UPDATE
        if asset is None:
            match_values = {"name": wanted["name"], **values}
            for key, _ in self.rules:
                if key not in match_values and key in DEVICE_ATTRIBUTES:
                    match_values[key] = device_value(device, key)
            labels = {k: f.label for k, f in self.fields.items()}
            strong = {key: _first(match_values.get(key) if key in match_values else device_value(device, key))
                      for key in STRONG_KEYS}
            vetoed = self.cfg.vetoes.get(ext)
            excluded = self.claimed | vetoed if vetoed else self.claimed
            result = match_asset(self.index, self.rules, match_values, placement.customer_id, excluded, labels,
                                 strong=strong, allow_moves=self.cfg.allow_customer_moves or via_default,
                                 customer_names=self.customer_names)
            notes = "".join(f"; {note}" for note in dict.fromkeys(result.notes))
            if result.is_conflict:
                return Op("assets", OpKind.CONFLICT, ext, label, result.reason + notes,
                          data={"candidates": list(result.conflict_ids)})
            if result.asset_id is None:
                op = self._create(ext, label, wanted, fp, warnings, placement, type_reason)
                op.reason += notes
                return op
            asset = self.snap.assets[result.asset_id]
            kind, reason = OpKind.LINK, result.reason + notes
            if result.moved_from is not None:
                self.moves.add(asset.id)
        self.claimed.add(asset.id)
        return self._update(ext, label, asset, ref, wanted, fp, warnings, kind, reason, via_default)

    def _customer_name(self, site_id: int) -> str:
        site = self.snap.sites.get(site_id)
        if site is not None:
            return self.customer_names.get(site.customer_id, f"#{site.customer_id}")
        return "a customer created by this run"

    def _create(self, ext: str, label: str, wanted: dict[str, Any], fp: str, warnings: list[str],
                placement: Placement, type_reason: str) -> Op:
        # the placement's reason is the site's ("linked by an earlier import"), so it is said of the site
        site_name = self.res.site_names.get(placement.site_id, str(placement.site_id))
        where = (f"{type_reason} '{self.type_names.get(wanted['asset_type_id'], '')}', "
                 f"site '{site_name}': {placement.via}")
        changes = {"name": [None, wanted["name"]],
                   "asset_type": [None, self.type_names.get(wanted["asset_type_id"], "")],
                   "site": [None, self.res.site_names.get(placement.site_id, str(placement.site_id))]}
        # the new values themselves are shown from data["set"]["values"] (not repeated here: large estates)
        return Op("assets", OpKind.CREATE, ext, label, f"no local asset matched ({where})", changes=changes,
                  data={"set": wanted}, fingerprint=fp, warnings=warnings)

    def owner_keeping(self, asset: LocalAsset, key: str, old: Any) -> str:
        """The name of the integration that owns a field's current value, when this one must leave it ('' if not).

        An asset linked to several integrations: the one that created it owns its fields, then the others by their
        source priority (lower first), then id. A lower-ranked integration only fills what is empty.
        """
        me = self.cfg.integration_id
        if old in (None, "") or not asset.linked or all(i == me for i in asset.linked):
            return ""
        writer = asset.writers.get(key, asset.created_by)
        if writer is None or writer == me or writer not in asset.linked:
            return ""

        def rank(iid: int) -> tuple[int, int, int]:
            return (0 if iid == asset.created_by else 1, self.snap.integrations.get(iid, (100, ""))[0], iid)

        if rank(me) < rank(writer):
            return ""
        return self.snap.integrations.get(writer, (0, f"integration #{writer}"))[1]

    def _update(self, ext: str, label: str, asset: LocalAsset, ref: LocalRef | None, wanted: dict[str, Any],
                fp: str, warnings: list[str], kind: OpKind, reason: str, via_default: bool) -> Op:
        edited = set(asset.locally_edited)
        new: dict[str, Any] = {}
        changes: dict[str, list[Any]] = {}
        kept: dict[str, list[str]] = {}

        def owned(key: str, old: Any) -> bool:
            owner = self.owner_keeping(asset, key, old)
            if owner:
                kept.setdefault(owner, []).append(key)
            return bool(owner)

        if wanted["name"] and wanted["name"] != asset.name and "name" not in edited and not owned("name", asset.name):
            new["name"] = wanted["name"]
            changes["name"] = [asset.name, wanted["name"]]
        if (wanted["asset_type_id"] != asset.asset_type_id and "asset_type" not in edited
                and not owned("asset_type", asset.asset_type_id)):
            new["asset_type_id"] = wanted["asset_type_id"]
            changes["asset_type"] = [self.type_names.get(asset.asset_type_id, ""),
                                     self.type_names.get(wanted["asset_type_id"], "")]
        if (not via_default and wanted["site_id"] != asset.site_id and "site" not in edited
                and (asset.id in self.moves or not owned("site", asset.site_id))):
            new["site_id"] = wanted["site_id"]
            changes["site"] = [self.res.site_names.get(asset.site_id, ""),
                               self.res.site_names.get(wanted["site_id"], "")]
            if asset.id in self.moves:  # a cross-customer move (allowed by the setting) is shown as such
                changes["customer"] = [self.customer_names.get(asset.customer_id, f"#{asset.customer_id}"),
                                       self._customer_name(wanted["site_id"])]
        values: dict[str, Any] = {}
        for key, value in wanted["values"].items():
            old = asset.values.get(key)
            if value is not None and old != value and self.policy_allows(key, asset) and not owned(key, old):
                values[key] = value
                changes[key] = [old, value]
        if values:
            new["values"] = values
        user_id = wanted["end_user_id"]
        if (user_id is not None and user_id != asset.end_user_id and "end_user" not in edited
                and not owned("end_user", asset.end_user_id)):
            new["end_user_id"] = user_id
            changes["end_user"] = [asset.end_user_id, user_id]
        parent_ext = wanted["parent_external_id"]
        if parent_ext:
            parent_ref = self.snap.ref("asset", parent_ext)  # a parent created in this run links on the next
            if parent_ref is not None and parent_ref.object_id != asset.parent_id:
                new["parent_external_id"] = parent_ext
                changes["parent"] = [asset.parent_id, parent_ext]
        data: dict[str, Any] = {"set": new}
        if ref is not None and ref.missing_since is not None:
            data["clear_missing"] = True
            if not asset.active:
                new["active"] = True
                changes["active"] = [False, True]
                kind, reason = OpKind.REACTIVATE, "back in the RMM after being missing"
        if kept:
            labels = {k: f.label for k, f in self.fields.items()}
            shown = "; ".join(f"kept: owned by {owner} ({', '.join(_field_label(k, labels) for k in keys)})"
                              for owner, keys in kept.items())
            reason = f"{reason}; {shown}"
            data["kept"] = kept
        if kind is OpKind.UPDATE and not new:
            kind = OpKind.UNCHANGED
        if kind is OpKind.UNCHANGED and ref is not None and ref.fingerprint != fp:
            data["refresh_fingerprint"] = True
        return Op("assets", kind, ext, label, reason, target_id=asset.id, changes=changes, data=data,
                  fingerprint=fp, warnings=warnings)


def _field_label(key: str, labels: dict[str, str]) -> str:
    return {"name": "name", "asset_type": "asset type", "site": "site", "end_user": "user"}.get(
        key, labels.get(key, key))


def _first(value: Any) -> str:
    """The first item of a (possibly comma-separated or listed) value, as text ('' when empty)."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return str(value[0]).strip() if value else ""
    return str(value).split(",")[0].strip()


def _macs(device: RemoteDevice) -> list[str]:
    return [normalise_value("mac_addresses", m) for m in device.mac_addresses]


@dataclass(slots=True)
class _Pending:
    """A device whose record changed (or is new): planned once its linked asset is read."""

    device: RemoteDevice
    type_id: int
    type_reason: str
    fingerprint: str
    ref: LocalRef | None


#: Changed devices planned together, so that their linked assets are read in one batch.
PENDING_BATCH = 1000


def plan_assets(devices: Iterable[RemoteDevice | KnownDevice], snap: Snapshot, cfg: SyncSettings,
                res: Resolution, pending: Pending, users: UserIndex, *, allow_pending: bool = True,
                added_mappings: Sequence[Mapping] = (),
                arm: Callable[[str, dict[str, str]], None] | None = None) -> tuple[list[Op], list[str], set[str]]:
    """Plan devices: (ops incl. asset types/fields to create, warnings, the external ids seen).

    Devices are read once, as they stream in: unchanged ones are decided at once, changed ones in batches whose
    linked assets the snapshot reads together. Ops keep the devices' order.
    """
    planner = _AssetPlanner(snap, cfg, res, pending, users, allow_pending=allow_pending,
                            added_mappings=added_mappings)
    if arm is not None:
        planner.arm(arm)
    device_ops: list[Op | None] = []
    waiting: list[tuple[int, _Pending]] = []
    conflicts: list[tuple[int, _Pending, Op]] = []
    seen: set[str] = set()

    def flush() -> None:
        snap.require_assets(w.ref.object_id for _, w in waiting if w.ref is not None)
        for position, item in waiting:
            op = device_ops[position] = planner.plan_pending(item)
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
        if len(waiting) >= PENDING_BATCH:
            flush()
    flush()
    for position, item, op in planner.mac_matched:  # a MAC another device of this fetch reports too: re-plan
        if not any(planner.index.shared.get(m, 0) > 1 for m in _macs(item.device)):
            continue
        if op.target_id is not None:
            planner.claimed.discard(op.target_id)
            planner.moves.discard(op.target_id)
        device_ops[position] = planner.plan_pending(item)
    # A conflict over an asset that a later device of this fetch took (by its link or a match) is planned again
    # without it, as the next run would plan it: the result does not depend on the order of the devices.
    for position, item, op in conflicts:
        if planner.claimed.intersection(op.data["candidates"]):
            device_ops[position] = planner.plan_pending(item)
    return planner.ops + [op for op in device_ops if op is not None], planner.warnings, seen


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


def build_plan(remote: RemoteData, snap: Snapshot, cfg: SyncSettings, *, sites_are_customers: bool,
               entities: Sequence[str], now: datetime) -> Plan:
    """The whole plan for the chosen entities, in apply order; the guard sets needs_confirmation."""
    pending = Pending()
    plan = Plan()
    place_ops, res = plan_customers_sites(remote.customers, remote.sites, snap, cfg, pending,
                                          sites_are_customers=sites_are_customers)
    importing_places = "customers" in entities or "sites" in entities
    if importing_places:
        plan.extend(place_ops)
    else:  # customers that would be created are not imported in this run: their records wait for them
        res.by_site = {k: p for k, p in res.by_site.items() if p.site_id > 0 and p.customer_id > 0}
        res.by_customer = {k: p for k, p in res.by_customer.items() if p.site_id > 0 and p.customer_id > 0}
    users = user_index(snap)
    if "users" in entities:
        plan.extend(plan_users(remote.users, snap, cfg, res, pending, users))
    if "assets" in entities:
        added = [Mapping(op.external_id, op.target_id) for op in place_ops if importing_places
                 and op.entity == "customers" and op.kind is OpKind.LINK and op.data.get("add_mapping")
                 and op.target_id is not None]
        ops, warnings, seen = plan_assets(remote.devices, snap, cfg, res, pending, users,
                                          allow_pending=importing_places, added_mappings=added, arm=remote.arm)
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
