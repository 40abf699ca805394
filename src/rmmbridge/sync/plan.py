"""Plain data of the sync engine: configuration, local snapshot and the plan of operations (no Django)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from rmmbridge.connectors.rawcheck import KnownLinks
from rmmbridge.sync.payloads import AssetChange, MissingMark, Payload, PayloadError, payload_from_json
from rmmbridge.sync.payloads import Entity as Entity
from rmmbridge.sync.payloads import OpKind as OpKind

#: The entities a person chooses to sync (fields and asset types come with assets).
ENTITIES: tuple[str, ...] = (Entity.CUSTOMERS, Entity.SITES, Entity.USERS, Entity.ASSETS)
COUNT_KEYS: tuple[str, ...] = (
    "created", "updated", "unchanged", "linked", "unlinked", "deactivated", "reactivated", "conflicts", "skipped",
    "errors",
)

DEFAULT_JUNK_VALUES: tuple[str, ...] = (
    "", "none", "null", "n/a", "na", "unknown", "0", "00000000", "123456789", "1234567890",
    "to be filled by o.e.m.", "to be filled by oem", "default string", "system serial number",
    "system product name", "not specified", "not applicable", "chassis serial number", "o.e.m.", "oem",
    "invalid", "serial", "xxxxxxxxxxxx", "00:00:00:00:00:00", "000000000000", "ff:ff:ff:ff:ff:ff",
)


COUNT_KEY_OF: dict[OpKind, str] = {
    OpKind.CREATE: "created",
    OpKind.UPDATE: "updated",
    OpKind.UNCHANGED: "unchanged",
    OpKind.LINK: "linked",
    OpKind.UNLINK: "unlinked",
    OpKind.DEACTIVATE: "deactivated",
    OpKind.REACTIVATE: "reactivated",
    OpKind.CONFLICT: "conflicts",
    OpKind.SKIP: "skipped",
}


class FieldPolicy(StrEnum):
    """When a field mapping writes its value."""

    ALWAYS = "always"
    ONLY_EMPTY = "only_empty"  # only for new assets or when the local field is empty (Halo's option)
    NOT_AFTER_LOCAL_EDIT = "not_after_local_edit"  # never after a person edited it locally


class NewCustomerMode(StrEnum):
    """What happens to an RMM customer (or Datto site) that neither a mapping nor its name matches."""

    CREATE = "create"  # create a customer (Datto: each site becomes a customer with a main site)
    ONE_CUSTOMER = "one_customer"  # Datto: every site becomes a site of one chosen customer
    REVIEW = "review"  # leave it unmapped and list it for review


class MissingAction(StrEnum):
    """What happens to a linked asset that a complete fetch no longer contains."""

    DEACTIVATE = "deactivate"
    UNLINK = "unlink"
    #: Halo's "deactivate" and "unlink on delete" together: the asset is deactivated and its link removed.
    DEACTIVATE_AND_UNLINK = "deactivate_unlink"
    NOTHING = "nothing"


@dataclass(frozen=True)
class FieldMap:
    """One field mapping: an RMM field path → a local field key (`name` or `CF<name>`)."""

    source: str
    target: str
    policy: FieldPolicy = FieldPolicy.ALWAYS
    device_type: str = ""  # "" = every device type
    create_if_missing: bool = False


@dataclass(frozen=True)
class MatchRule:
    """One asset matching field: a local field key (or `name` for the hostname), optionally within the customer."""

    field: str
    within_customer: bool = False


@dataclass(frozen=True)
class Mapping:
    """A customer/site mapping row: RMM customer or site (typed: kind + id) → local customer (optionally a site).

    Customer ids and site ids are separate spaces (Automate numbers both 1, 2, 3…): a row only ever applies to
    records of its own kind.
    """

    external_id: str
    customer_id: int
    site_id: int | None = None
    kind: str = "customer"  # "customer" or "site"

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.external_id)


@dataclass(frozen=True)
class TypeMap:
    """An asset type mapping row: RMM device type → local asset type, or ignore."""

    device_type: str
    asset_type_id: int | None = None
    ignore: bool = False


@dataclass
class SyncSettings:
    """The whole sync configuration of one integration, as plain data."""

    mappings: list[Mapping] = field(default_factory=list)
    new_customer_mode: NewCustomerMode = NewCustomerMode.CREATE
    toplevel_id: int | None = None
    one_customer_id: int | None = None
    match_users: bool = True
    link_device_users: bool = True
    user_source: str = "last_logged_in_user"
    type_maps: list[TypeMap] = field(default_factory=list)
    #: A vendor field whose value picks the asset type (Halo's "Addigy Asset Type Field"), e.g.
    #: "facts.device_model_name": the type mapping rows then map that field's values; "" = the device type.
    type_field: str = ""
    import_types: list[str] = field(default_factory=list)  # empty = every device type
    default_group_id: int | None = None
    field_maps: list[FieldMap] = field(default_factory=list)
    match_rules: list[MatchRule] = field(default_factory=list)
    junk_values: list[str] = field(default_factory=lambda: list(DEFAULT_JUNK_VALUES))
    default_site_id: int | None = None
    child_assets: bool = True
    missing_action: MissingAction = MissingAction.DEACTIVATE
    grace_hours: int = 0
    guard_percent: int = 20
    #: A device may match an asset of another customer and move it there (shown as a move); else a conflict.
    allow_customer_moves: bool = False
    #: This integration's id and the order of every integration for field ownership (see `Snapshot.owners`).
    integration_id: int = 0
    #: Device external id → assets a person unlinked it from (never matched to them again).
    vetoes: dict[str, frozenset[int]] = field(default_factory=dict)


@dataclass(frozen=True)
class LocalCustomer:
    id: int
    name: str
    main_site_id: int | None


@dataclass(frozen=True)
class LocalSite:
    id: int
    customer_id: int
    name: str
    is_main: bool = False


@dataclass(frozen=True)
class LocalUser:
    id: int
    customer_id: int
    site_id: int
    name: str
    email: str = ""


@dataclass(frozen=True)
class LocalAssetType:
    id: int
    name: str


@dataclass(frozen=True)
class LocalField:
    """A field definition: key (`name` / `CF<name>`), label, data type, choices."""

    key: str
    label: str
    data_type: str = "text"
    choices: tuple[str, ...] = ()


@dataclass(slots=True)
class LocalAsset:
    id: int
    name: str
    asset_type_id: int
    site_id: int
    customer_id: int
    active: bool = True
    values: dict[str, Any] = field(default_factory=dict)
    locally_edited: tuple[str, ...] = ()
    end_user_id: int | None = None
    parent_id: int | None = None
    #: Field key → id of the integration whose sync wrote the current value (None: a local or other write).
    writers: dict[str, int | None] = field(default_factory=dict)
    created_by: int | None = None  # the integration whose sync created the asset
    linked: tuple[int, ...] = ()  # integrations linking it (ExternalRef of kind asset)


@dataclass(frozen=True, slots=True)
class AssetBrief:
    """What a no-change resync needs of a linked asset: that it exists, its name and whether it is active."""

    id: int
    name: str
    active: bool = True


#: Loads full local assets by id (the snapshot's on-demand reader; None when everything is loaded up front).
AssetLoader = Callable[[Collection[int]], Iterable[LocalAsset]]
LinkRow = tuple[str, int, str, str | None, Any, datetime | None]
#: Reads this integration's asset links as LinkRows: all of them (None), or those of the given external ids.
LinkReader = Callable[[Collection[str] | None], Iterable[LinkRow]]
#: Asset links read per query when a batch of devices asks for theirs.
LINK_BATCH = 500


@dataclass(frozen=True, slots=True)
class LocalRef:
    """An ExternalRef of this integration."""

    kind: str
    external_id: str
    object_id: int
    fingerprint: str = ""
    missing_since: datetime | None = None


@dataclass
class Snapshot:
    """What exists locally, as plain data.

    The asset links of an integration are as many as its devices, so a snapshot read from the database
    (`read_links` set) holds none of them for the whole run: a batch of devices reads its own links and assets
    (`require_links`, `require_assets`) and lets them go once planned (`forget_links`); what needs every link —
    the connector's raw check (`known_links`), the missing devices (`asset_links`) — reads them as a stream. A
    snapshot built by hand holds its links in `refs` and `briefs`; the planner reads both the same way.
    """

    customers: dict[int, LocalCustomer] = field(default_factory=dict)
    sites: dict[int, LocalSite] = field(default_factory=dict)
    users: dict[int, LocalUser] = field(default_factory=dict)
    asset_types: dict[int, LocalAssetType] = field(default_factory=dict)
    fields: dict[str, LocalField] = field(default_factory=dict)
    assets: dict[int, LocalAsset] = field(default_factory=dict)
    refs: dict[tuple[str, str], LocalRef] = field(default_factory=dict)
    #: Assets linked to this integration whose details (values…) are read only when their RMM record changed.
    briefs: dict[int, AssetBrief] = field(default_factory=dict)
    load_assets: AssetLoader | None = None
    #: Every integration: id → (source priority, name); decides which one owns a field of a shared asset.
    integrations: dict[int, tuple[int, str]] = field(default_factory=dict)
    #: Reads the asset links from the database (None: they are all in `refs` and `briefs`).
    read_links: LinkReader | None = None
    #: Whether this integration linked any asset when the snapshot was read (with `read_links`).
    linked_any: bool = False
    #: Reads what only the asset planner needs (the other assets, to match): run by `complete()`, once the
    #: connector was armed with `known_links`, so that its fetch never waits for it.
    rest: Callable[[], None] | None = None
    #: With `read_links`: the refs, briefs and assets read for the batch being planned (`forget_links` drops them).
    _paged_refs: list[tuple[str, str]] = field(default_factory=list, repr=False)
    _paged_assets: set[int] = field(default_factory=set, repr=False)
    _absent: set[str] = field(default_factory=set, repr=False)

    def complete(self) -> None:
        """Read the rest of the snapshot now, if it was deferred (once)."""
        rest, self.rest = self.rest, None
        if rest is not None:
            rest()

    def has_asset_links(self) -> bool:
        """Whether this integration links any asset yet (a first sync when not)."""
        return self.linked_any if self.read_links is not None else any(kind == "asset" for kind, _ in self.refs)

    def asset_links(self) -> Iterator[tuple[LocalRef, AssetBrief | LocalAsset | None]]:
        """Every asset link with its asset's brief (None when the asset no longer exists), read as a stream."""
        if self.read_links is None:
            for (kind, _), ref in list(self.refs.items()):
                if kind == "asset":
                    yield ref, self.brief(ref.object_id)
            return
        if not self.linked_any:
            return
        for external_id, object_id, fp, name, active, missing_since in self.read_links(None):
            yield (LocalRef("asset", external_id, object_id, fp, missing_since),
                   None if name is None else AssetBrief(object_id, name, bool(active)))

    def known_links(self, prefix: str) -> KnownLinks:
        """The asset links whose asset exists, not missing, fingerprinted under the settings key `prefix` (what a
        connector's RawCheck recognises unchanged devices by)."""
        return KnownLinks((ref.external_id, ref.fingerprint, ref.object_id) for ref, brief in self.asset_links()
                          if brief is not None and ref.missing_since is None and ref.fingerprint.startswith(prefix))

    def require_links(self, external_ids: Iterable[str]) -> None:
        """Read the asset links (refs and briefs) of these external ids, for the batch being planned."""
        if self.read_links is None or not self.linked_any:
            return
        wanted = list(dict.fromkeys(e for e in external_ids if ("asset", e) not in self.refs and e not in self._absent))
        for start in range(0, len(wanted), LINK_BATCH):
            chunk = wanted[start:start + LINK_BATCH]
            self._absent.update(chunk)
            for external_id, object_id, fp, name, active, missing_since in self.read_links(chunk):
                key = ("asset", external_id)
                self.refs[key] = LocalRef("asset", external_id, object_id, fp, missing_since)
                self._paged_refs.append(key)
                self._absent.discard(external_id)
                if name is not None:
                    self.briefs[object_id] = AssetBrief(object_id, name, bool(active))

    def forget_links(self) -> None:
        """Let go of what `require_links` and `require_assets` read for the batches planned so far."""
        for key in self._paged_refs:
            ref = self.refs.pop(key, None)
            if ref is not None:
                self.briefs.pop(ref.object_id, None)
        for asset_id in self._paged_assets:
            self.assets.pop(asset_id, None)
        self._paged_refs.clear()
        self._paged_assets.clear()
        self._absent.clear()

    def ref(self, kind: str, external_id: str | None) -> LocalRef | None:
        """A link by external id; an asset link not read for this batch is read now."""
        if external_id is None:
            return None
        found = self.refs.get((kind, external_id))
        if found is None and kind == "asset" and self.read_links is not None:
            self.require_links((external_id,))
            found = self.refs.get((kind, external_id))
        return found

    def brief(self, asset_id: int) -> LocalAsset | AssetBrief | None:
        """Name and active flag of a local asset, loaded in full or not; None when it no longer exists."""
        return self.assets.get(asset_id) or self.briefs.get(asset_id)

    def asset(self, asset_id: int) -> LocalAsset | None:
        """The asset in full, read on demand when only its brief is loaded (or, with `read_links`, not at all)."""
        found = self.assets.get(asset_id)
        if found is None and (asset_id in self.briefs or self.read_links is not None):
            self._load((asset_id,))
            found = self.assets.get(asset_id)
        return found

    def require_assets(self, asset_ids: Iterable[int]) -> None:
        """Read the given briefly-known assets in full, in one batch (no-op for those already loaded)."""
        self._load([i for i in asset_ids if i in self.briefs and i not in self.assets])

    def _load(self, wanted: Collection[int]) -> None:
        if not wanted or self.load_assets is None:
            return
        for asset in self.load_assets(wanted):
            self.assets[asset.id] = asset
            if self.read_links is not None:
                self._paged_assets.add(asset.id)
        for asset_id in wanted:  # one that vanished meanwhile is gone, not half-known
            self.briefs.pop(asset_id, None)


@dataclass(slots=True)
class Op:
    """One planned operation on one record, with the reason a person reads in the preview."""

    entity: Entity
    kind: OpKind
    external_id: str
    label: str
    reason: str
    target_id: int | None = None
    changes: dict[str, list[Any]] = field(default_factory=dict)
    data: Payload | None = None  # typed per entity and kind (payloads.py); stored as its JSON
    fingerprint: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def has_bookkeeping(self) -> bool:
        """An unchanged record that still needs its link updated (fingerprint, missing mark)."""
        data = self.data
        if type(data) is AssetChange:
            return data.refresh_fingerprint or data.clear_missing
        return type(data) is MissingMark

    @property
    def idle(self) -> bool:
        """Unchanged, with nothing to write, show or warn about: only counted (a resync's usual row)."""
        return self.kind is OpKind.UNCHANGED and not self.warnings and not self.has_bookkeeping

    def to_dict(self) -> dict[str, Any]:
        return {
            "entity": self.entity, "kind": self.kind.value, "external_id": self.external_id, "label": self.label,
            "reason": self.reason, "target_id": self.target_id, "changes": self.changes,
            "data": self.data.to_json() if self.data is not None else {},
            "fingerprint": self.fingerprint, "warnings": self.warnings,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Op:
        """A stored row; data that does not fit its entity and kind is left out with a warning (apply then fails
        that row alone, saying to run the preview again)."""
        entity, kind = Entity(raw["entity"]), OpKind(raw["kind"])
        warnings = list(raw.get("warnings") or [])
        try:
            data = payload_from_json(entity, kind, dict(raw.get("data") or {}))
        except PayloadError as exc:
            data = None
            warnings.append(str(exc))
        return cls(
            entity=entity, kind=kind, external_id=str(raw["external_id"]),
            label=str(raw.get("label", "")), reason=str(raw.get("reason", "")), target_id=raw.get("target_id"),
            changes=dict(raw.get("changes") or {}), data=data,
            fingerprint=str(raw.get("fingerprint", "")), warnings=warnings,
        )


@dataclass
class Plan:
    """The ordered operations of one run, and whether the mass-deactivation guard stopped it."""

    ops: list[Op] = field(default_factory=list)
    needs_confirmation: bool = False
    guard_message: str = ""
    warnings: list[str] = field(default_factory=list)
    #: Idle ops (unchanged, nothing to write) left out of `ops` and only counted, per entity (see Op.idle).
    idle: Counter[str] = field(default_factory=Counter)

    def extend(self, ops: Iterable[Op]) -> None:
        self.ops.extend(ops)

    def counts(self) -> dict[str, dict[str, int]]:
        return count_ops(self.ops, self.idle)


def empty_counts() -> dict[str, int]:
    return dict.fromkeys(COUNT_KEYS, 0)


def count_ops(ops: Iterable[Op], idle: dict[str, int] | None = None) -> dict[str, dict[str, int]]:
    """Counts per entity and count key (created, updated, …); `idle`: unchanged ops counted but not kept."""
    tally: Counter[tuple[str, str]] = Counter((op.entity, COUNT_KEY_OF[op.kind]) for op in ops)
    for entity, number in (idle or {}).items():
        tally[(entity, COUNT_KEY_OF[OpKind.UNCHANGED])] += number
    result: dict[str, dict[str, int]] = {}
    for (entity, key), number in tally.items():
        result.setdefault(entity, empty_counts())[key] = number
    return result
