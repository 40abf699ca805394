"""Read the database into the planner's plain data: the settings of an integration and the local snapshot."""

from __future__ import annotations

from rmmbridge.integrations.models import Integration
from rmmbridge.integrations.refs import refs_of
from rmmbridge.servicedesk.models import Asset, AssetType, Customer, EndUser, FieldDefinition, FieldKind, Site
from rmmbridge.sync.models import AssetTypeMapping, CustomerMapping, FieldMapping, SyncConfig
from rmmbridge.sync.plan import (
    FieldMap,
    FieldPolicy,
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

#: Field mappings every new integration starts with (editable; the fields are created at the first import).
DEFAULT_FIELD_MAPPINGS: tuple[tuple[str, str], ...] = (
    ("serial_number", "serial_number"),
    ("manufacturer", "manufacturer"),
    ("model", "model"),
    ("os_name", "operating_system"),
    ("ip_addresses", "ip_addresses"),
    ("mac_addresses", "mac_addresses"),
)


def sync_config(integration: Integration) -> SyncConfig:
    """The integration's SyncConfig, created with defaults (and default field mappings) on first use."""
    config, created = SyncConfig.objects.get_or_create(integration=integration)
    if created and not FieldMapping.objects.filter(integration=integration).exists():
        FieldMapping.objects.bulk_create([
            FieldMapping(integration=integration, source=source, target=target, create_if_missing=True)
            for source, target in DEFAULT_FIELD_MAPPINGS
        ])
    return config


def load_settings(integration: Integration) -> SyncSettings:
    """The integration's configuration as the planner's SyncSettings."""
    config = sync_config(integration)
    return SyncSettings(
        mappings=[Mapping(m.external_id, m.customer_id, m.site_id)
                  for m in CustomerMapping.objects.filter(integration=integration)],
        new_customer_mode=NewCustomerMode(config.new_customer_mode),
        toplevel_id=config.toplevel_id,
        one_customer_id=config.one_customer_id,
        match_users=config.match_users,
        link_device_users=config.link_device_users,
        user_source=config.user_source or "last_logged_in_user",
        type_maps=[TypeMap(t.device_type, t.asset_type_id, t.ignore)
                   for t in AssetTypeMapping.objects.filter(integration=integration)],
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
    )


def load_snapshot(integration_id: int, *, with_assets: bool = True) -> Snapshot:
    """Everything local the planner needs, in a handful of queries."""
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
    if with_assets:
        rows = Asset.objects.values_list("id", "name", "asset_type_id", "site_id", "customer_id", "active", "values",
                                         "locally_edited", "end_user_id", "parent_id")
        for aid, name, type_id, site_id, customer_id, active, values, edited, user_id, parent_id in rows.iterator(
            chunk_size=5000
        ):
            snap.assets[aid] = LocalAsset(aid, name, type_id, site_id, customer_id, active, values or {},
                                          tuple(edited or ()), user_id, parent_id)
    for ref in refs_of(integration_id):
        snap.refs[(ref.kind, ref.external_id)] = LocalRef(ref.kind, ref.external_id, ref.object_id, ref.fingerprint,
                                                          ref.missing_since)
    return snap
