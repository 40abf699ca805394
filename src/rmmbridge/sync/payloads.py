"""The typed plan contract: entities, op kinds and each op's payload, with the stored JSON they read and write."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypedDict


class Entity(StrEnum):
    """What kind of record an op is about (its value is the stored `entity`)."""

    FIELDS = "fields"
    ASSET_TYPES = "asset_types"
    CUSTOMERS = "customers"
    SITES = "sites"
    USERS = "users"
    ASSETS = "assets"


class OpKind(StrEnum):
    """What the plan does with one record."""

    CREATE = "create"
    UPDATE = "update"
    LINK = "link"
    UNLINK = "unlink"
    DEACTIVATE = "deactivate"
    REACTIVATE = "reactivate"
    CONFLICT = "conflict"
    SKIP = "skip"
    UNCHANGED = "unchanged"


class AssetSet(TypedDict, total=False):
    """What an asset op writes: all keys for a create, only the changed ones for an update."""

    name: str
    asset_type_id: int
    site_id: int
    values: dict[str, Any]
    end_user_id: int | None
    parent_external_id: str | None
    active: bool


@dataclass(frozen=True, slots=True)
class FieldCreate:
    """A field definition to create for a field mapping."""

    name: str
    label: str
    kind: str  # "custom_field" or "asset_field"

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "kind": self.kind}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> FieldCreate:
        return cls(str(raw["name"]), str(raw["label"]), str(raw["kind"]))


@dataclass(frozen=True, slots=True)
class AssetTypeCreate:
    """An asset type to create (in the default group, or in a group of `group_name`)."""

    temp_id: int
    name: str
    group_id: int | None
    group_name: str

    def to_json(self) -> dict[str, Any]:
        return {"temp_id": self.temp_id, "name": self.name, "group_id": self.group_id, "group_name": self.group_name}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> AssetTypeCreate:
        return cls(int(raw["temp_id"]), str(raw["name"]), _int_or_none(raw.get("group_id")),
                   str(raw.get("group_name") or ""))


@dataclass(frozen=True, slots=True)
class CustomerCreate:
    """A customer to create with its main site; `site_external_id` links that site too (Datto RMM sites)."""

    temp_id: int
    name: str
    toplevel_id: int | None
    main_site_temp_id: int
    site_external_id: str | None

    def to_json(self) -> dict[str, Any]:
        return {"temp_id": self.temp_id, "name": self.name, "toplevel_id": self.toplevel_id,
                "main_site_temp_id": self.main_site_temp_id, "site_external_id": self.site_external_id}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> CustomerCreate:
        return cls(int(raw["temp_id"]), str(raw["name"]), _int_or_none(raw.get("toplevel_id")),
                   int(raw["main_site_temp_id"]), _str_or_none(raw.get("site_external_id")))


@dataclass(frozen=True, slots=True)
class CustomerLink:
    """A link to a local customer; `add_mapping` (a name match) also adds its mapping row (None: a mapping row
    matched, so the stored JSON has no such key)."""

    site_id: int | None
    site_external_id: str | None
    add_mapping: bool | None = None

    def to_json(self) -> dict[str, Any]:
        if self.add_mapping is None:
            return {"site_id": self.site_id, "site_external_id": self.site_external_id}
        return {"add_mapping": self.add_mapping, "site_id": self.site_id, "site_external_id": self.site_external_id}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> CustomerLink:
        add = raw.get("add_mapping")
        return cls(_int_or_none(raw.get("site_id")), _str_or_none(raw.get("site_external_id")),
                   None if add is None else bool(add))


@dataclass(frozen=True, slots=True)
class SiteCreate:
    """A site to create under a (possibly new) customer."""

    temp_id: int
    customer_id: int
    name: str

    def to_json(self) -> dict[str, Any]:
        return {"temp_id": self.temp_id, "customer_id": self.customer_id, "name": self.name}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> SiteCreate:
        return cls(int(raw["temp_id"]), int(raw["customer_id"]), str(raw["name"]))


@dataclass(frozen=True, slots=True)
class UserCreate:
    """An end user to create at a (possibly new) site."""

    temp_id: int
    site_id: int
    name: str
    email: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"temp_id": self.temp_id, "site_id": self.site_id, "name": self.name, "email": self.email}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> UserCreate:
        return cls(int(raw["temp_id"]), int(raw["site_id"]), str(raw["name"]), str(raw.get("email") or ""))


@dataclass(slots=True)
class AssetChange:
    """What an asset op writes (`set`) and its link's bookkeeping; apply may mark it `deferred_to` an asset
    another sync created meanwhile (the op then becomes a skip)."""

    set: AssetSet = field(default_factory=lambda: AssetSet())
    clear_missing: bool = False
    kept: dict[str, list[str]] | None = None  # owner's name → field keys this integration left to it
    refresh_fingerprint: bool = False
    deferred_to: int | None = None

    def to_json(self) -> dict[str, Any]:
        raw: dict[str, Any] = {"set": self.set}
        if self.clear_missing:
            raw["clear_missing"] = True
        if self.kept is not None:
            raw["kept"] = self.kept
        if self.refresh_fingerprint:
            raw["refresh_fingerprint"] = True
        if self.deferred_to is not None:
            raw["deferred_to"] = self.deferred_to
        return raw

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> AssetChange:
        wanted: AssetSet = dict(raw.get("set") or {})  # type: ignore[assignment]
        kept = raw.get("kept")
        return cls(wanted, bool(raw.get("clear_missing")), dict(kept) if kept is not None else None,
                   bool(raw.get("refresh_fingerprint")), _int_or_none(raw.get("deferred_to")))


@dataclass(frozen=True, slots=True)
class AssetConflict:
    """The local assets a device matches more than one of."""

    candidates: tuple[int, ...]

    def to_json(self) -> dict[str, Any]:
        return {"candidates": list(self.candidates)}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> AssetConflict:
        return cls(tuple(int(i) for i in raw.get("candidates") or ()))


@dataclass(frozen=True, slots=True)
class MissingMark:
    """A linked device first seen missing by a complete fetch: its link is marked missing from `mark_missing`."""

    mark_missing: str  # ISO time

    def to_json(self) -> dict[str, Any]:
        return {"mark_missing": self.mark_missing}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> MissingMark:
        return cls(str(raw["mark_missing"]))


Payload = (FieldCreate | AssetTypeCreate | CustomerCreate | CustomerLink | SiteCreate | UserCreate | AssetChange
           | AssetConflict | MissingMark)

#: The payload an op of (entity, kind) carries, for entities other than assets.
PAYLOAD_OF: dict[tuple[Entity, OpKind], type[FieldCreate | AssetTypeCreate | CustomerCreate | CustomerLink
                                               | SiteCreate | UserCreate]] = {
    (Entity.FIELDS, OpKind.CREATE): FieldCreate,
    (Entity.ASSET_TYPES, OpKind.CREATE): AssetTypeCreate,
    (Entity.CUSTOMERS, OpKind.CREATE): CustomerCreate,
    (Entity.CUSTOMERS, OpKind.LINK): CustomerLink,
    (Entity.SITES, OpKind.CREATE): SiteCreate,
    (Entity.USERS, OpKind.CREATE): UserCreate,
}


class PayloadError(ValueError):
    """A stored op's data does not fit its entity and kind."""


def payload_from_json(entity: Entity, kind: OpKind, raw: dict[str, Any]) -> Payload | None:
    """The typed payload of a stored op's `data` (None for an op without one)."""
    if not raw:
        return None
    try:
        if entity is Entity.ASSETS:
            if "candidates" in raw:
                return AssetConflict.from_json(raw)
            if "mark_missing" in raw:
                return MissingMark.from_json(raw)
            return AssetChange.from_json(raw)
        reader = PAYLOAD_OF.get((entity, kind))
        if reader is None:
            raise PayloadError(f"a {entity.value} {kind.value} row carries no data; got {sorted(raw)}")
        return reader.from_json(raw)
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, PayloadError):
            raise
        raise PayloadError(f"the stored {entity.value} {kind.value} row's data is incomplete or malformed "
                           f"({exc!r}); run the preview again") from exc


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)
