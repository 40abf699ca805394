"""The asset planner: asset types, fields, values, fingerprints, matching, creates and updates of one device."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any

from rmmbridge.connectors.rawcheck import KnownDevice, KnownLinks, raw_fingerprint
from rmmbridge.connectors.records import RemoteDevice
from rmmbridge.servicedesk.fieldtypes import DataType, FieldValueError, coerce_value
from rmmbridge.sync.matching import STRONG_KEYS, MatchIndex, junk_set, match_asset
from rmmbridge.sync.payloads import AssetChange, AssetConflict, AssetSet, AssetTypeCreate, Entity, FieldCreate
from rmmbridge.sync.plan import LocalAsset, LocalField, LocalRef, Mapping, Op, OpKind, Snapshot, SyncSettings
from rmmbridge.sync.planner.core import (
    DEFAULT_GROUP_NAME,
    DEVICE_ATTRIBUTES,
    DEVICE_TYPE_KEYS,
    UNCHANGED_REASON,
    Placement,
    Resolution,
    TempIds,
    fingerprint,
)
from rmmbridge.sync.planner.users import UserIndex
from rmmbridge.sync.planner.values import ChangedDevice, device_value, field_label, first_item, type_label


class AssetPlanner:
    def __init__(self, snap: Snapshot, cfg: SyncSettings, res: Resolution, temp_ids: TempIds, users: UserIndex,
                 *, allow_pending: bool, added_mappings: Sequence[Mapping] = (),
                 arm: Callable[[str, KnownLinks], None] | None = None) -> None:
        """`arm` (the connector's RawCheck.arm) is called with the settings' key and the links it recognises
        before the snapshot's deferred part is read, so the fetch goes on meanwhile."""
        self.snap = snap
        self.cfg = cfg
        self.res = res
        self.temp_ids = temp_ids
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
        self.mac_keys = tuple(k for k, _ in self.rules if "mac" in k.lower())
        self.customer_names = {c.id: c.name for c in snap.customers.values()}
        #: Devices matched by a MAC: re-planned at the end of the fetch if another device reports that MAC too.
        self.mac_matched: list[tuple[int, ChangedDevice, Op]] = []
        self.claimed: set[int] = set()
        self.moves: set[int] = set()
        self._readers: dict[str, Callable[[RemoteDevice], Any]] = {}
        self._types: dict[str, tuple[int | None, str]] = {}
        self._mapped: dict[str, list[tuple[str, str, str, DataType, tuple[str, ...]]]] = {}
        self._plan_fields()
        self.labels = {k: f.label for k, f in self.fields.items()}  # the fields are all known from here on
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
        if arm is not None:
            self.arm(arm)
        snap.complete()
        linked = {r.object_id for r in snap.refs.values() if r.kind == "asset"} if snap.assets else set()
        for asset in snap.assets.values():
            if asset.id in linked:
                continue  # already linked to one of this integration's devices
            for key, _ in self.rules:
                value = asset.name if key == "name" else asset.values.get(key)
                self.index.add(asset.id, asset.customer_id, key, value)
            self.index.describe(asset.id, asset.name, asset.customer_id, asset.values)

    def _plan_fields(self) -> None:
        for fm in self.cfg.field_maps:
            if fm.target in self.fields or fm.target.lower() in {k.lower() for k in self.fields}:
                continue
            if fm.create_if_missing and fm.target not in ("name",):
                custom = fm.target.startswith("CF") and len(fm.target) > 2
                name = fm.target[2:] if custom else fm.target
                label = type_label(name)
                self.fields[fm.target] = LocalField(fm.target, label)
                self.ops.append(Op(Entity.FIELDS, OpKind.CREATE, fm.target, label,
                                   f"field mapping from '{fm.source}' asks to create it",
                                   data=FieldCreate(name, label, "custom_field" if custom else "asset_field")))
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
        temp = self.temp_ids.new()
        self.types_by_name[label.lower()] = temp
        self.type_names[temp] = label
        self.ops.append(Op(Entity.ASSET_TYPES, OpKind.CREATE, key, label,
                           "no asset type mapped or named like this device type: create it",
                           target_id=temp,
                           data=AssetTypeCreate(temp, label, self.cfg.default_group_id, DEFAULT_GROUP_NAME)))
        return temp, "new asset type"

    def wanted_values(self, device: RemoteDevice, type_key: str, warnings: list[str]) -> dict[str, Any]:
        mapped = self._mapped.get(type_key)
        if mapped is None:  # the field maps that apply to this device type, read once per type
            mapped = self._mapped[type_key] = [
                (fm.source, fm.target, definition.label, DataType(definition.data_type), definition.choices)
                for fm in self.cfg.field_maps
                if not (fm.device_type and fm.device_type != type_key) and fm.target != "name"
                and (definition := self.fields.get(fm.target)) is not None]
        values: dict[str, Any] = {}
        for source, target, label, data_type, choices in mapped:
            raw = device_value(device, source)
            try:
                values[target] = coerce_value(label, data_type, raw, choices)
            except FieldValueError as exc:
                warnings.append(f"{exc} (from RMM field '{source}'; the value was left out)")
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

    def triage(self, device: RemoteDevice) -> Op | ChangedDevice:
        """The op of a device that is skipped or unchanged since the last import; otherwise what planning it needs.

        Unchanged records are decided from the link's fingerprint alone, without reading the local asset.
        """
        ext = device.external_id
        kind = str(device.device_type)
        if self.cfg.import_types and kind not in self.cfg.import_types:
            return Op(Entity.ASSETS, OpKind.SKIP, ext, device.hostname or ext,
                      f"device type '{type_label(kind)}' is not selected for import")
        if self.mac_keys and device.mac_addresses:
            self.index.count_fetched(self.mac_keys[0], device.mac_addresses)
        type_key = self.type_key(device) if self.cfg.type_field else kind
        type_id, type_reason = self._types.get(type_key) or self.asset_type(type_key)
        if type_id is None:
            return Op(Entity.ASSETS, OpKind.SKIP, ext, device.hostname or ext, type_reason)
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
                return Op(Entity.ASSETS, OpKind.UNCHANGED, ext, device.hostname or ext, UNCHANGED_REASON,
                          target_id=known.id, fingerprint=fp)
        return ChangedDevice(device, type_id, type_reason, fp, ref)

    def known(self, device: KnownDevice) -> Op:
        """The op of a device the connector recognised as unchanged from its raw item (never normalised)."""
        if self.mac_keys and device.mac_addresses:
            self.index.count_fetched(self.mac_keys[0], device.mac_addresses)
        return Op(Entity.ASSETS, OpKind.UNCHANGED, device.external_id, device.hostname, UNCHANGED_REASON,
                  target_id=device.asset_id, fingerprint=device.fingerprint)

    def arm(self, arm: Callable[[str, KnownLinks], None]) -> None:
        """Let the connector recognise unchanged devices: the links (with an asset, not missing) of this settings'
        key."""
        arm(self.config_key, self.snap.known_links(raw_fingerprint(self.config_key, "")))

    def plan_changed(self, changed: ChangedDevice) -> Op:
        device, type_id, type_reason, fp, ref = (changed.device, changed.type_id, changed.type_reason,
                                                 changed.fingerprint, changed.ref)
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
                return Op(Entity.ASSETS, OpKind.SKIP, ext, label,
                          "its customer/site is not mapped or imported and no default site is set: map the "
                          "customer, import customers first, or choose a default site")
        warnings: list[str] = []
        values = self.wanted_values(device, type_key, warnings)
        user_id: int | None = None
        user_text = device_value(device, self.cfg.user_source or "last_logged_in_user")
        if self.cfg.link_device_users and user_text:
            user_id, _ = self.users.find(placement.customer_id, str(user_text))
        parent_ext = device.parent_external_id if self.cfg.child_assets else None
        wanted: AssetSet = {
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
            labels = self.labels
            strong = {key: first_item(match_values.get(key) if key in match_values else device_value(device, key))
                      for key in STRONG_KEYS}
            vetoed = self.cfg.vetoes.get(ext)
            excluded = self.claimed | vetoed if vetoed else self.claimed
            result = match_asset(self.index, self.rules, match_values, placement.customer_id, excluded, labels,
                                 strong=strong, allow_moves=self.cfg.allow_customer_moves or via_default,
                                 customer_names=self.customer_names)
            notes = "".join(f"; {note}" for note in dict.fromkeys(result.notes))
            if result.is_conflict:
                return Op(Entity.ASSETS, OpKind.CONFLICT, ext, label, result.reason + notes,
                          data=AssetConflict(tuple(result.conflict_ids)))
            if result.asset_id is None:
                op = self._create(ext, label, wanted, fp, warnings, placement, type_reason)
                op.reason += notes
                return op
            asset = self.snap.assets[result.asset_id]
            kind, reason = OpKind.LINK, result.reason + notes
            if result.moved_from is not None:
                self.moves.add(asset.id)
            self.claimed.add(asset.id)  # no other device matches it (a linked asset is never a candidate)
        return self._update(ext, label, asset, ref, wanted, fp, warnings, kind, reason, via_default)

    def _customer_name(self, site_id: int) -> str:
        site = self.snap.sites.get(site_id)
        if site is not None:
            return self.customer_names.get(site.customer_id, f"#{site.customer_id}")
        return "a customer created by this run"

    def _create(self, ext: str, label: str, wanted: AssetSet, fp: str, warnings: list[str],
                placement: Placement, type_reason: str) -> Op:
        # the placement's reason is the site's ("linked by an earlier import"), so it is said of the site
        site_name = self.res.site_names.get(placement.site_id, str(placement.site_id))
        where = (f"{type_reason} '{self.type_names.get(wanted['asset_type_id'], '')}', "
                 f"site '{site_name}': {placement.via}")
        changes = {"name": [None, wanted["name"]],
                   "asset_type": [None, self.type_names.get(wanted["asset_type_id"], "")],
                   "site": [None, self.res.site_names.get(placement.site_id, str(placement.site_id))]}
        # the new values themselves are shown from data.set["values"] (not repeated here: large estates)
        return Op(Entity.ASSETS, OpKind.CREATE, ext, label, f"no local asset matched ({where})", changes=changes,
                  data=AssetChange(wanted), fingerprint=fp, warnings=warnings)

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

    def _update(self, ext: str, label: str, asset: LocalAsset, ref: LocalRef | None, wanted: AssetSet,
                fp: str, warnings: list[str], kind: OpKind, reason: str, via_default: bool) -> Op:
        edited = set(asset.locally_edited)
        new: AssetSet = {}
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
        data = AssetChange(new)
        if ref is not None and ref.missing_since is not None:
            data.clear_missing = True
            if not asset.active:
                new["active"] = True
                changes["active"] = [False, True]
                kind, reason = OpKind.REACTIVATE, "back in the RMM after being missing"
        if kept:
            labels = self.labels
            shown = "; ".join(f"kept: owned by {owner} ({', '.join(field_label(k, labels) for k in keys)})"
                              for owner, keys in kept.items())
            reason = f"{reason}; {shown}"
            data.kept = kept
        if kind is OpKind.UPDATE and not new:
            kind = OpKind.UNCHANGED
        if kind is OpKind.UNCHANGED and ref is not None and ref.fingerprint != fp:
            data.refresh_fingerprint = True
        return Op(Entity.ASSETS, kind, ext, label, reason, target_id=asset.id, changes=changes, data=data,
                  fingerprint=fp, warnings=warnings)
