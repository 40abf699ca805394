"""ExternalRef reads and bulk writes for the sync engine (no per-row queries)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from rmmbridge.common.clock import utcnow
from rmmbridge.integrations.models import ExternalRef
from rmmbridge.servicedesk.bulk import insert_rows, update_rows

BATCH = 1000


@dataclass(frozen=True)
class RefRow:
    """One link to write: (kind, external id) → local object id, with the imported record's fingerprint."""

    kind: str
    external_id: str
    object_id: int
    fingerprint: str = ""


def refs_of(integration_id: int, kinds: Iterable[str] | None = None) -> list[ExternalRef]:
    """Every ExternalRef of an integration (optionally of some kinds), in one query."""
    query = ExternalRef.objects.filter(integration_id=integration_id)
    if kinds is not None:
        query = query.filter(kind__in=list(kinds))
    return list(query.only("id", "kind", "external_id", "object_id", "fingerprint", "missing_since"))


def ref_map(integration_id: int, kind: str) -> dict[str, int]:
    """external id → local object id for one kind."""
    return dict(
        ExternalRef.objects.filter(integration_id=integration_id, kind=kind).values_list("external_id", "object_id")
    )


def create_refs(integration_id: int, rows: Sequence[RefRow], *, now: datetime | None = None) -> int:
    """Create links known to be new (objects created just now) as plain tuples in bulk; returns rows written."""
    now = now or utcnow()
    return insert_rows(ExternalRef, ("integration_id", "kind", "external_id", "object_id", "fingerprint",
                                     "first_seen", "last_seen", "missing_since"),
                       ((integration_id, r.kind, r.external_id, r.object_id, r.fingerprint, now, now, None)
                        for r in rows), batch_size=BATCH)


def upsert_refs(integration_id: int, rows: Sequence[RefRow], *, now: datetime | None = None) -> int:
    """Create or re-point links in bulk (an existing (kind, external id) is updated); returns rows written."""
    if not rows:
        return 0
    now = now or utcnow()
    keys = {(r.kind, r.external_id) for r in rows}
    existing: dict[tuple[str, str], ExternalRef] = {}
    for kind in {k for k, _ in keys}:
        ids = [e for k, e in keys if k == kind]
        for start in range(0, len(ids), BATCH):
            for ref in ExternalRef.objects.filter(integration_id=integration_id, kind=kind,
                                                  external_id__in=ids[start:start + BATCH]):
                existing[(ref.kind, ref.external_id)] = ref
    to_create: list[ExternalRef] = []
    to_update: list[ExternalRef] = []
    for row in rows:
        found = existing.get((row.kind, row.external_id))
        if found is None:
            to_create.append(ExternalRef(integration_id=integration_id, kind=row.kind, external_id=row.external_id,
                                         object_id=row.object_id, fingerprint=row.fingerprint, first_seen=now,
                                         last_seen=now))
        else:
            found.object_id, found.fingerprint, found.last_seen = row.object_id, row.fingerprint, now
            found.missing_since = None
            to_update.append(found)
    ExternalRef.objects.bulk_create(to_create, batch_size=BATCH)
    update_rows(to_update, ["object_id", "fingerprint", "last_seen", "missing_since"])
    return len(to_create) + len(to_update)


def touch_refs(integration_id: int, kind: str, fingerprints: dict[str, str], *, clear_missing: Iterable[str] = (),
               now: datetime | None = None) -> int:
    """Record new fingerprints (and clear missing_since) for existing links; returns rows written."""
    clear = set(clear_missing)
    wanted = set(fingerprints) | clear
    if not wanted:
        return 0
    now = now or utcnow()
    ids = sorted(wanted)
    changed: list[ExternalRef] = []
    for start in range(0, len(ids), BATCH):
        for ref in ExternalRef.objects.filter(integration_id=integration_id, kind=kind,
                                              external_id__in=ids[start:start + BATCH]):
            if ref.external_id in fingerprints:
                ref.fingerprint = fingerprints[ref.external_id]
            if ref.external_id in clear:
                ref.missing_since = None
            ref.last_seen = now
            changed.append(ref)
    update_rows(changed, ["fingerprint", "missing_since", "last_seen"])
    return len(changed)


def mark_missing(integration_id: int, kind: str, external_ids: Iterable[str], since: datetime) -> int:
    """Set missing_since on links that a complete fetch no longer contained (only where not set yet)."""
    ids = list(external_ids)
    total = 0
    for start in range(0, len(ids), BATCH):
        total += ExternalRef.objects.filter(integration_id=integration_id, kind=kind, missing_since__isnull=True,
                                            external_id__in=ids[start:start + BATCH]).update(missing_since=since)
    return total


def delete_refs(integration_id: int, kind: str, external_ids: Iterable[str]) -> int:
    """Remove links (unlink); the local objects stay."""
    ids = list(external_ids)
    total = 0
    for start in range(0, len(ids), BATCH):
        deleted, _ = ExternalRef.objects.filter(integration_id=integration_id, kind=kind,
                                                external_id__in=ids[start:start + BATCH]).delete()
        total += deleted
    return total
