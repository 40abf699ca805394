"""The one write layer for service-desk objects: every function validates and records an audit entry."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Model

from rmmbridge.common.clock import utcnow
from rmmbridge.servicedesk.bulk import insert_rows, update_rows
from rmmbridge.servicedesk.fieldtypes import DataType, FieldValueError, JsonValue, coerce_value
from rmmbridge.servicedesk.models import (
    Asset,
    AssetGroup,
    AssetType,
    AuditEntry,
    AuditSource,
    Customer,
    EndUser,
    FieldDefinition,
    FieldKind,
    ServiceDeskSettings,
    Site,
    TopLevel,
)
from rmmbridge.servicedesk.provenance import LOCAL, Source, stamp

PERSON_SOURCES = frozenset({AuditSource.UI, AuditSource.API, AuditSource.CLI})


@dataclass(frozen=True)
class Actor:
    """Who is writing, and from where. `label` names non-user actors (an integration, a CLI operator)."""

    source: AuditSource
    user: AbstractBaseUser | AnonymousUser | None = None
    label: str = ""

    @classmethod
    def ui(cls, user: AbstractBaseUser | AnonymousUser | None) -> Actor:
        return cls(AuditSource.UI, user, str(getattr(user, "username", "") or ""))

    @classmethod
    def api(cls, user: AbstractBaseUser | AnonymousUser | None) -> Actor:
        return cls(AuditSource.API, user, str(getattr(user, "username", "") or ""))

    @classmethod
    def cli(cls, label: str = "cli") -> Actor:
        return cls(AuditSource.CLI, None, label)

    @classmethod
    def sync(cls, label: str) -> Actor:
        return cls(AuditSource.SYNC, None, label)

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(AuditSource.SYSTEM, None, label)

    @property
    def is_person(self) -> bool:
        return self.source in PERSON_SOURCES


#: The columns record_audit_many writes, in its tuples' order.
AUDIT_COLUMNS = ("at", "actor_id", "actor_label", "source", "object_type", "object_id", "object_repr", "action",
                 "changes")


def _entry(actor: Actor, obj: Model, action: str, changes: Mapping[str, Any]) -> AuditEntry:
    user = actor.user if actor.user is not None and getattr(actor.user, "is_authenticated", False) else None
    return AuditEntry(
        actor=user,  # type: ignore[misc]
        actor_label=actor.label[:200],
        source=actor.source,
        object_type=obj._meta.model_name or type(obj).__name__.lower(),
        object_id=int(obj.pk),
        object_repr=str(obj)[:255],
        action=action,
        changes=dict(changes),
    )


def record_audit(actor: Actor, obj: Model, action: str, changes: Mapping[str, Any] | None = None) -> AuditEntry:
    """Record one audit entry for `obj`."""
    entry = _entry(actor, obj, action, changes or {})
    entry.save()
    return entry


def record_audit_many(actor: Actor, items: Iterable[tuple[Model, str, Mapping[str, Any]]]) -> int:
    """Record audit entries in bulk (plain tuples, one executemany per 1000); returns how many were written."""
    user = actor.user if actor.user is not None and getattr(actor.user, "is_authenticated", False) else None
    user_id, label, source, at = (user.pk if user is not None else None), actor.label[:200], str(actor.source), \
        utcnow()
    names: dict[type[Model], str] = {}

    def rows() -> Iterable[tuple[Any, ...]]:
        for obj, action, changes in items:
            kind = type(obj)
            name = names.get(kind)
            if name is None:
                name = names[kind] = obj._meta.model_name or kind.__name__.lower()
            yield (at, user_id, label, source, name, int(obj.pk), str(obj)[:255], action, dict(changes))

    return insert_rows(AuditEntry, AUDIT_COLUMNS, rows())


def _apply_changes(obj: Model, changes: Mapping[str, Any], allowed: Iterable[str]) -> dict[str, list[Any]]:
    """Set changed attributes on obj; return {field: [old, new]} for those that differ."""
    allowed_set = set(allowed)
    diff: dict[str, list[Any]] = {}
    for name, new in changes.items():
        if name not in allowed_set:
            raise ValidationError(f"'{name}' cannot be changed here.")
        old = getattr(obj, name)
        if old != new:
            diff[name] = [_plain(old), _plain(new)]
            setattr(obj, name, new)
    return diff


def _plain(value: Any) -> Any:
    """A JSON-friendly form of a value for the audit trail."""
    if isinstance(value, Model):
        return {"id": value.pk, "repr": str(value)}
    if value is None or isinstance(value, str | int | float | bool | list | dict):
        return value
    return str(value)


def _clean_name(name: str, what: str) -> str:
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise ValidationError(f"{what} name is required.")
    if len(cleaned) > 200:
        raise ValidationError(f"{what} name is longer than 200 characters.")
    return cleaned


# Top levels and customers ------------------------------------------------------------------------------


def do_create_toplevel(actor: Actor, name: str) -> TopLevel:
    """Create a top level (a grouping of customers)."""
    name = _clean_name(name, "Top level")
    if TopLevel.objects.filter(name__iexact=name).exists():
        raise ValidationError(f"A top level named '{name}' already exists.")
    toplevel = TopLevel.objects.create(name=name)
    record_audit(actor, toplevel, "create", {"name": [None, name]})
    return toplevel


@transaction.atomic
def do_create_customer(
    actor: Actor, name: str, *, toplevel: TopLevel | None = None, main_site_name: str = "Main", notes: str = ""
) -> Customer:
    """Create a customer together with its main site."""
    name = _clean_name(name, "Customer")
    if Customer.objects.filter(name__iexact=name).exists():
        raise ValidationError(f"A customer named '{name}' already exists.")
    customer = Customer.objects.create(name=name, toplevel=toplevel, notes=notes)
    site = Site.objects.create(customer=customer, name=_clean_name(main_site_name, "Site"), is_main=True)
    record_audit(actor, customer, "create", {"name": [None, name], "toplevel": [None, _plain(toplevel)]})
    record_audit(actor, site, "create", {"name": [None, site.name], "is_main": [None, True]})
    return customer


def do_update_customer(actor: Actor, customer: Customer, **changes: Any) -> dict[str, list[Any]]:
    """Change a customer's name, top level, active flag or notes."""
    if "name" in changes:
        changes["name"] = _clean_name(changes["name"], "Customer")
        if Customer.objects.filter(name__iexact=changes["name"]).exclude(pk=customer.pk).exists():
            raise ValidationError(f"A customer named '{changes['name']}' already exists.")
    diff = _apply_changes(customer, changes, ("name", "toplevel", "active", "notes"))
    if diff:
        customer.save()
        record_audit(actor, customer, "update", diff)
    return diff


# Sites -------------------------------------------------------------------------------------------------


def do_create_site(actor: Actor, customer: Customer, name: str, *, address: str = "") -> Site:
    """Add a (non-main) site to a customer."""
    name = _clean_name(name, "Site")
    if customer.sites.filter(name__iexact=name).exists():
        raise ValidationError(f"Customer '{customer.name}' already has a site named '{name}'.")
    site = Site.objects.create(customer=customer, name=name, address=address, is_main=False)
    record_audit(actor, site, "create", {"name": [None, name]})
    return site


@transaction.atomic
def do_set_main_site(actor: Actor, site: Site) -> None:
    """Make `site` its customer's main site (the previous main site stops being main)."""
    if not site.active:
        raise ValidationError(f"Site '{site.name}' is inactive and cannot be the main site; activate it first.")
    previous = Site.objects.select_for_update().filter(customer_id=site.customer_id, is_main=True).first()
    if previous and previous.pk == site.pk:
        return
    if previous:
        previous.is_main = False
        previous.save(update_fields=["is_main", "updated_at"])
        record_audit(actor, previous, "update", {"is_main": [True, False]})
    site.is_main = True
    site.save(update_fields=["is_main", "updated_at"])
    record_audit(actor, site, "update", {"is_main": [False, True]})


def do_update_site(actor: Actor, site: Site, **changes: Any) -> dict[str, list[Any]]:
    """Change a site's name, address or active flag (a main site cannot be deactivated)."""
    if "name" in changes:
        changes["name"] = _clean_name(changes["name"], "Site")
        clash = Site.objects.filter(customer_id=site.customer_id, name__iexact=changes["name"]).exclude(pk=site.pk)
        if clash.exists():
            raise ValidationError(f"This customer already has a site named '{changes['name']}'.")
    if changes.get("active") is False and site.is_main:
        raise ValidationError("The main site cannot be deactivated; make another site the main site first.")
    diff = _apply_changes(site, changes, ("name", "address", "active"))
    if diff:
        site.save()
        record_audit(actor, site, "update", diff)
    return diff


def do_delete_site(actor: Actor, site: Site) -> None:
    """Delete a site that is not the main site and holds no users or assets."""
    if site.is_main:
        raise ValidationError("The main site cannot be deleted: every customer needs exactly one main site.")
    if site.users.exists() or site.assets.exists():
        raise ValidationError(f"Site '{site.name}' still has users or assets; move them first.")
    record_audit(actor, site, "delete", {"name": [site.name, None]})
    site.delete()


# End users ---------------------------------------------------------------------------------------------


def _clean_email(email: str) -> str:
    email = (email or "").strip()
    if email and ("@" not in email or " " in email or len(email) > 254):
        raise ValidationError(f"'{email}' is not a valid e-mail address.")
    return email


def do_create_end_user(actor: Actor, site: Site, name: str, *, email: str = "", phone: str = "") -> EndUser:
    """Create a user at a site; the e-mail, when given, must be unique within the customer."""
    name = _clean_name(name, "User")
    email = _clean_email(email)
    if email and EndUser.objects.filter(customer_id=site.customer_id, email__iexact=email).exists():
        raise ValidationError(f"Another user of this customer already has the e-mail address '{email}'.")
    user = EndUser.objects.create(site=site, customer_id=site.customer_id, name=name, email=email, phone=phone)
    record_audit(actor, user, "create", {"name": [None, name], "email": [None, email]})
    return user


def do_update_end_user(actor: Actor, user: EndUser, **changes: Any) -> dict[str, list[Any]]:
    """Change a user's name, e-mail, phone, site (within any customer) or active flag."""
    if "name" in changes:
        changes["name"] = _clean_name(changes["name"], "User")
    site = changes.get("site", user.site)
    if "email" in changes:
        changes["email"] = _clean_email(changes["email"])
    email = changes.get("email", user.email)
    if email and EndUser.objects.filter(customer_id=site.customer_id, email__iexact=email).exclude(pk=user.pk).exists():
        raise ValidationError(f"Another user of this customer already has the e-mail address '{email}'.")
    if "site" in changes:
        changes["customer"] = site.customer
    diff = _apply_changes(user, changes, ("name", "email", "phone", "site", "customer", "active"))
    if diff:
        user.save()
        record_audit(actor, user, "update", diff)
    return diff


# Asset groups, types and fields ------------------------------------------------------------------------


def do_create_asset_group(actor: Actor, name: str) -> AssetGroup:
    """Create an asset group."""
    name = _clean_name(name, "Asset group")
    if AssetGroup.objects.filter(name__iexact=name).exists():
        raise ValidationError(f"An asset group named '{name}' already exists.")
    group = AssetGroup.objects.create(name=name)
    record_audit(actor, group, "create", {"name": [None, name]})
    return group


def do_create_asset_type(actor: Actor, name: str, group: AssetGroup) -> AssetType:
    """Create an asset type in a group."""
    name = _clean_name(name, "Asset type")
    if AssetType.objects.filter(name__iexact=name).exists():
        raise ValidationError(f"An asset type named '{name}' already exists.")
    asset_type = AssetType.objects.create(name=name, group=group)
    record_audit(actor, asset_type, "create", {"name": [None, name], "group": [None, group.name]})
    return asset_type


def _clean_field_name(name: str) -> str:
    name = (name or "").strip()
    if name.startswith("CF") and len(name) > 2:
        name = name[2:]
    if not name or not all(ch.isalnum() or ch == "_" for ch in name):
        raise ValidationError(f"Field name '{name}' may contain only letters, digits and underscores.")
    return name


def do_create_field_definition(
    actor: Actor,
    name: str,
    *,
    label: str = "",
    kind: str = FieldKind.ASSET_FIELD,
    data_type: str = DataType.TEXT,
    choices: Sequence[str] = (),
    asset_types: Iterable[AssetType] = (),
) -> FieldDefinition:
    """Create an asset field or custom field (a custom field named 'X' is addressed as 'CFX')."""
    name = _clean_field_name(name)
    if kind not in FieldKind.values:
        raise ValidationError(f"Field kind must be one of {', '.join(FieldKind.values)}; got '{kind}'.")
    try:
        dtype = DataType(data_type)
    except ValueError:
        raise ValidationError(
            f"Data type must be one of {', '.join(t.value for t in DataType)}; got '{data_type}'."
        ) from None
    if dtype is DataType.CHOICE and not choices:
        raise ValidationError(f"Choice field '{name}' needs at least one choice.")
    if FieldDefinition.objects.filter(kind=kind, name__iexact=name).exists():
        raise ValidationError(f"A field named '{name}' already exists.")
    definition = FieldDefinition.objects.create(
        name=name, label=label.strip() or name, kind=kind, data_type=dtype.value, choices=list(choices)
    )
    definition.asset_types.set(list(asset_types))
    record_audit(actor, definition, "create", {"name": [None, definition.key], "data_type": [None, dtype.value]})
    return definition


def do_show_field_on_asset_types(actor: Actor, definition: FieldDefinition, asset_types: Iterable[AssetType]) -> int:
    """Attach a field to asset types so it shows on their assets; returns how many were added."""
    current = set(definition.asset_types.values_list("pk", flat=True))
    new = [t for t in asset_types if t.pk not in current]
    if new:
        definition.asset_types.add(*new)
        record_audit(actor, definition, "update", {"asset_types": [None, [t.name for t in new]]})
    return len(new)


def field_definitions() -> dict[str, FieldDefinition]:
    """Every field definition keyed by how values address it (`name` or `CF<name>`)."""
    return {d.key: d for d in FieldDefinition.objects.all()}


def validate_values(
    values: Mapping[str, Any], definitions: Mapping[str, FieldDefinition] | None = None
) -> dict[str, JsonValue]:
    """Convert raw values to their fields' types; raise ValidationError listing every bad value."""
    definitions = field_definitions() if definitions is None else definitions
    lowered = {k.lower(): d for k, d in definitions.items()}
    clean: dict[str, JsonValue] = {}
    errors: list[str] = []
    for key, raw in values.items():
        definition = definitions.get(key) or lowered.get(key.lower())
        if definition is None:
            errors.append(f"Unknown field '{key}': create it under Settings > Fields first.")
            continue
        try:
            clean[definition.key] = coerce_value(
                definition.label, DataType(definition.data_type), raw, tuple(definition.choices or ())
            )
        except FieldValueError as exc:
            errors.append(str(exc))
    if errors:
        raise ValidationError(errors)
    return clean


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


def do_bulk_create_assets(actor: Actor, assets: Sequence[Asset], batch_size: int = 1000, *,
                          source: Source | None = None) -> list[Asset]:
    """Insert already-validated assets in bulk (values must come from validate_values) with audit entries.

    Each asset's provenance records `source` (a sync: its integration, run and time) for every field it sets.
    """
    source = source or actor_source(actor)
    for asset in assets:
        asset.customer_id = asset.site.customer_id if asset.site_id and not asset.customer_id else asset.customer_id
        asset.provenance = stamp({}, _written_keys(asset), source)
        if source.integration_id is not None:
            asset.created_by_integration = source.integration_id
    created = Asset.objects.bulk_create(list(assets), batch_size=batch_size)
    record_audit_many(
        actor, ((a, "create", {"name": [None, a.name], **{k: [None, v] for k, v in a.values.items()}}) for a in created)
    )
    return created


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


# Settings ----------------------------------------------------------------------------------------------


def do_update_settings(actor: Actor, **changes: Any) -> dict[str, list[Any]]:
    """Change the service-desk settings (asset tag must be unique, junk values)."""
    current = ServiceDeskSettings.load()
    if "junk_values" in changes:
        changes["junk_values"] = list(dict.fromkeys(str(v).strip() for v in changes["junk_values"] if str(v).strip()))
    if changes.get("asset_tag_unique") and not current.asset_tag_unique:
        duplicates = list(
            Asset.objects.exclude(asset_tag="").values("asset_tag").annotate(n=Count("id")).filter(n__gt=1)[:5]
        )
        if duplicates:
            shown = ", ".join(f"'{d['asset_tag']}'" for d in duplicates)
            raise ValidationError(
                f"Asset tags cannot be made unique yet: these tags are used by several assets ({shown}). "
                "Change those assets' tags first."
            )
    diff = _apply_changes(current, changes, ("asset_tag_unique", "junk_values"))
    if diff:
        current.save()
        record_audit(actor, current, "update", diff)
    return diff


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
