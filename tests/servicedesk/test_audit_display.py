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
