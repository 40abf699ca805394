"""The audit trail on detail pages reads in words: object names, field labels, yes/no."""

from __future__ import annotations

from typing import Any

import pytest

from rmmbridge.servicedesk.actions import (
    Actor,
    AssetInput,
    do_create_asset_group,
    do_create_asset_type,
    do_create_customer,
    do_create_field_definition,
    do_create_toplevel,
    do_update_customer,
    do_upsert_asset,
)
from rmmbridge.servicedesk.models import FieldKind

ACTOR = Actor.system("test")


@pytest.mark.django_db
def test_customer_audit_shows_names_not_ids(admin_client: Any) -> None:
    customer = do_create_customer(ACTOR, "Harbourview Dental Ltd")
    do_update_customer(ACTOR, customer, toplevel=do_create_toplevel(ACTOR, "Managed Clients"))
    page = admin_client.get(f"/customers/{customer.pk}/").content.decode()
    assert "Top level: ∅ → Managed Clients" in page
    assert "'repr'" not in page


@pytest.mark.django_db
def test_asset_audit_shows_field_labels(admin_client: Any) -> None:
    customer = do_create_customer(ACTOR, "Kestrel Logistics Inc")
    workstation = do_create_asset_type(ACTOR, "Workstation", do_create_asset_group(ACTOR, "Computers"))
    do_create_field_definition(ACTOR, "warranty_end", label="Warranty end", kind=FieldKind.CUSTOM_FIELD,
                               data_type="date", asset_types=[workstation])
    asset, _ = do_upsert_asset(ACTOR, AssetInput(asset_type=workstation, site=customer.main_site, name="KL-WS01",
                                                 values={"CFwarranty_end": "2027-01-31"}))
    page = admin_client.get(f"/assets/{asset.pk}/").content.decode()
    assert "Warranty end: ∅ → 2027-01-31" in page
    assert "CFwarranty_end:" not in page


@pytest.mark.django_db
def test_sync_audit_ids_read_as_names(admin_client: Any) -> None:
    from rmmbridge.servicedesk.actions import do_create_end_user, record_audit

    customer = do_create_customer(ACTOR, "Kestrel Logistics Inc")
    workstation = do_create_asset_type(ACTOR, "Workstation", do_create_asset_group(ACTOR, "Computers"))
    parent, _ = do_upsert_asset(ACTOR, AssetInput(asset_type=workstation, site=customer.main_site, name="KL-SRV"))
    asset, _ = do_upsert_asset(ACTOR, AssetInput(asset_type=workstation, site=customer.main_site, name="KL-WS02"))
    user = do_create_end_user(ACTOR, customer.main_site, "Alex Morgan")
    # what the sync's bulk writers record: bare ids and booleans
    record_audit(ACTOR, asset, "update", {"parent": [None, parent.pk], "end_user": [None, user.pk],
                                          "active": [True, False], "os_name": [None, None]})
    page = admin_client.get(f"/assets/{asset.pk}/").content.decode()
    assert "Parent asset: ∅ → KL-SRV" in page
    assert "User: ∅ → Alex Morgan" in page
    assert "Status: active → inactive" in page
    assert "∅ → ∅" not in page
    assert f"∅ → {parent.pk}<" not in page
