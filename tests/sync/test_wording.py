"""The preview in words: field labels, names with their customer, user names, active/inactive, no empty rows."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from tests.servicedesk.factories import ACTOR, AssetTypeFactory

from rmmbridge.integrations import actions
from rmmbridge.servicedesk.actions import (
    AssetInput,
    do_create_customer,
    do_create_end_user,
    do_create_field_definition,
    do_upsert_asset,
)
from rmmbridge.sync.models import SyncRun


def test_preview_rows_read_in_words(admin_client: Any, db: Any) -> None:
    integration = actions.do_create_integration(ACTOR, "datto_rmm", "Wording", {
        "api_url": "http://127.0.0.1:9", "api_key": "k", "api_secret": "s"}, test=False)
    customer = do_create_customer(ACTOR, "Kestrel Logistics Inc")
    site = customer.main_site
    user = do_create_end_user(ACTOR, site, "Alex Morgan", email="alex@kestrel.example")
    workstation = AssetTypeFactory(name="Workstation")
    do_create_field_definition(ACTOR, "serial_number", label="Serial number", asset_types=[workstation])
    asset, _ = do_upsert_asset(ACTOR, AssetInput(asset_type=workstation, site=site, name="WS-1", values={}))
    run = SyncRun.objects.create(integration=integration, dry_run=True, started_at=timezone.now(), status="planned")
    run.rows.create(position=0, entity="assets", kind="update", external_id="d-1", label="WS-1", reason="r",
                    op={"target_id": asset.pk, "changes": {
                        "end_user": [None, user.pk], "active": [True, False], "serial_number": [None, "SN-1"],
                        "site": ["Main", "Main"], "os_name": [None, None]}, "data": {"set": {}}})
    run.rows.create(position=1, entity="sites", kind="create", external_id="s-9", label="Depot 1", reason="new",
                    op={"changes": {}, "data": {"customer_id": customer.pk, "name": "Depot 1"}})
    run.rows.create(position=2, entity="assets", kind="create", external_id="d-2", label="WS-2", reason="r",
                    op={"changes": {"name": [None, "WS-2"], "site": [None, "Main"]},
                        "data": {"set": {"site_id": site.pk, "values": {"serial_number": "SN-2", "model": None}}}})
    html = admin_client.get(f"/sync/runs/{run.pk}/").content.decode()
    assert "User: — → Alex Morgan (alex@kestrel.example)" in html
    assert "Status: active → inactive" in html
    assert "Serial number: — → SN-1" in html
    assert "Site: — → Kestrel Logistics Inc / Main" in html
    assert "Kestrel Logistics Inc / Depot 1" in html
    assert "Serial number: — → SN-2" in html
    assert "— → —" not in html
    assert "end_user" not in html
    assert "True → False" not in html
    assert html.count("Site: ") == 1  # the unchanged site of the update says nothing
