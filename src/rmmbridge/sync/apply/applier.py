"""The applier: ops in dependency order, one action per row for the small entities, assets in bulk."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction

from rmmbridge.integrations.models import Integration
from rmmbridge.integrations.refs import RefRow, touch_refs
from rmmbridge.servicedesk import actions
from rmmbridge.servicedesk.actions import Actor
from rmmbridge.servicedesk.models import AssetGroup, AssetType, Customer, EndUser, FieldDefinition, Site, TopLevel
from rmmbridge.sync.apply.assets import AssetApplier
from rmmbridge.sync.apply.base import (
    ORDER,
    WRITING,
    ApplyError,
    ApplyResult,
    LateCheck,
    Progress,
    _message,
    payload,
)
from rmmbridge.sync.models import CustomerMapping
from rmmbridge.sync.payloads import (
    AssetTypeCreate,
    CustomerCreate,
    CustomerLink,
    Entity,
    FieldCreate,
    SiteCreate,
    UserCreate,
)
from rmmbridge.sync.plan import Op, OpKind

#: Rows of the small entities (customers, sites, users...) applied in one transaction, each in a savepoint: a
#: failed row is rolled back alone, and 200 customers cost one commit instead of 200.
ROW_TRANSACTION = 100


class Applier(AssetApplier):
    """Applies ops of one integration in dependency order, mapping the plan's temporary ids to real ones."""

    def __init__(self, integration: Integration, actor: Actor, *, now: datetime | None = None,
                 progress: Progress | None = None, run_id: int | None = None, late: LateCheck | None = None) -> None:
        super().__init__(integration, actor, now=now, progress=progress, run_id=run_id, late=late)
        #: One writer per entity applied row by row (assets go in bulk through `_assets`).
        self.writers: dict[Entity, Callable[[Op], None]] = {
            Entity.FIELDS: self._fields, Entity.ASSET_TYPES: self._asset_types, Entity.CUSTOMERS: self._customers,
            Entity.SITES: self._sites, Entity.USERS: self._users,
        }

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
        parts: dict[Entity, list[tuple[int, Op]]] = {entity: [] for entity in ORDER}
        for index, op in enumerate(ops):  # one pass: a resync of a large estate is mostly unchanged rows
            if op.kind not in WRITING or (op.kind is OpKind.UNCHANGED and not op.has_bookkeeping):
                self.result.applied.add(index)
            elif op.entity in parts:
                parts[op.entity].append((index, op))
        for entity in ORDER:
            part = parts[entity]
            if not part:
                continue
            if entity is Entity.ASSETS:
                self._assets(part)
                continue
            rest = self._customers_in_bulk(part) if entity is Entity.CUSTOMERS else part
            before = len(part) - len(rest)
            if before and self.progress:
                self.progress(entity, before, len(part))
            for start in range(0, len(rest), ROW_TRANSACTION):
                with transaction.atomic():  # each row in a savepoint of its own, one commit for many rows
                    for done, (index, op) in enumerate(rest[start:start + ROW_TRANSACTION], before + start + 1):
                        self._one(index, op)
                        if self.progress:
                            self.progress(entity, done, len(part))
        return self.result

    def _customers_in_bulk(self, part: list[tuple[int, Op]]) -> list[tuple[int, Op]]:
        """Create the new customers of `part` together (with their main sites, audit entries and links, in one
        savepoint) and return the rows left to apply one at a time. When the batch is refused — a name taken,
        perhaps by another sync just now — nothing of it is kept and its rows go one at a time too, which reads a
        taken customer back and says so. One by one, a customer costs about a dozen statements (two
        savepoints, the name check, two inserts, two audit entries, its main site read back, its links); together, a
        batch costs about as many in all: a 100k-device first sync spent ~0.9 s on its 200 customers."""
        creates = [(index, op) for index, op in part if op.kind is OpKind.CREATE and isinstance(op.data,
                                                                                              CustomerCreate)]
        if len(creates) < 2:
            return part
        data = [payload(op, CustomerCreate) for _, op in creates]  # rows without their data fail alone, one by one
        written = self.result.rows_written
        try:
            with transaction.atomic():
                ids = actions.do_bulk_create_customers(self.actor, [(d.name, d.toplevel_id) for d in data])
                refs: list[RefRow] = []
                for (_, op), created, (customer_id, site_id) in zip(creates, data, ids, strict=True):
                    refs.append(RefRow("customer", op.external_id, customer_id, op.fingerprint))
                    if created.site_external_id:
                        refs.append(RefRow("site", created.site_external_id, site_id, op.fingerprint))
                self._refs(refs)
        except (ValidationError, DatabaseError):
            self.result.rows_written = written
            return part
        for (index, _), created, (customer_id, site_id) in zip(creates, data, ids, strict=True):
            self.temp[created.temp_id], self.temp[created.main_site_temp_id] = customer_id, site_id
            self.result.applied.add(index)
        self.result.rows_written += 2 * len(ids)  # each customer and its main site (the links are counted)
        done = {index for index, _ in creates}
        return [(index, op) for index, op in part if index not in done]

    def _one(self, index: int, op: Op) -> None:
        try:
            with transaction.atomic():
                self.writers[op.entity](op)
        except (ApplyError, ValidationError, DatabaseError, ValueError) as exc:
            self.result.errors[index] = _message(exc)
        else:
            self.result.applied.add(index)


    def _fields(self, op: Op) -> None:
        if op.kind is not OpKind.CREATE:
            return
        data = payload(op, FieldCreate)

        def existing() -> FieldDefinition | None:
            return FieldDefinition.objects.filter(kind=data.kind, name__iexact=data.name).first()

        self._shared(op, "field", lambda: actions.do_create_field_definition(
            self.actor, data.name, label=data.label, kind=data.kind), existing)

    def _asset_types(self, op: Op) -> None:
        if op.kind is not OpKind.CREATE:
            return
        data = payload(op, AssetTypeCreate)
        name = " ".join(data.name.split())

        def existing() -> AssetType | None:
            return AssetType.objects.filter(name__iexact=name).first()

        group_id = data.group_id
        group = AssetGroup.objects.filter(pk=int(group_id)).first() if group_id else None
        if group is None:
            group_name = " ".join((data.group_name or "RMM devices").split())

            def existing_group() -> AssetGroup | None:
                return AssetGroup.objects.filter(name__iexact=group_name).first()

            group = existing_group() or self._shared(  # the first new type of a run creates the group
                op, "asset group", lambda: actions.do_create_asset_group(self.actor, group_name), existing_group)
        chosen: AssetGroup = group
        asset_type = self._shared(op, "asset type", lambda: actions.do_create_asset_type(self.actor, name, chosen),
                                  existing)
        self.temp[data.temp_id] = asset_type.pk

    def _customers(self, op: Op) -> None:
        if op.kind is OpKind.UNCHANGED:
            return
        refs: list[RefRow] = []
        site_id: int | None
        if op.kind is OpKind.CREATE:
            created = payload(op, CustomerCreate)
            site_external = created.site_external_id
            name = " ".join(created.name.split())
            toplevel = created.toplevel_id
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
            self.temp[created.temp_id] = customer.pk
            self.temp[created.main_site_temp_id] = main.pk
            customer_id, site_id = int(customer.pk), int(main.pk)
        elif op.kind is OpKind.LINK:
            customer_id = self.resolve(op.target_id, "customer")
            if not Customer.objects.filter(pk=customer_id).exists():
                raise ApplyError(f"Customer #{customer_id} no longer exists; run the preview again.")
            link = op.data if isinstance(op.data, CustomerLink) else CustomerLink(None, None)
            site_external = link.site_external_id
            site_id = self.optional(link.site_id)
            if link.add_mapping:
                CustomerMapping.objects.get_or_create(
                    integration=self.integration, kind="customer", external_id=op.external_id,
                    defaults={"customer_id": customer_id, "external_name": op.label[:255]})
                self.result.rows_written += 1
        else:
            return
        refs.append(RefRow("customer", op.external_id, customer_id, op.fingerprint))
        if site_external and site_id is not None:
            refs.append(RefRow("site", site_external, site_id, op.fingerprint))
        self._refs(refs)

    def _sites(self, op: Op) -> None:
        if op.kind is OpKind.CREATE:
            data = payload(op, SiteCreate)
            customer = Customer.objects.get(pk=self.resolve(data.customer_id, "customer"))
            name = " ".join(data.name.split())

            def existing() -> Site | None:
                return Site.objects.filter(customer=customer, name__iexact=name).first()

            site = existing() or self._shared(op, "site", lambda: actions.do_create_site(
                self.actor, customer, name), existing)
            self.temp[data.temp_id] = site.pk
            self._refs([RefRow("site", op.external_id, site.pk, op.fingerprint)])
        elif op.kind is OpKind.LINK:
            self._refs([RefRow("site", op.external_id, self.resolve(op.target_id, "site"), op.fingerprint)])

    def _users(self, op: Op) -> None:
        if op.kind is OpKind.CREATE:
            created = payload(op, UserCreate)
            site = Site.objects.get(pk=self.resolve(created.site_id, "site"))
            user = actions.do_create_end_user(self.actor, site, created.name, email=created.email)
            self.temp[created.temp_id] = user.pk
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


def apply_ops(integration: Integration, ops: Sequence[Op], actor: Actor, *, now: datetime | None = None,
              progress: Progress | None = None, run_id: int | None = None,
              late: LateCheck | None = None) -> ApplyResult:
    """Apply ops in dependency order; bad items are reported in result.errors and skipped."""
    return Applier(integration, actor, now=now, progress=progress, run_id=run_id, late=late).run(ops)
