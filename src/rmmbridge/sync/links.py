"""Reversible links: unlink an RMM device from its asset, optionally reverting what that link's syncs wrote."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from rmmbridge.integrations.models import ExternalRef
from rmmbridge.servicedesk import actions
from rmmbridge.servicedesk.actions import Actor
from rmmbridge.servicedesk.models import Asset, AuditEntry, AuditSource
from rmmbridge.servicedesk.provenance import source_of
from rmmbridge.sync.models import LinkVeto


class UnlinkError(Exception):
    """The link cannot be undone as asked; the message says why."""


@dataclass
class UnlinkResult:
    """What an unlink did: the device, its integration, and the values put back (field → restored value)."""

    external_id: str
    integration: str
    restored: dict[str, Any] = field(default_factory=dict)
    not_restored: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        text = (f"Unlinked {self.integration} device {self.external_id}; its next sync gives it its own asset "
                "(matching never links the two again).")
        if self.restored:
            text += f" Restored {len(self.restored)} value(s): {', '.join(sorted(self.restored))}."
        if self.not_restored:
            text += f" Not restored (no earlier value recorded): {', '.join(sorted(self.not_restored))}."
        return text


def values_before(asset: Asset, ref: ExternalRef) -> tuple[dict[str, Any], list[str]]:
    """For each field whose current value this link's integration wrote, the value before its first sync write
    (from the audit trail since the link was made); and the fields without such a record."""
    written = [key for key in ((asset.provenance or {}).get("fields") or {})
               if (source_of(asset.provenance, key) or {}).get("integration") == ref.integration_id]
    wanted = [k for k in written if k == "name" or k in asset.values]
    entries = AuditEntry.objects.filter(object_type="asset", object_id=asset.pk, source=AuditSource.SYNC,
                                        at__gte=ref.first_seen).order_by("at", "id")
    label = ref.integration.name
    before: dict[str, Any] = {}
    for entry in entries:
        if entry.action != "update" or not entry.actor_label.startswith(label):
            continue
        for key in wanted:
            change = (entry.changes or {}).get(key)
            if key not in before and isinstance(change, list) and len(change) == 2:
                before[key] = change[0]
    return before, [k for k in wanted if k not in before]


@transaction.atomic
def unlink_device(actor: Actor, asset_id: int, ref_id: int, *, revert: bool = False) -> UnlinkResult:
    """Remove an asset's link to an RMM device (audited); with revert, restore the values that link's syncs
    wrote over (a sync-made merge undone). The device is never matched to this asset again."""
    ref = ExternalRef.objects.select_related("integration").filter(pk=ref_id, kind="asset").first()
    if ref is None or ref.object_id != asset_id:
        raise UnlinkError("This asset has no such link (it was removed meanwhile); reload the page.")
    asset = Asset.objects.select_for_update().get(pk=asset_id)
    result = UnlinkResult(ref.external_id, ref.integration.name)
    if revert:
        before, result.not_restored = values_before(asset, ref)
        if before:
            actions.do_restore_asset_fields(actor, asset, before, reason=f"reverted the merge with "
                                            f"{ref.integration.name} device {ref.external_id}")
            result.restored = before
    LinkVeto.objects.get_or_create(integration=ref.integration, external_id=ref.external_id, asset_id=asset_id,
                                   defaults={"actor_label": actor.label[:200]})
    ref.delete()
    actions.record_audit(actor, asset, "unlink", {
        "integration": [ref.integration.name, None], "external_id": [ref.external_id, None],
        **({"reverted": sorted(result.restored)} if revert else {}),
    })
    return result
