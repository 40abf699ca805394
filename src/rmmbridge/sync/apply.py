"""Apply a plan: transactional batches through the service-desk actions, bulk writes, bad items skipped."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction

from rmmbridge.common.clock import utcnow
from rmmbridge.integrations.models import ExternalRef, Integration
from rmmbridge.integrations.refs import RefRow, create_refs, delete_refs, mark_missing, ref_map, touch_refs, upsert_refs
from rmmbridge.servicedesk import actions
from rmmbridge.servicedesk.actions import Actor
from rmmbridge.servicedesk.models import (
    Asset,
    AssetGroup,
    AssetType,
    Customer,
    EndUser,
    FieldDefinition,
    ServiceDeskSettings,
    Site,
    TopLevel,
)
from rmmbridge.servicedesk.provenance import SYNC, Source
from rmmbridge.sync.matching import STRONG_KEYS, MatchIndex, junk_set, match_asset
from rmmbridge.sync.models import CustomerMapping
from rmmbridge.sync.plan import Op, OpKind, SyncSettings

logger = logging.getLogger("rmmbridge.sync")
#: A field mapping targeting the asset's own tag column (see snapshot.ASSET_TAG).
ASSET_TAG = "asset_tag"

ORDER = ("fields", "asset_types", "customers", "sites", "users", "assets")
ASSET_BATCH = 1000
WRITING = frozenset({OpKind.CREATE, OpKind.UPDATE, OpKind.LINK, OpKind.UNLINK, OpKind.DEACTIVATE,
                     OpKind.REACTIVATE, OpKind.UNCHANGED})
Progress = Callable[[str, int, int], None]
RACED = "; it was created meanwhile (by another sync or a person), so this run used that {what} (#{pk})"


#: PostgreSQL advisory lock key held while a batch checks for late matches and inserts its new assets.
CREATE_LOCK = 0x726D6D62  # "rmmb"
DEFERRED = ("deferred: {what} — an asset another sync created while this one ran; it is linked at the next run "
            "(nothing created)")


@dataclass(frozen=True)
class LateCheck:
    """Matching rules for the last check before assets are created: an asset another integration created since
    `since` (after this run read its snapshot) that a new device matches defers that device to the next run."""

    since: datetime
    rules: tuple[tuple[str, bool], ...]
    junk: frozenset[str]
    allow_moves: bool = False

    @classmethod
    def of(cls, settings: SyncSettings, since: datetime) -> LateCheck:
        return cls(since, tuple((r.field, r.within_customer) for r in settings.match_rules),
                   junk_set(settings.junk_values), settings.allow_customer_moves)


class ApplyError(Exception):
    """One operation cannot be applied; the message says what to fix."""


@dataclass
class ApplyResult:
    """Which ops were applied, which failed (index → message), and how many rows were written."""

    applied: set[int] = field(default_factory=set)
    errors: dict[int, str] = field(default_factory=dict)
    rows_written: int = 0
    deferred: int = 0


def _has_bookkeeping(op: Op) -> bool:
    """An unchanged record that still needs its link updated (fingerprint, missing mark)."""
    return bool(op.data.get("mark_missing") or op.data.get("refresh_fingerprint") or op.data.get("clear_missing"))


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(exc.messages)
    return str(exc) or type(exc).__name__


class Applier:
    """Applies ops of one integration in dependency order, mapping the plan's temporary ids to real ones."""

    def __init__(self, integration: Integration, actor: Actor, *, now: datetime | None = None,
                 progress: Progress | None = None, run_id: int | None = None, late: LateCheck | None = None) -> None:
        self.late = late
        self.integration = integration
        self.iid = int(integration.pk)
        self.actor = actor
        self.now = now or utcnow()
        #: Every value this run writes records it as its source (integration, run, time).
        self.source = Source(SYNC, integration.name, self.iid, run_id, self.now.isoformat(timespec="seconds"))
        self.progress = progress
        self.temp: dict[int, int] = {}
        self.result = ApplyResult()
        self.site_customer: dict[int, int] = {}
        self.unique_tags: bool | None = None
        self.tags_this_run: set[str] = set()
        self.targets: set[int] = set()
        #: A streamed run (`run_batch`): links are read once, parents and shown fields wait for `finish`.
        self.streaming = False
        self.linked: dict[str, int] | None = None
        self.parents: list[tuple[int, str]] = []
        self.shown: dict[int, set[str]] = {}

    def resolve(self, value: Any, what: str) -> int:
        if value is None:
            raise ApplyError(f"No {what} was planned for this row.")
        number = int(value)
        if number >= 0:
            return number
        if number not in self.temp:
            raise ApplyError(f"Its {what} is created by another row of this plan that was not applied: "
                             "apply that row too (customers and sites first).")
        return self.temp[number]

    def optional(self, value: Any) -> int | None:
        if value is None:
            return None
        number = int(value)
        return number if number >= 0 else self.temp.get(number)

    def run_batch(self, ops: Sequence[Op]) -> ApplyResult:
        """Apply one batch of a streamed run (its own result, indices into `ops`); call `finish` after the last.

        The run's state carries over: temporary ids, the links read at the first create, tags taken, and the
        parents and shown fields, which `finish` links and attaches once every batch is in."""
        self.streaming = True
        self.result = ApplyResult()
        return self.run(ops)

    def finish(self) -> int:
        """End a streamed run: link child assets to their parents and show imported fields; returns rows written."""
        self.result = ApplyResult()
        self._link_parents()
        self._show_fields()
        return self.result.rows_written

    def run(self, ops: Sequence[Op]) -> ApplyResult:
        parts: dict[str, list[tuple[int, Op]]] = {entity: [] for entity in ORDER}
        for index, op in enumerate(ops):  # one pass: a resync of a large estate is mostly unchanged rows
            if op.kind not in WRITING or (op.kind is OpKind.UNCHANGED and not _has_bookkeeping(op)):
                self.result.applied.add(index)
            elif op.entity in parts:
                parts[op.entity].append((index, op))
        for entity in ORDER:
            part = parts[entity]
            if not part:
                continue
            if entity == "assets":
                self._assets(part)
            else:
                for done, (index, op) in enumerate(part, 1):
                    self._one(index, op)
                    if self.progress:
                        self.progress(entity, done, len(part))
        return self.result

    def _one(self, index: int, op: Op) -> None:
        try:
            with transaction.atomic():
                getattr(self, f"_{op.entity}")(op)
        except (ApplyError, ValidationError, DatabaseError, ValueError) as exc:
            self.result.errors[index] = _message(exc)
        else:
            self.result.applied.add(index)

    def _refs(self, rows: list[RefRow]) -> None:
        self.result.rows_written += upsert_refs(self.iid, rows, now=self.now)

    # Small entities: one action per row ------------------------------------------------------------

    def _shared(self, op: Op | None, what: str, create: Callable[[], Any], existing: Callable[[], Any]) -> Any:
        """Create a shared record (case-insensitive unique name) in a savepoint; when another sync created it
        first, its create hits the unique constraint (or the action's own check): read that record back, use it,
        and say so in the row's reason."""
        try:
            with transaction.atomic():
                record = create()
        except (IntegrityError, ValidationError):
            record = existing()
            if record is None:
                raise
            if op is not None:
                op.reason = f"{op.reason}{RACED.format(what=what, pk=record.pk)}"
            return record
        self.result.rows_written += 1
        return record

    def _fields(self, op: Op) -> None:
        if op.kind is not OpKind.CREATE:
            return

        def existing() -> FieldDefinition | None:
            return FieldDefinition.objects.filter(kind=op.data["kind"], name__iexact=op.data["name"]).first()

        self._shared(op, "field", lambda: actions.do_create_field_definition(
            self.actor, op.data["name"], label=op.data["label"], kind=op.data["kind"]), existing)

    def _asset_types(self, op: Op) -> None:
        if op.kind is not OpKind.CREATE:
            return
        name = " ".join(str(op.data["name"]).split())

        def existing() -> AssetType | None:
            return AssetType.objects.filter(name__iexact=name).first()

        group_id = op.data.get("group_id")
        group = AssetGroup.objects.filter(pk=int(group_id)).first() if group_id else None
        if group is None:
            group_name = " ".join(str(op.data.get("group_name") or "RMM devices").split())

            def existing_group() -> AssetGroup | None:
                return AssetGroup.objects.filter(name__iexact=group_name).first()

            group = existing_group() or self._shared(  # the first new type of a run creates the group
                op, "asset group", lambda: actions.do_create_asset_group(self.actor, group_name), existing_group)
        chosen: AssetGroup = group
        asset_type = self._shared(op, "asset type", lambda: actions.do_create_asset_type(self.actor, name, chosen),
                                  existing)
        self.temp[int(op.data["temp_id"])] = asset_type.pk

    def _customers(self, op: Op) -> None:
        if op.kind is OpKind.UNCHANGED:
            return
        refs: list[RefRow] = []
        site_id: int | None
        if op.kind is OpKind.CREATE:
            name = " ".join(str(op.data["name"]).split())
            toplevel = op.data.get("toplevel_id")
            written = self.result.rows_written

            def existing() -> Customer | None:
                return Customer.objects.filter(name__iexact=name).first()

            customer: Customer = self._shared(op, "customer", lambda: actions.do_create_customer(
                self.actor, name, toplevel=TopLevel.objects.filter(pk=toplevel).first() if toplevel else None),
                existing)
            main = customer.sites.filter(is_main=True).first() or customer.sites.order_by("pk").first()
            if main is None:
                raise ApplyError(f"Customer '{customer.name}' has no site; give it a main site and run again.")
            if self.result.rows_written > written:
                self.result.rows_written += 1  # its main site
            else:  # another sync's customer: remember the link as a name match would
                _, added = CustomerMapping.objects.get_or_create(
                    integration=self.integration, kind="customer", external_id=op.external_id,
                    defaults={"customer_id": customer.pk, "external_name": op.label[:255]})
                self.result.rows_written += int(added)
            self.temp[int(op.data["temp_id"])] = customer.pk
            self.temp[int(op.data["main_site_temp_id"])] = main.pk
            customer_id, site_id = int(customer.pk), int(main.pk)
        elif op.kind is OpKind.LINK:
            customer_id = self.resolve(op.target_id, "customer")
            if not Customer.objects.filter(pk=customer_id).exists():
                raise ApplyError(f"Customer #{customer_id} no longer exists; run the preview again.")
            site_id = self.optional(op.data.get("site_id"))
            if op.data.get("add_mapping"):
                CustomerMapping.objects.get_or_create(
                    integration=self.integration, kind="customer", external_id=op.external_id,
                    defaults={"customer_id": customer_id, "external_name": op.label[:255]})
                self.result.rows_written += 1
        else:
            return
        refs.append(RefRow("customer", op.external_id, customer_id, op.fingerprint))
        if op.data.get("site_external_id") and site_id is not None:
            refs.append(RefRow("site", str(op.data["site_external_id"]), site_id, op.fingerprint))
        self._refs(refs)

    def _sites(self, op: Op) -> None:
        if op.kind is OpKind.CREATE:
            customer = Customer.objects.get(pk=self.resolve(op.data["customer_id"], "customer"))
            name = " ".join(str(op.data["name"]).split())

            def existing() -> Site | None:
                return Site.objects.filter(customer=customer, name__iexact=name).first()

            site = existing() or self._shared(op, "site", lambda: actions.do_create_site(
                self.actor, customer, name), existing)
            self.temp[int(op.data["temp_id"])] = site.pk
            self._refs([RefRow("site", op.external_id, site.pk, op.fingerprint)])
        elif op.kind is OpKind.LINK:
            self._refs([RefRow("site", op.external_id, self.resolve(op.target_id, "site"), op.fingerprint)])

    def _users(self, op: Op) -> None:
        if op.kind is OpKind.CREATE:
            site = Site.objects.get(pk=self.resolve(op.data["site_id"], "site"))
            user = actions.do_create_end_user(self.actor, site, op.data["name"], email=op.data.get("email", ""))
            self.temp[int(op.data["temp_id"])] = user.pk
            self.result.rows_written += 1
            self._refs([RefRow("end_user", op.external_id, user.pk, op.fingerprint)])
        elif op.kind is OpKind.LINK:
            self._refs([RefRow("end_user", op.external_id, self.resolve(op.target_id, "user"), op.fingerprint)])
        elif op.kind is OpKind.UPDATE:
            user = EndUser.objects.get(pk=int(op.target_id or 0))
            actions.do_update_end_user(self.actor, user, **{k: v[1] for k, v in op.changes.items()})
            self.result.rows_written += 1
            self.result.rows_written += touch_refs(self.iid, "end_user", {op.external_id: op.fingerprint},
                                                   now=self.now)

    # Assets: the hot path, in bulk ---------------------------------------------------------------------

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
            wanted: dict[str, Any] = op.data.get("set", {})
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
                if op.data.get("clear_missing"):
                    clear.append(op.external_id)
            elif op.kind is OpKind.DEACTIVATE:
                deactivate.append(int(op.target_id or 0))
                if op.data.get("mark_missing"):
                    missing.append(op.external_id)
            elif op.kind is OpKind.UNLINK:
                unlink.append(op.external_id)
            elif op.kind is OpKind.UNCHANGED:
                if op.data.get("mark_missing"):
                    missing.append(op.external_id)
                if op.data.get("refresh_fingerprint") or op.data.get("clear_missing"):
                    fingerprints[op.external_id] = op.fingerprint
                if op.data.get("clear_missing"):
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
            if op.kind in (OpKind.UPDATE, OpKind.LINK, OpKind.REACTIVATE) and op.data.get("set", {}).get(
                    "parent_external_id"):
                self.parents.append((int(op.target_id or 0), op.data["set"]["parent_external_id"]))
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
        mine = ExternalRef.objects.filter(integration_id=self.iid, kind="asset").values("object_id")
        recent = [row for row in Asset.objects.filter(created_at__gte=late.since).exclude(
            created_by_integration=self.iid).exclude(pk__in=mine).values_list("id", "name", "customer_id", "values")
            if row[0] not in self.targets]  # assets this run links or updates were already weighed by the plan
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
            op.data["deferred_to"] = result.asset_id
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
        parent = op.data.get("set", {}).get("parent_external_id")
        if parent:
            self.parents.append((pk, str(parent)))

    def _change(self, asset: Asset, wanted: dict[str, Any], op: Op) -> set[str]:
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


def apply_ops(integration: Integration, ops: Sequence[Op], actor: Actor, *, now: datetime | None = None,
              progress: Progress | None = None, run_id: int | None = None,
              late: LateCheck | None = None) -> ApplyResult:
    """Apply ops in dependency order; bad items are reported in result.errors and skipped."""
    return Applier(integration, actor, now=now, progress=progress, run_id=run_id, late=late).run(ops)
