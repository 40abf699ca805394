"""Filters that show audit trail entries in words: object names instead of ids, field labels instead of keys."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()

NAMES = {"asset_type": "Asset type", "end_user": "User", "active": "Status", "parent": "Parent asset",
         "toplevel": "Top level", "is_main": "Main site",
         "asset_tag": "Asset tag"}


@register.filter
def audit_value(value: Any) -> str:
    """A stored audit value as a person reads it; related objects are stored as {"id", "repr"}."""
    if value is None:
        return "∅"
    if isinstance(value, dict) and "repr" in value:
        return str(value["repr"])
    if isinstance(value, list):
        return ", ".join(audit_value(item) for item in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


@register.filter
def audit_field(key: str, labels: dict[str, str] | None = None) -> str:
    """The label of a changed field: the field definition's label, else a readable form of the key."""
    if labels and key in labels:
        return labels[key]
    return NAMES.get(key, key.replace("_", " ").capitalize())


#: Keys whose audit values the sync stores as bare ids, and the model that names them.
ID_KEYS = {"end_user": "EndUser", "end_user_id": "EndUser", "parent": "Asset", "parent_id": "Asset",
           "site": "Site", "site_id": "Site", "customer": "Customer", "customer_id": "Customer",
           "asset_type": "AssetType", "asset_type_id": "AssetType"}


def _named(key: str, value: Any) -> str:
    """A bare id of a related record as its name ('#141' when it no longer exists); other values as audit_value."""
    if key == "active" and isinstance(value, bool):
        return "active" if value else "inactive"
    model_name = ID_KEYS.get(key)
    if model_name is None or isinstance(value, bool) or not isinstance(value, int):
        return audit_value(value)
    from rmmbridge.servicedesk import models

    model = getattr(models, model_name)
    found = model.objects.filter(pk=value).first()
    if found is None:
        return f"#{value} (deleted)"
    if model_name == "Site":
        return f"{found.customer.name} / {found.name}"
    return str(getattr(found, "name", found))


@register.simple_tag
def audit_change(key: str, pair: Any, labels: dict[str, str] | None = None) -> str:
    """'User: ∅ → Alex Morgan', 'Status: active → inactive'; '' when both sides read the same (never '∅ → ∅')."""
    old, new = ([*pair, None, None][:2]) if isinstance(pair, list | tuple) else (None, pair)
    before, after = _named(key, old), _named(key, new)
    if before == after:
        return ""
    return f"{audit_field(key, labels)}: {before} → {after}"
