"""Read the database into the planner's plain data: the settings of an integration and the local snapshot."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import UTC, datetime
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.utils.dateparse import parse_datetime
from django.utils.timezone import is_aware, make_aware

from rmmbridge.integrations.models import ExternalRef, Integration
from rmmbridge.servicedesk.models import (
    Asset,
    AssetType,
    Customer,
    EndUser,
    FieldDefinition,
    FieldKind,
    ServiceDeskSettings,
    Site,
)
from rmmbridge.servicedesk.provenance import writers
from rmmbridge.sync.models import AssetTypeMapping, CustomerMapping, FieldMapping, LinkVeto, SyncConfig
from rmmbridge.sync.plan import (
    DEFAULT_JUNK_VALUES,
    FieldMap,
    FieldPolicy,
    LinkRow,
    LocalAsset,
    LocalAssetType,
    LocalCustomer,
    LocalField,
    LocalRef,
    LocalSite,
    LocalUser,
    Mapping,
    MatchRule,
    MissingAction,
    NewCustomerMode,
    Snapshot,
    SyncSettings,
    TypeMap,
)

#: Assets read per query when the planner asks for the details of changed ones.
LOAD_BATCH = 2000
#: The asset's own tag column, which a field mapping may target like a field (planned as a value).
ASSET_TAG = "asset_tag"
#: Field mappings a vendor's new integrations start with besides the defaults: Automate's asset tag is the serial
#: (servers, workstations) or the router GUID, as Halo saves it (the connector puts it in `fields["asset_tag"]`).
VENDOR_FIELD_MAPPINGS: dict[str, tuple[tuple[str, str], ...]] = {"cw_automate": (("asset_tag", ASSET_TAG),)}
#: Field mappings every new integration starts with (editable; the fields are created at the first import).
DEFAULT_FIELD_MAPPINGS: tuple[tuple[str, str], ...] = (
    ("serial_number", "serial_number"),
    ("manufacturer", "manufacturer"),
    ("model", "model"),
    ("os_name", "operating_system"),
    ("ip_addresses", "ip_addresses"),
    ("mac_addresses", "mac_addresses"),
)


def default_junk_for_new() -> list[str]:
    """The junk list a new integration starts with: the default list under Settings (built-in when empty)."""
    return list(ServiceDeskSettings.load().junk_values or DEFAULT_JUNK_VALUES)


def sync_config(integration: Integration) -> SyncConfig:
    """The integration's SyncConfig, created with defaults (and default field mappings) on first use."""
    config, created = SyncConfig.objects.get_or_create(integration=integration,
                                                       defaults={"junk_values": default_junk_for_new()})
    if created and not FieldMapping.objects.filter(integration=integration).exists():
        FieldMapping.objects.bulk_create([
            FieldMapping(integration=integration, source=source, target=target, create_if_missing=True)
            for source, target in (*DEFAULT_FIELD_MAPPINGS, *VENDOR_FIELD_MAPPINGS.get(integration.vendor, ()))
        ])
    return config


def load_settings(integration: Integration) -> SyncSettings:
    """The integration's configuration as the planner's SyncSettings."""
    config = sync_config(integration)
    vetoes: dict[str, set[int]] = {}
    for external_id, asset_id in LinkVeto.objects.filter(integration=integration).values_list("external_id",
                                                                                               "asset_id"):
        vetoes.setdefault(external_id, set()).add(asset_id)
    return SyncSettings(
        mappings=[Mapping(m.external_id, m.customer_id, m.site_id, m.kind)
                  for m in CustomerMapping.objects.filter(integration=integration)],
        new_customer_mode=NewCustomerMode(config.new_customer_mode),
        toplevel_id=config.toplevel_id,
        one_customer_id=config.one_customer_id,
        match_users=config.match_users,
        link_device_users=config.link_device_users,
        user_source=config.user_source or "last_logged_in_user",
        type_maps=[TypeMap(t.device_type, t.asset_type_id, t.ignore)
                   for t in AssetTypeMapping.objects.filter(integration=integration)],
        type_field=(config.type_field or "").strip(),
        import_types=[str(t) for t in config.import_types or []],
        default_group_id=config.default_group_id,
        field_maps=[FieldMap(f.source, f.target, FieldPolicy(f.policy), f.device_type, f.create_if_missing)
                    for f in FieldMapping.objects.filter(integration=integration)],
        match_rules=[MatchRule(str(r["field"]), bool(r.get("within_customer", False)))
                     for r in config.match_rules or []],
        junk_values=[str(v) for v in config.junk_values or []],
        default_site_id=config.default_site_id,
        child_assets=config.child_assets,
        missing_action=MissingAction(config.missing_action),
        grace_hours=config.grace_hours,
        guard_percent=config.guard_percent,
        allow_customer_moves=config.allow_customer_moves,
        integration_id=int(integration.pk),
        vetoes={k: frozenset(v) for k, v in vetoes.items()},
    )


def load_snapshot(integration_id: int, *, with_assets: bool = True, defer: bool = False) -> Snapshot:
    """Everything local the planner needs, in a handful of queries.

    This integration's asset links are not read here: the snapshot reads them per batch of devices and as a
    stream (see Snapshot). With `defer`, the other assets (those a device may match) are read when the planner
    calls `snap.complete()`, after arming the connector.
    """
    snap = Snapshot()
    main_sites = dict(Site.objects.filter(is_main=True).values_list("customer_id", "id"))
    for cid, name in Customer.objects.values_list("id", "name"):
        snap.customers[cid] = LocalCustomer(cid, name, main_sites.get(cid))
    for sid, customer_id, name, is_main in Site.objects.values_list("id", "customer_id", "name", "is_main"):
        snap.sites[sid] = LocalSite(sid, customer_id, name, is_main)
    for uid, customer_id, site_id, name, email in EndUser.objects.values_list(
        "id", "customer_id", "site_id", "name", "email"
    ):
        snap.users[uid] = LocalUser(uid, customer_id, site_id, name, email)
    for tid, name in AssetType.objects.values_list("id", "name"):
        snap.asset_types[tid] = LocalAssetType(tid, name)
    for definition in FieldDefinition.objects.all():
        snap.fields[definition.key] = LocalField(definition.key, definition.label, definition.data_type,
                                                 tuple(definition.choices or ()))
        if definition.kind == FieldKind.ASSET_FIELD:
            snap.fields.setdefault(definition.name, snap.fields[definition.key])
    snap.fields.setdefault(ASSET_TAG, LocalField(ASSET_TAG, "Asset tag"))
    refs = ExternalRef.objects.filter(integration_id=integration_id)
    for kind, external_id, object_id, fp, missing_since in refs.exclude(kind="asset").values_list(
        "kind", "external_id", "object_id", "fingerprint", "missing_since"
    ):
        snap.refs[(kind, external_id)] = LocalRef(kind, external_id, object_id, fp, missing_since)
    for iid, name, priority in Integration.objects.values_list("id", "name", "sync_config__source_priority"):
        snap.integrations[iid] = (100 if priority is None else int(priority), name)
    snap.linked_any = refs.filter(kind="asset").exists()
    snap.read_links = lambda external_ids: _asset_links(integration_id, external_ids)
    if with_assets:
        snap.load_assets = load_assets
        snap.rest = lambda: _read_rest(snap, integration_id)
    if not defer:
        snap.complete()
    return snap


def _read_rest(snap: Snapshot, integration_id: int) -> None:
    """The deferred part of a snapshot: every asset no link of this integration names, in full (a device may
    match it)."""
    asset_refs = ExternalRef.objects.filter(integration_id=integration_id, kind="asset").values("object_id")
    others: dict[int, list[int]] = {}
    for object_id, iid in ExternalRef.objects.filter(kind="asset").exclude(
            integration_id=integration_id).values_list("object_id", "integration_id"):
        others.setdefault(object_id, []).append(iid)
    for asset in _local_assets(Asset.objects.exclude(id__in=asset_refs)):
        asset.linked = tuple(others.get(asset.id, ()))
        snap.assets[asset.id] = asset


def _asset_links(integration_id: int, external_ids: Collection[str] | None = None) -> Iterator[LinkRow]:
    """(external id, asset id, fingerprint, asset name or None when it was deleted, active, missing since) of each
    asset link, or of those of `external_ids`.

    One join read as the driver returns it: this is most of a no-change resync's reading, and Django's per-value
    converters would cost more than the query (active may come back as 0/1); only a set missing_since, rare, is
    converted (SQLite returns text).
    """
    quote = connection.ops.quote_name
    ref, asset = ExternalRef._meta, Asset._meta

    def col(meta: Any, name: str) -> str:
        return quote(meta.get_field(name).column)

    sql = (f"SELECT r.{col(ref, 'external_id')}, r.{col(ref, 'object_id')}, r.{col(ref, 'fingerprint')}, "
           f"a.{col(asset, 'name')}, a.{col(asset, 'active')}, r.{col(ref, 'missing_since')} "
           f"FROM {quote(ref.db_table)} r LEFT JOIN {quote(asset.db_table)} a ON a.{col(asset, 'id')} = "
           f"r.{col(ref, 'object_id')} WHERE r.{col(ref, 'integration')} = %s AND r.{col(ref, 'kind')} = %s")
    params: list[Any] = [integration_id, "asset"]
    if external_ids is not None:
        if not external_ids:
            return
        sql += f" AND r.{col(ref, 'external_id')} IN ({', '.join(['%s'] * len(external_ids))})"
        params.extend(external_ids)
    # every link at once (a resync's end) streams from a server-side cursor where the database has one
    with (connection.chunked_cursor() if external_ids is None else connection.cursor()) as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(5000):
            for row in rows:
                yield row if row[5] is None else (*row[:5], _aware(row[5]))


def _aware(value: Any) -> datetime:
    """A timestamp column read raw as an aware datetime (SQLite stores naive UTC text)."""
    parsed = value if isinstance(value, datetime) else parse_datetime(str(value))
    if parsed is None:
        raise ValueError(f"unreadable timestamp {value!r} in the database")
    return parsed if is_aware(parsed) else make_aware(parsed, UTC)


def _local_assets(query: QuerySet[Asset]) -> Iterator[LocalAsset]:
    rows = query.values_list("id", "name", "asset_type_id", "site_id", "customer_id", "active", "values",
                             "locally_edited", "end_user_id", "parent_id", "asset_tag", "provenance",
                             "created_by_integration")
    for (aid, name, type_id, site_id, customer_id, active, values, edited, user_id, parent_id, tag, provenance,
         created_by) in rows.iterator(chunk_size=5000):
        current = values or {}
        if tag:  # the asset tag is a column, planned like a value (a field mapping may target `asset_tag`)
            current = {**current, ASSET_TAG: tag}
        yield LocalAsset(aid, name, type_id, site_id, customer_id, active, current, tuple(edited or ()),
                         user_id, parent_id, writers(provenance), created_by)


def load_assets(asset_ids: Collection[int]) -> list[LocalAsset]:
    """Full local assets by id, read in batches (the snapshot's on-demand reader)."""
    ids = list(asset_ids)
    found: list[LocalAsset] = []
    for start in range(0, len(ids), LOAD_BATCH):
        chunk = ids[start:start + LOAD_BATCH]
        linked: dict[int, list[int]] = {}
        for object_id, iid in ExternalRef.objects.filter(kind="asset", object_id__in=chunk).values_list(
                "object_id", "integration_id"):
            linked.setdefault(object_id, []).append(iid)
        for asset in _local_assets(Asset.objects.filter(id__in=chunk)):
            asset.linked = tuple(linked.get(asset.id, ()))
            found.append(asset)
    return found
