"""Plain data of the sync engine: configuration and the plan of operations; the snapshot is in `local`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from rmmbridge.sync.local import LINK_BATCH as LINK_BATCH
from rmmbridge.sync.local import AssetBrief as AssetBrief
from rmmbridge.sync.local import AssetLoader as AssetLoader
from rmmbridge.sync.local import LinkReader as LinkReader
from rmmbridge.sync.local import LinkRow as LinkRow
from rmmbridge.sync.local import LocalAsset as LocalAsset
from rmmbridge.sync.local import LocalAssetType as LocalAssetType
from rmmbridge.sync.local import LocalCustomer as LocalCustomer
from rmmbridge.sync.local import LocalField as LocalField
from rmmbridge.sync.local import LocalRef as LocalRef
from rmmbridge.sync.local import LocalSite as LocalSite
from rmmbridge.sync.local import LocalUser as LocalUser
from rmmbridge.sync.local import Snapshot as Snapshot
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
