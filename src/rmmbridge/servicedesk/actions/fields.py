"""Write actions for asset groups, asset types and field definitions, and field value validation."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError

from rmmbridge.servicedesk.actions.core import Actor, _clean_name, record_audit
from rmmbridge.servicedesk.fieldtypes import DataType, FieldValueError, JsonValue, coerce_value
from rmmbridge.servicedesk.models import (
    AssetGroup,
    AssetType,
    FieldDefinition,
    FieldKind,
)

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
