"""Write actions for assets: upsert, restore, activate, and the bulk variants of the sync's hot path."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from rmmbridge.common.clock import utcnow
from rmmbridge.servicedesk.actions.core import (
    Actor,
    _apply_changes,
    record_audit,
    record_audit_many,
    record_audit_rows,
)
from rmmbridge.servicedesk.actions.fields import validate_values
from rmmbridge.servicedesk.bulk import EncodedJSON, insert_rows_returning, update_rows
from rmmbridge.servicedesk.models import (
    Asset,
    AssetType,
    EndUser,
    FieldDefinition,
    ServiceDeskSettings,
    Site,
)
from rmmbridge.servicedesk.provenance import LOCAL, Source, stamp

# Assets ------------------------------------------------------------------------------------------------


@dataclass
class AssetInput:
    """The wanted state of an asset; None leaves that attribute unchanged on update."""

    asset_type: AssetType | None = None
    site: Site | None = None
    name: str | None = None
    asset_tag: str | None = None
    end_user: EndUser | None = None
    parent: Asset | None = None
    active: bool | None = None
    values: dict[str, Any] = field(default_factory=dict)
    clear_end_user: bool = False
    clear_parent: bool = False


def _check_asset_tag(tag: str, exclude_pk: int | None) -> None:
    if not tag:
        return
    if ServiceDeskSettings.load().asset_tag_unique:
        clash = Asset.objects.filter(asset_tag__iexact=tag)
        if exclude_pk:
            clash = clash.exclude(pk=exclude_pk)
        if clash.exists():
            raise ValidationError(
                f"Asset tag '{tag}' is already used by another asset, and asset tags must be unique "
                "(Settings > Asset tag must be unique)."
            )


@transaction.atomic
def do_upsert_asset(
    actor: Actor,
    data: AssetInput,
    *,
    asset: Asset | None = None,
    definitions: Mapping[str, FieldDefinition] | None = None,
) -> tuple[Asset, dict[str, list[Any]]]:
    """Create an asset (asset is None) or update one; returns the asset and its {field: [old, new]} diff.

    Field values merge into the stored ones (a None value clears that field). When a person makes the
    change, the edited field keys are remembered so a sync can respect local edits.
    """
    values = validate_values(data.values, definitions) if data.values else {}
    if asset is None:
        if data.asset_type is None or data.site is None:
            raise ValidationError("A new asset needs an asset type and a site.")
        tag = (data.asset_tag or "").strip()
        _check_asset_tag(tag, None)
        asset = Asset(
            asset_type=data.asset_type,
            site=data.site,
            customer_id=data.site.customer_id,
            name=(data.name or "").strip()[:255],
            asset_tag=tag,
            end_user=data.end_user,
            parent=data.parent,
            active=True if data.active is None else data.active,
            values={k: v for k, v in values.items() if v is not None},
        )
        _check_relations(asset)
        asset.provenance = stamp({}, _written_keys(asset), actor_source(actor))
        asset.save()
        diff: dict[str, list[Any]] = {"name": [None, asset.name], "asset_type": [None, asset.asset_type.name]}
        diff.update({k: [None, v] for k, v in asset.values.items()})
        record_audit(actor, asset, "create", diff)
        return asset, diff

    changes: dict[str, Any] = {}
    for attr in ("asset_type", "site", "end_user", "parent", "active"):
        wanted = getattr(data, attr)
        if wanted is not None:
            changes[attr] = wanted
    if data.name is not None:
        changes["name"] = data.name.strip()[:255]
    if data.asset_tag is not None:
        changes["asset_tag"] = data.asset_tag.strip()
        _check_asset_tag(changes["asset_tag"], asset.pk)
    if data.clear_end_user:
        changes["end_user"] = None
    if data.clear_parent:
        changes["parent"] = None
    if "site" in changes:
        changes["customer"] = changes["site"].customer
    diff = _apply_changes(
        asset, changes, ("asset_type", "site", "customer", "end_user", "parent", "active", "name", "asset_tag")
    )
    new_values = dict(asset.values)
    for key, value in values.items():
        old = asset.values.get(key)
        if old != value:
            diff[key] = [old, value]
            if value is None:
                new_values.pop(key, None)
            else:
                new_values[key] = value
    if not diff:
        return asset, diff
    asset.values = new_values
    if actor.is_person:
        asset.locally_edited = sorted(set(asset.locally_edited) | set(diff))
    asset.provenance = stamp(asset.provenance, diff, actor_source(actor))
    _check_relations(asset)
    asset.save()
    record_audit(actor, asset, "update", diff)
    return asset, diff


@transaction.atomic
def do_restore_asset_fields(actor: Actor, asset: Asset, restore: Mapping[str, Any], *, reason: str) -> dict[str, Any]:
    """Put earlier values back (name and field values; None removes a value), as when a sync's merge is reverted.

    The restored fields' provenance records the restore; an audit entry 'revert' lists old → new and the reason.
    """
    diff: dict[str, Any] = {}
    values = dict(asset.values)
    for key, old in restore.items():
        if key == "name":
            if old is not None and old != asset.name:
                diff["name"] = [asset.name, old]
                asset.name = str(old)[:255]
            continue
        if values.get(key) != old:
            diff[key] = [values.get(key), old]
            if old is None:
                values.pop(key, None)
            else:
                values[key] = old
    if not diff:
        return diff
    asset.values = values
    asset.provenance = stamp(asset.provenance, diff, Source("revert", actor.label,
                                                            at=utcnow().isoformat(timespec="seconds")))
    asset.save()
    record_audit(actor, asset, "revert", {**diff, "reason": reason})
    return diff


def _check_relations(asset: Asset) -> None:
    if asset.end_user_id and asset.end_user and asset.end_user.customer_id != asset.customer_id:
        raise ValidationError(f"User '{asset.end_user}' belongs to another customer than the asset's site.")
    if asset.parent_id:
        if asset.pk and asset.parent_id == asset.pk:
            raise ValidationError("An asset cannot be its own parent.")
        ancestor = asset.parent
        depth = 0
        while ancestor is not None and depth < 20:
            if asset.pk and ancestor.pk == asset.pk:
                raise ValidationError("This parent would make a loop of child assets.")
            ancestor = ancestor.parent
            depth += 1


def do_set_asset_active(actor: Actor, asset: Asset, active: bool, *, reason: str = "") -> bool:
    """Activate or deactivate an asset; returns True when it changed."""
    if asset.active == active:
        return False
    asset.active = active
    asset.save(update_fields=["active", "updated_at"])
    changes: dict[str, Any] = {"active": [not active, active]}
    if reason:
        changes["reason"] = reason
    record_audit(actor, asset, "activate" if active else "deactivate", changes)
    return True


def actor_source(actor: Actor, *, at: str = "") -> Source:
    """The provenance source of a write by this actor (a person's write is a local edit)."""
    by = LOCAL if actor.is_person else str(actor.source)
    return Source(by, actor.label, at=at or utcnow().isoformat(timespec="seconds"))


def _written_keys(asset: Asset) -> list[str]:
    keys = ["name", "asset_type", "site", *asset.values]
    if asset.end_user_id:
        keys.append("end_user")
    if asset.parent_id:
        keys.append("parent")
    return keys


@dataclass(slots=True)
class NewAsset:
    """One asset for `do_bulk_insert_assets`: plain ids and validated values (from validate_values), no model
    instance; `pk` is set once it is inserted."""

    name: str
    asset_type_id: int
    site_id: int
    customer_id: int
    asset_tag: str = ""
    end_user_id: int | None = None
    parent_id: int | None = None
    values: dict[str, Any] = field(default_factory=dict)
    active: bool = True
    pk: int | None = None

    def __str__(self) -> str:  # as Asset.__str__, for the audit trail
        return self.name or self.asset_tag or f"Asset {self.pk}"


#: The Asset columns do_bulk_insert_assets writes, in its tuples' order.
ASSET_COLUMNS = ("asset_tag", "name", "asset_type_id", "site_id", "customer_id", "end_user_id", "parent_id", "active",
                 "values", "locally_edited", "provenance", "created_by_integration", "created_at", "updated_at")


def _written_names(row: NewAsset) -> list[str]:
    keys = ["name", "asset_type", "site", *row.values]
    if row.end_user_id:
        keys.append("end_user")
    if row.parent_id:
        keys.append("parent")
    return keys


def _check_new(row: NewAsset) -> None:
    if not isinstance(row.values, dict):
        raise ValidationError(f"Asset '{row.name}': its values must be a mapping of field key to value.")
    for what in ("asset_type_id", "site_id", "customer_id"):
        if not isinstance(getattr(row, what), int):
            raise ValidationError(f"Asset '{row.name}' needs {what.removesuffix('_id').replace('_', ' ')}; "
                                  f"got {getattr(row, what)!r}.")


def do_bulk_insert_assets(actor: Actor, rows: Sequence[NewAsset], batch_size: int = 1000, *,
                          source: Source | None = None) -> list[int]:
    """Insert new assets as plain tuples (`bulk.insert_rows_returning`) with their audit entries; returns the new
    ids in the rows' order and sets each row's `pk`.

    Values must come from validate_values; names and tags are trimmed to their columns, and a row without an
    asset type, site or customer id is refused (ValidationError naming the asset). Each asset's provenance records
    `source` (a sync: its integration, run and time) for every field it sets; its audit entry lists name and
    values as created. Must run inside a transaction.
    """
    if not rows:
        return []
    source = source or actor_source(actor)
    entry, now, integration = source.entry(), utcnow(), source.integration_id
    for row in rows:
        _check_new(row)
        row.name = (row.name or "").strip()[:255]
        row.asset_tag = (row.asset_tag or "").strip()[:100]
        row.values = {k: v for k, v in row.values.items() if v is not None}
    provenances: dict[tuple[str, ...], EncodedJSON] = {}  # the rows of one import mostly share theirs

    def provenance(row: NewAsset) -> EncodedJSON:
        names = tuple(_written_names(row))
        found = provenances.get(names)
        if found is None:
            found = provenances[names] = EncodedJSON.of({"sources": [entry], "fields": dict.fromkeys(names, 0)})
        return found

    ids = insert_rows_returning(Asset, ASSET_COLUMNS, [
        (row.asset_tag, row.name, row.asset_type_id, row.site_id, row.customer_id, row.end_user_id, row.parent_id,
         row.active, row.values, [], provenance(row), integration, now, now)
        for row in rows], batch_size=batch_size)
    for row, pk in zip(rows, ids, strict=True):
        row.pk = pk
    record_audit_rows(actor, (
        ("asset", pk, str(row), "create",
         {"name": [None, row.name], **{k: [None, v] for k, v in row.values.items()}})
        for row, pk in zip(rows, ids, strict=True)))
    return ids


def do_bulk_create_assets(actor: Actor, assets: Sequence[Asset], batch_size: int = 1000, *,
                          source: Source | None = None) -> list[Asset]:
    """Insert already-validated assets in bulk (values must come from validate_values) with audit entries.

    The model-instance form of `do_bulk_insert_assets` (same rows, same audit): each asset gets its id,
    provenance and times set in place and is returned. Each asset's provenance records `source` (a sync: its
    integration, run and time) for every field it sets.
    """
    if not assets:
        return []
    rows = [NewAsset(name=a.name, asset_type_id=a.asset_type_id, site_id=a.site_id,
                     customer_id=a.customer_id or (a.site.customer_id if a.site_id else None),  # type: ignore[arg-type]
                     asset_tag=a.asset_tag, end_user_id=a.end_user_id, parent_id=a.parent_id, values=a.values,
                     active=a.active) for a in assets]
    with transaction.atomic():
        do_bulk_insert_assets(actor, rows, batch_size, source=source)
    stored = Asset.objects.in_bulk([r.pk for r in rows]) if rows else {}
    for asset, row in zip(assets, rows, strict=True):
        fresh = stored[int(row.pk or 0)]
        asset.pk, asset.name, asset.asset_tag, asset.customer_id = fresh.pk, fresh.name, fresh.asset_tag, \
            fresh.customer_id
        asset.values, asset.provenance, asset.created_by_integration = fresh.values, fresh.provenance, \
            fresh.created_by_integration
        asset.created_at, asset.updated_at, asset.locally_edited = fresh.created_at, fresh.updated_at, []
        asset._state.adding, asset._state.db = False, fresh._state.db
    return list(assets)


def do_bulk_update_assets(
    actor: Actor, updates: Sequence[tuple[Asset, dict[str, list[Any]]]], fields: Sequence[str], batch_size: int = 1000,
    *, source: Source | None = None,
) -> int:
    """Save assets already changed in memory (with their validated diffs) in bulk, with audit entries; each
    changed field's provenance records `source`."""
    if not updates:
        return 0
    now = utcnow()
    source = source or actor_source(actor)
    for asset, diff in updates:
        asset.updated_at = now
        asset.provenance = stamp(asset.provenance, diff, source)
    update_rows([a for a, _ in updates], [*fields, "provenance", "updated_at"], batch_size=batch_size)
    return record_audit_many(actor, ((a, "update", diff) for a, diff in updates))



def do_bulk_set_assets_active(actor: Actor, asset_ids: Sequence[int], active: bool, *, reason: str = "") -> int:
    """Activate or deactivate many assets in bulk (only those not already so), with audit entries."""
    changed = list(Asset.objects.filter(pk__in=list(asset_ids)).exclude(active=active))
    if not changed:
        return 0
    Asset.objects.filter(pk__in=[a.pk for a in changed]).update(active=active, updated_at=utcnow())
    changes: dict[str, Any] = {"active": [not active, active], **({"reason": reason} if reason else {})}
    for asset in changed:
        asset.active = active
    return record_audit_many(actor, ((a, "activate" if active else "deactivate", changes) for a in changed))
