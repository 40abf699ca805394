"""Filters that show audit trail entries in words: object names instead of ids, field labels instead of keys."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()

NAMES = {"asset_type": "Asset type", "end_user": "User", "toplevel": "Top level", "is_main": "Main site",
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
