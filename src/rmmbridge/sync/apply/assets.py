"""Applying asset ops: the hot path, in transactional batches with bulk writes (the late-match check included)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.db.models import Max

from rmmbridge.integrations.models import ExternalRef
from rmmbridge.integrations.refs import RefRow, create_refs, delete_refs, mark_missing, ref_map, touch_refs
from rmmbridge.servicedesk import actions
from rmmbridge.servicedesk.models import Asset, AssetType, ServiceDeskSettings, Site
from rmmbridge.sync.apply.base import (
    ASSET_BATCH,
    ASSET_TAG,
    CREATE_LOCK,
    DEFERRED,
    ApplierBase,
    ApplyError,
    _message,
    asset_change,
    logger,
)
from rmmbridge.sync.matching import STRONG_KEYS, MatchIndex, match_asset
from rmmbridge.sync.payloads import AssetChange, AssetSet, MissingMark
from rmmbridge.sync.plan import Op, OpKind


class AssetApplier(ApplierBase):
    """Writes the asset ops of one run."""

    def _assets(self, part: list[tuple[int, Op]]) -> None:
        self.site_customer = dict(Site.objects.values_list("id", "customer_id"))
        targets = {int(op.target_id) for _, op in part if op.target_id is not None}
        creating = any(op.kind is OpKind.CREATE for _, op in part)
        if not self.streaming:
            self.targets, self.parents, self.shown = targets, [], {}
            self.linked = ref_map(self.iid, "asset") if creating else {}
        else:  # a streamed run: the links as they were when it began creating, parents and fields for finish()
            self.targets |= targets
            if creating and self.linked is None:
                self.linked = ref_map(self.iid, "asset")
        done = 0
        for start in range(0, len(part), ASSET_BATCH):
            batch = part[start:start + ASSET_BATCH]
            written = self.result.rows_written
            try:
                with transaction.atomic():
                    self._asset_batch(batch)
            except (ApplyError, ValidationError, DatabaseError, ValueError, KeyError):
                self.result.rows_written = written  # that attempt was rolled back
                for index, op in batch:  # isolate the bad items: one savepoint each
                    try:
                        with transaction.atomic():
                            self._asset_batch([(index, op)])
                    except (ApplyError, ValidationError, DatabaseError, ValueError, KeyError) as exc:
                        self.result.errors[index] = _message(exc)
            for index, _ in batch:
                if index not in self.result.errors:
                    self.result.applied.add(index)
            done += len(batch)
            if self.progress:
                self.progress("assets", done, len(part))
        if not self.streaming:
            self._link_parents()
            self._show_fields()

    def _site_of(self, value: Any) -> tuple[int, int]:
        site_id = self.resolve(value, "site")
        if site_id not in self.site_customer:
            raise ApplyError(f"Site #{site_id} no longer exists; run the preview again.")
        return site_id, self.site_customer[site_id]

    def _asset_batch(self, batch: list[tuple[int, Op]]) -> None:
        creates: list[tuple[Op, actions.NewAsset]] = []
        targets = [int(op.target_id) for _, op in batch
                   if op.kind in (OpKind.UPDATE, OpKind.LINK, OpKind.REACTIVATE) and op.target_id is not None]
        loaded = Asset.objects.in_bulk(targets) if targets else {}
        self._refuse_duplicates(batch)
        updates: list[tuple[Asset, dict[str, list[Any]]]] = []
        update_fields: set[str] = set()
        link_rows: list[RefRow] = []
        fingerprints: dict[str, str] = {}
        clear: list[str] = []
        missing: list[str] = []
        deactivate: list[int] = []
        unlink: list[str] = []
        for _, op in batch:
            change = asset_change(op)
            wanted: AssetSet = change.set
            if op.kind is OpKind.CREATE:
                site_id, customer_id = self._site_of(wanted["site_id"])
                type_id = self.resolve(wanted["asset_type_id"], "asset type")
                values = {k: v for k, v in (wanted.get("values") or {}).items() if v is not None}
                asset = actions.NewAsset(name=wanted.get("name", ""), asset_type_id=type_id,
                                         site_id=site_id, customer_id=customer_id,
                                         end_user_id=self._user_for(wanted.get("end_user_id"), customer_id),
                                         asset_tag=self._free_tag(values.pop(ASSET_TAG, None), None, op),
                                         values=values)
                creates.append((op, asset))
            elif op.kind in (OpKind.UPDATE, OpKind.LINK, OpKind.REACTIVATE):
                current = loaded.get(int(op.target_id or 0))
                if current is None:
                    raise ApplyError(f"Asset #{op.target_id} no longer exists; run the preview again.")
                changed = self._change(current, wanted, op)
                if changed:
                    updates.append((current, op.changes))
                    update_fields |= changed
                if op.kind is OpKind.LINK:
                    link_rows.append(RefRow("asset", op.external_id, current.pk, op.fingerprint))
                else:
                    fingerprints[op.external_id] = op.fingerprint
                if change.clear_missing:
                    clear.append(op.external_id)
            elif op.kind is OpKind.DEACTIVATE:
                deactivate.append(int(op.target_id or 0))
                if type(op.data) is MissingMark:
                    missing.append(op.external_id)
            elif op.kind is OpKind.UNLINK:
                unlink.append(op.external_id)
            elif op.kind is OpKind.UNCHANGED:
                if type(op.data) is MissingMark:
                    missing.append(op.external_id)
                if change.refresh_fingerprint or change.clear_missing:
                    fingerprints[op.external_id] = op.fingerprint
                if change.clear_missing:
                    clear.append(op.external_id)
        if creates and self.late is not None:
            creates = self._defer_late_matches(creates)
        if creates:
            created = [a for _, a in creates]
            ids = actions.do_bulk_insert_assets(self.actor, created, source=self.source)
            self.result.rows_written += 2 * len(ids)
            new_rows = []
            for (op, asset), pk in zip(creates, ids, strict=True):
                new_rows.append(RefRow("asset", op.external_id, pk, op.fingerprint))
                self._remember(asset, pk, op)
            if any(r.external_id in (self.linked or {}) for r in new_rows):
                link_rows.extend(new_rows)  # a stale link of a deleted asset is re-pointed
            else:
                self.result.rows_written += create_refs(self.iid, new_rows, now=self.now)
        if updates:
            self.result.rows_written += 2 * actions.do_bulk_update_assets(self.actor, updates, sorted(update_fields),
                                                                          source=self.source)
            for updated, _ in updates:
                self.shown.setdefault(updated.asset_type_id, set()).update(updated.values)
        for _, op in batch:
            if op.kind in (OpKind.UPDATE, OpKind.LINK, OpKind.REACTIVATE) and asset_change(op).set.get(
                    "parent_external_id"):
                self.parents.append((int(op.target_id or 0), str(asset_change(op).set["parent_external_id"])))
        self._refs(link_rows)
        if fingerprints or clear:
            self.result.rows_written += touch_refs(self.iid, "asset", fingerprints, clear_missing=clear, now=self.now)
        if missing:
            self.result.rows_written += mark_missing(self.iid, "asset", missing, self.now)
        if deactivate:
            self.result.rows_written += 2 * actions.do_bulk_set_assets_active(
                self.actor, deactivate, False, reason="no longer in the RMM")
        if unlink:
            self.result.rows_written += delete_refs(self.iid, "asset", unlink)

    def _defer_late_matches(self, creates: list[tuple[Op, actions.NewAsset]]) -> list[tuple[Op, actions.NewAsset]]:
        """Order independence: under one lock for every sync's asset inserts, refuse to create a device that
        matches an asset another sync created after this run's snapshot; the device waits for the next run,
        whose snapshot has that asset, so the result is the same whatever order the syncs ran in."""
        late = self.late
        assert late is not None
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CREATE_LOCK])
        # Under the lock every other sync's inserts are committed and later ones get higher ids: the rows above the
        # last id read are all that can be new since the previous batch (linear in the run, not quadratic).
        upto = Asset.objects.aggregate(top=Max("pk"))["top"] or 0
        if upto > self.late_upto:
            mine = ExternalRef.objects.filter(integration_id=self.iid, kind="asset").values("object_id")
            self.late_rows.extend(Asset.objects.filter(
                created_at__gte=late.since, pk__gt=self.late_upto, pk__lte=upto).exclude(
                created_by_integration=self.iid).exclude(pk__in=mine).values_list("id", "name", "customer_id",
                                                                                  "values"))
            self.late_upto = upto
        # assets this run links or updates were already weighed by the plan
        recent = [row for row in self.late_rows if row[0] not in self.targets]
        if not recent:
            return creates
        index = MatchIndex(tuple(k for k, _ in late.rules), late.junk)
        for asset_id, name, customer_id, values in recent:
            for key, _ in late.rules:
                index.add(asset_id, customer_id, key, name if key == "name" else (values or {}).get(key))
            index.describe(asset_id, name, customer_id, values or {})
        kept: list[tuple[Op, actions.NewAsset]] = []
        for op, asset in creates:
            wanted = {"name": asset.name, **asset.values}
            result = match_asset(index, late.rules, wanted, asset.customer_id, set(),
                                 strong={k: str(asset.values.get(k) or "") for k in STRONG_KEYS},
                                 allow_moves=late.allow_moves)
            if result.asset_id is None:
                kept.append((op, asset))
                continue
            op.kind = OpKind.SKIP
            op.reason = DEFERRED.format(what=result.reason)
            if isinstance(op.data, AssetChange):
                op.data.deferred_to = result.asset_id
            else:
                op.data = AssetChange(deferred_to=result.asset_id)
            self.result.deferred += 1
        return kept

    def _refuse_duplicates(self, batch: list[tuple[int, Op]]) -> None:
        """A create from an old preview must not duplicate a device that was imported since."""
        known = self.linked or {}
        linked = {known[op.external_id] for _, op in batch if op.kind is OpKind.CREATE and op.external_id in known}
        if linked and Asset.objects.filter(pk__in=linked).exists():
            existing = set(Asset.objects.filter(pk__in=linked).values_list("pk", flat=True))
            for _, op in batch:
                if op.kind is OpKind.CREATE and known.get(op.external_id) in existing:
                    raise ApplyError(f"'{op.label}' was imported after this preview was made (asset "
                                     f"#{known[op.external_id]}); run the preview again.")

    def _user_for(self, value: Any, customer_id: int) -> int | None:
        user_id = self.optional(value)
        return user_id if user_id is not None and user_id > 0 else None

    def _remember(self, asset: actions.NewAsset, pk: int, op: Op) -> None:
        self.shown.setdefault(asset.asset_type_id, set()).update(asset.values)
        parent = asset_change(op).set.get("parent_external_id")
        if parent:
            self.parents.append((pk, str(parent)))

    def _change(self, asset: Asset, wanted: AssetSet, op: Op) -> set[str]:
        fields: set[str] = set()
        if "name" in wanted:
            asset.name, fields = wanted["name"], fields | {"name"}
        if "asset_type_id" in wanted:
            asset.asset_type_id = self.resolve(wanted["asset_type_id"], "asset type")
            fields.add("asset_type")
        if "site_id" in wanted:
            asset.site_id, asset.customer_id = self._site_of(wanted["site_id"])
            fields |= {"site", "customer"}
        if wanted.get("values"):
            values = dict(wanted["values"])
            if ASSET_TAG in values:  # a column, not a value
                tag = self._free_tag(values.pop(ASSET_TAG), asset.pk, op)
                if tag and tag != asset.asset_tag:
                    asset.asset_tag = tag
                    fields.add("asset_tag")
            if values:
                asset.values = {**asset.values, **values}
                fields.add("values")
        if "end_user_id" in wanted:
            asset.end_user_id = self._user_for(wanted["end_user_id"], asset.customer_id)
            fields.add("end_user")
        if wanted.get("active") is True:
            asset.active = True
            fields.add("active")
        return fields

    def _free_tag(self, value: Any, asset_id: int | None, op: Op) -> str:
        """The asset tag to write: '' when empty or, with unique asset tags (the service-desk setting), when another
        asset has it already — the asset is still imported, without the tag (logged)."""
        tag = str(value or "").strip()[:100]
        if not tag:
            return ""
        if self.unique_tags is None:
            self.unique_tags = ServiceDeskSettings.load().asset_tag_unique
        if not self.unique_tags:
            return tag
        taken = Asset.objects.filter(asset_tag__iexact=tag)
        if asset_id is not None:
            taken = taken.exclude(pk=asset_id)
        if tag.lower() in self.tags_this_run or taken.exists():
            logger.warning("Asset tag '%s' of '%s' is already used by another asset; left empty (asset tags are "
                           "unique).", tag, op.label)
            return ""
        self.tags_this_run.add(tag.lower())
        return tag

    def _link_parents(self) -> None:
        if not self.parents:
            return
        by_external = ref_map(self.iid, "asset")
        wanted = {child: by_external.get(parent) for child, parent in self.parents}
        assets = Asset.objects.in_bulk([c for c, p in wanted.items() if p is not None])
        updates = []
        for child_id, asset in assets.items():
            parent_id = wanted[child_id]
            if parent_id is not None and parent_id != asset.parent_id and parent_id != child_id:
                updates.append((asset, {"parent": [asset.parent_id, parent_id]}))
                asset.parent_id = parent_id
        if updates:
            with transaction.atomic():
                self.result.rows_written += 2 * actions.do_bulk_update_assets(self.actor, updates, ["parent"],
                                                                              source=self.source)

    def _show_fields(self) -> None:
        """Attach every imported field to the asset types that received it, so it shows on those assets."""
        if not self.shown:
            return
        definitions = actions.field_definitions()
        types = AssetType.objects.in_bulk(list(self.shown))
        per_field: dict[str, list[AssetType]] = {}
        for type_id, keys in self.shown.items():
            for key in keys:
                if key in definitions and type_id in types:
                    per_field.setdefault(key, []).append(types[type_id])
        for key, asset_types in per_field.items():
            self.result.rows_written += actions.do_show_field_on_asset_types(self.actor, definitions[key], asset_types)
