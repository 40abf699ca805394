"""In a real browser: the seed workflow (connect, test, map by picking from the RMM's lists, preview, apply)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from rmmbridge.integrations.models import Integration
from rmmbridge.integrator import embedded
from rmmbridge.servicedesk.actions import (
    Actor,
    do_create_asset_group,
    do_create_asset_type,
    do_create_customer,
    do_create_site,
)
from rmmbridge.servicedesk.models import Customer, FieldDefinition
from rmmbridge.sync.models import AssetTypeMapping, CustomerMapping, FieldMapping

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def automate() -> Iterator[Any]:
    from rmmbridge.connectors.testing.server import serve_emulator

    with serve_emulator("cw_automate", seed=14, customers=3, devices=12, alerts=0) as emulator:
        yield emulator


@pytest.fixture
def workers() -> Iterator[None]:
    embedded.start(scheduler=False, workers=1)
    yield
    embedded.stop()


def _dialog_error(page: Any, field: str) -> str:
    """The message the server put next to one field of the open mapping dialog."""
    error = page.locator(f"#mapping-dialog label[data-field={field}] .field-error")
    error.first.wait_for()
    return str(error.first.inner_text())


def _choose(page: Any, select: str, label: str) -> None:
    """Pick an option whose change reloads the dialog (dependent lists), and wait for the reload."""
    with page.expect_response(lambda r: "/mappings/" in r.url and r.request.method == "GET"):
        page.locator(f"#mapping-dialog select[name={select}]").select_option(label=label)
    from playwright.sync_api import expect

    # a locator wait, not wait_for_function: the Content-Security-Policy forbids the eval it would need
    expect(page.locator(".htmx-request, .htmx-settling, .htmx-swapping")).to_have_count(0)


def test_seed_workflow_without_typed_ids(page: Any, automate: Any, workers: None) -> None:
    from playwright.sync_api import expect

    state = automate.state
    rmm_customer, rmm_site = state.customers[0], state.sites[-1]
    assert rmm_site.customer_id != rmm_customer.id
    rmm_site_customer = next(c for c in state.customers if c.id == rmm_site.customer_id)
    local = do_create_customer(Actor.cli(), "Harbourview Dental Ltd")
    depot = do_create_site(Actor.cli(), local, "Depot 1")
    do_create_asset_type(Actor.cli(), "Workstation", do_create_asset_group(Actor.cli(), "Computers"))

    # Connect: a wrong password is refused inside the dialog, the right one saves and tests green.
    page.goto("/integrations/")
    page.get_by_role("button", name="Enable ConnectWise Automate").click()
    page.get_by_role("button", name="Add ConnectWise Automate integration").click()
    dialog = page.locator("dialog#add-cw_automate")
    dialog.locator("input[name='cw_automate-integration_name']").fill("Automate Seed")
    creds = dict(automate.credentials)
    for key, value in creds.items():
        dialog.locator(f"input[name='cw_automate-{key}']").fill(value)
    dialog.locator("input[name='cw_automate-server_url']").fill("http://automate.example.com")
    dialog.get_by_role("button", name="Test and save").click()
    field_error = dialog.locator("label[for='id_cw_automate-server_url'] .error")
    expect(field_error).to_contain_text("must use https")
    for key, value in creds.items():
        dialog.locator(f"input[name='cw_automate-{key}']").fill("wrong-password" if key == "password" else value)
    dialog.get_by_role("button", name="Test and save").click()
    expect(dialog.locator("[role=alert]")).to_contain_text("Validation failed")
    assert not Integration.objects.exists()
    dialog.locator("input[name='cw_automate-password']").fill(creds["password"])
    dialog.get_by_role("button", name="Test and save").click()
    page.wait_for_url("**/integrations/*/")
    page.get_by_role("button", name="Test credentials").click()
    page.locator("#test-result").get_by_text("Validation successful").wait_for()
    integration = Integration.objects.get(name="Automate Seed")

    # Map an RMM customer by picking both sides from lists.
    page.goto(f"/sync/integrations/{integration.pk}/")
    customers = page.locator("#table-customers")
    customers.get_by_role("button", name="Add").click()
    form = page.locator("#mapping-dialog")
    expect(form).to_be_visible()
    search = form.locator("input[aria-label='Search RMM customers and sites']")
    search.fill(rmm_customer.name)
    shown = form.locator("select[name=external_id] option:not([hidden])")
    expect(shown).to_have_count(1 + 1 + len([s for s in state.sites if s.customer_id == rmm_customer.id]))
    search.fill("")
    form.locator("select[name=external_id]").select_option(label=rmm_customer.name)
    _choose(page, "customer", "Harbourview Dental Ltd")
    expect(form.locator("select[name=site] option")).to_have_text(["The customer's main site", "Depot 1", "Main"])
    form.get_by_role("button", name="Add").click()
    expect(form).to_be_hidden()
    expect(customers).to_contain_text(rmm_customer.name)

    # The same RMM customer again: the dialog stays open and says why, next to the field.
    customers.get_by_role("button", name="Add").click()
    form.locator("select[name=external_id]").select_option(label=rmm_customer.name)
    _choose(page, "customer", "Harbourview Dental Ltd")
    form.get_by_role("button", name="Add").click()
    assert "already mapped" in _dialog_error(page, "external_id")
    # Pick an RMM site instead (listed with its customer) and the local site of the chosen customer.
    form.locator("select[name=external_id]").select_option(
        label=f"{rmm_site_customer.name} / {rmm_site.name.split(' – ')[-1]}")  # Automate's location name
    form.locator("select[name=site]").select_option(label="Depot 1")
    form.get_by_role("button", name="Add").click()
    expect(form).to_be_hidden()
    site_row = CustomerMapping.objects.get(external_id=rmm_site.id)
    assert (site_row.customer_id, site_row.site_id) == (local.pk, depot.pk)

    # Edit a row in place.
    customers.locator("tr", has_text=rmm_customer.name).get_by_role("button", name="Edit").click()
    expect(form.locator("select[name=external_id]")).to_have_value(f"customer:{rmm_customer.id}")
    form.locator("select[name=site]").select_option(label="Depot 1")
    form.get_by_role("button", name="Save").click()
    expect(form).to_be_hidden()
    assert CustomerMapping.objects.get(external_id=rmm_customer.id).site_id == depot.pk

    # A type mapping without an asset type is refused in the dialog; then done right.
    types = page.locator("#table-types")
    types.get_by_role("button", name="Add").click()
    form.locator("select[name=device_type]").select_option(label="Workstation")
    form.get_by_role("button", name="Add").click()
    assert "Choose an asset type" in _dialog_error(page, "asset_type")
    form.locator("select[name=asset_type]").select_option(label="Workstation")
    form.get_by_role("button", name="Add").click()
    expect(form).to_be_hidden()
    expect(types).to_contain_text("Workstation")
    assert AssetTypeMapping.objects.get().device_type == "workstation"

    # Halo's four-option field dialog: device type, field type, the RMM's field, the local field.
    fields = page.locator("#table-fields")
    fields.get_by_role("button", name="Add").click()
    _choose(page, "device_type", "Workstation")
    _choose(page, "target_kind", "Custom field")
    expect(form.locator("select[name=target_kind]")).to_have_value("custom_field")
    form.get_by_role("button", name="Add").click()
    assert "Choose one of the RMM's fields" in _dialog_error(page, "source")
    form.locator("select[name=source]").select_option(label="Serial number")
    form.locator("select[name=local_field]").select_option(
        label="Create it at the next import (named after the RMM field)")
    form.get_by_role("button", name="Add").click()
    expect(form).to_be_hidden()
    mapping = FieldMapping.objects.get(target="CFserial_number")
    assert (mapping.source, mapping.device_type, mapping.create_if_missing) == ("serial_number", "workstation", True)
    expect(fields).to_contain_text("Custom field")

    # Preview and apply: the mapped customer's records go where the rows say, the field is created.
    page.get_by_role("button", name="Import all assets").click()
    page.wait_for_selector("h1:has-text('Preview #')", timeout=60000)
    expect(page.locator("table.plan-rows")).to_contain_text("Harbourview Dental Ltd")
    page.click("#apply-all")
    page.wait_for_selector("text=Applied:", timeout=60000)
    assert "Applied: Success" in page.content(), page.locator("main").inner_text()[:2000]
    assert FieldDefinition.objects.filter(name="serial_number", kind="custom_field").exists()
    assert Customer.objects.filter(name="Harbourview Dental Ltd").count() == 1
    assert local.assets.exists()
