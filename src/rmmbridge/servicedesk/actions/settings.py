"""Write action for the service desk's settings."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count

from rmmbridge.servicedesk.actions.core import Actor, _apply_changes, record_audit
from rmmbridge.servicedesk.models import (
    Asset,
    ServiceDeskSettings,
)

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
