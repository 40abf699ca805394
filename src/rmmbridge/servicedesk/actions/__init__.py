"""The one write layer for service-desk objects: every function validates and records an audit entry."""

from __future__ import annotations

from rmmbridge.servicedesk.actions.assets import (
    AssetInput,
    NewAsset,
    actor_source,
    do_bulk_create_assets,
    do_bulk_insert_assets,
    do_bulk_set_assets_active,
    do_bulk_update_assets,
    do_restore_asset_fields,
    do_set_asset_active,
    do_upsert_asset,
)
from rmmbridge.servicedesk.actions.core import (
    PERSON_SOURCES,
    Actor,
    record_audit,
    record_audit_many,
    record_audit_rows,
)
from rmmbridge.servicedesk.actions.fields import (
    do_create_asset_group,
    do_create_asset_type,
    do_create_field_definition,
    do_show_field_on_asset_types,
    field_definitions,
    validate_values,
)
from rmmbridge.servicedesk.actions.organisations import (
    do_bulk_create_customers,
    do_create_customer,
    do_create_end_user,
    do_create_site,
    do_create_toplevel,
    do_delete_site,
    do_set_main_site,
    do_update_customer,
    do_update_end_user,
    do_update_site,
)
from rmmbridge.servicedesk.actions.settings import (
    do_update_settings,
)

__all__ = [
    "PERSON_SOURCES",
    "Actor",
    "AssetInput",
    "NewAsset",
    "actor_source",
    "do_bulk_create_assets",
    "do_bulk_create_customers",
    "do_bulk_insert_assets",
    "do_bulk_set_assets_active",
    "do_bulk_update_assets",
    "do_create_asset_group",
    "do_create_asset_type",
    "do_create_customer",
    "do_create_end_user",
    "do_create_field_definition",
    "do_create_site",
    "do_create_toplevel",
    "do_delete_site",
    "do_restore_asset_fields",
    "do_set_asset_active",
    "do_set_main_site",
    "do_show_field_on_asset_types",
    "do_update_customer",
    "do_update_end_user",
    "do_update_settings",
    "do_update_site",
    "do_upsert_asset",
    "field_definitions",
    "record_audit",
    "record_audit_many",
    "record_audit_rows",
    "validate_values",
]
