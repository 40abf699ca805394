"""In a real browser: log in, filter the asset list (HTMX, no full reload), open an asset, see its fields."""

from __future__ import annotations

from typing import Any

import pytest
from tests.servicedesk.factories import ACTOR, AssetTypeFactory, CustomerFactory

from rmmbridge.servicedesk.actions import AssetInput, do_create_field_definition, do_upsert_asset

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def estate() -> dict[str, Any]:
    workstation = AssetTypeFactory(name="Workstation")
    printer = AssetTypeFactory(name="Printer")
    do_create_field_definition(ACTOR, "serial_number", label="Serial number", asset_types=[workstation, printer])
    do_create_field_definition(ACTOR, "warranty_end", label="Warranty end", kind="custom_field", data_type="date",
                               asset_types=[workstation])
    acme, beta = CustomerFactory(name="Acme Dental"), CustomerFactory(name="Beta Freight")
    for i in range(6):
        for customer in (acme, beta):
            do_upsert_asset(ACTOR, AssetInput(
                asset_type=workstation if i % 2 else printer, site=customer.main_site,
                name=f"{customer.name[:4].upper()}-{i:02d}", asset_tag=f"{customer.name[:1]}{i:03d}",
                values={"serial_number": f"SN-{customer.name[:1]}-{i:04d}", "CFwarranty_end": "2027-05-31"}
                if i % 2 else {"serial_number": f"SN-{customer.name[:1]}-{i:04d}"},
            ))
    return {"acme": acme, "beta": beta}


def test_filter_asset_list_then_open_an_asset(page: Any, live_server: Any, estate: dict[str, Any]) -> None:
    from playwright.sync_api import expect

    page.click("nav >> text=Assets")
    expect(page.locator("h1")).to_have_text("Assets")
    rows = page.locator("#asset-table tbody tr")
    expect(rows).to_have_count(12)
    page.evaluate("window.__notReloaded = true")

    page.select_option("select[name=customer]", label="Beta Freight")
    expect(rows).to_have_count(6)
    expect(page.locator("#asset-table")).not_to_contain_text("ACME-")
    expect(page.locator("#site-filter option")).to_have_text(["All sites", "Beta Freight / Main"])
    page.select_option("select[name=type]", label="Workstation")
    expect(rows).to_have_count(3)
    page.fill("#asset-search", "SN-B-0003")
    expect(rows).to_have_count(1)
    assert page.evaluate("window.__notReloaded") is True  # filtered in place by HTMX
    assert "customer=" in page.url
    assert "q=SN-B-0003" in page.url

    page.click("#asset-table >> text=BETA-03")
    expect(page.locator("h1")).to_have_text("BETA-03")
    fields = page.locator("#asset-fields")
    expect(fields.locator("tr[data-key=serial_number] th")).to_have_text("Serial number")
    expect(fields.locator("tr[data-key=serial_number] td").first).to_have_text("SN-B-0003")  # then its source
    expect(page.locator("#custom-fields tr[data-key=CFwarranty_end] td").first).to_have_text("2027-05-31")
    expect(page.locator("main")).to_contain_text("Beta Freight")


def test_new_asset_keeps_the_typed_name_when_showing_fields(page: Any, estate: dict[str, Any]) -> None:
    from playwright.sync_api import expect

    page.goto("/assets/new/")
    page.fill("input[name=name]", "WS-TYPED-1")
    page.fill("input[name=asset_tag]", "TAG-77")
    page.select_option("select[name=asset_type]", label="Workstation")
    page.get_by_role("button", name="Show fields").click()
    expect(page.locator("input[name=value__serial_number]")).to_be_visible()
    expect(page.locator("input[name=name]")).to_have_value("WS-TYPED-1")
    expect(page.locator("input[name=asset_tag]")).to_have_value("TAG-77")
    page.select_option("select[name=site]", index=1)
    page.fill("input[name=value__serial_number]", "SN-TYPED")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("h1")).to_have_text("WS-TYPED-1")
