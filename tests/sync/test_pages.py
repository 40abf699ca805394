"""Sync pages through the Django test client, and the preview screen in a real browser."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from rmmbridge.integrations import actions
from rmmbridge.integrations.models import Integration
from rmmbridge.integrator import embedded, tasks
from rmmbridge.integrator.models import JobRun
from rmmbridge.servicedesk.actions import Actor, do_create_customer
from rmmbridge.servicedesk.models import Asset, Customer
from rmmbridge.sync.models import CustomerMapping, SyncConfig, SyncRun


@pytest.fixture
def datto() -> Iterator[Any]:
    from rmmbridge.connectors.testing.server import serve_emulator

    with serve_emulator("datto_rmm", seed=9, customers=2, devices=10, alerts=0) as emulator:
        yield emulator


@pytest.fixture
def workers() -> Iterator[None]:
    """In-process integrator workers, as `rmmbridge serve` runs them: previews and applies run there."""
    embedded.start(scheduler=False, workers=1)
    yield
    embedded.stop()


@pytest.fixture
def integration(db: Any, datto: Any) -> Integration:
    return actions.do_create_integration(Actor.cli("test"), "datto_rmm", "Datto Pages", dict(datto.credentials),
                                         test=False)


def test_setup_page_lists_tables_and_saves_settings(admin_client: Any, integration: Integration) -> None:
    url = f"/sync/integrations/{integration.pk}/"
    page = admin_client.get(url).content.decode()
    for text in ("Customer and site mappings", "Asset type mappings", "Field mappings", "Import customers &amp; sites",
                 "Import all assets", "Sync history"):
        assert text in page
    detail = admin_client.get(f"/integrations/{integration.pk}/").content.decode()
    assert url in detail  # linked as a setup panel
    bad = admin_client.post(url, {"new_customer_mode": "create", "missing_action": "deactivate", "grace_hours": 0,
                                  "guard_percent": 250, "match_rules_text": "serial number!"})
    assert bad.status_code == 200
    body = bad.content.decode()
    assert "choose 0 to 100" in body
    assert "is not a field key" in body
    good = admin_client.post(url, {"new_customer_mode": "review", "missing_action": "unlink", "grace_hours": 12,
                                   "guard_percent": 30, "match_rules_text": "serial_number\nname within customer",
                                   "junk_text": "N/A\nTBD", "import_types": ["workstation", "server"]})
    assert good.status_code == 302
    config = SyncConfig.objects.get(integration=integration)
    assert config.match_rules == [{"field": "serial_number", "within_customer": False},
                                  {"field": "name", "within_customer": True}]
    assert (config.new_customer_mode, config.grace_hours, config.junk_values) == ("review", 12, ["N/A", "TBD"])
    assert config.import_types == ["workstation", "server"]


def test_add_edit_and_delete_mapping_rows_with_htmx(admin_client: Any, integration: Integration, datto: Any) -> None:
    site = datto.state.sites[0]
    customer = do_create_customer(Actor.cli(), "Acme")
    other = do_create_customer(Actor.cli(), "Beta")
    base = f"/sync/integrations/{integration.pk}/mappings/customers"
    dialog = admin_client.get(f"{base}/add/", HTTP_HX_REQUEST="true").content.decode()
    assert "RMM customer or site" in dialog
    assert f'value="customer:{site.id}"' in dialog  # the RMM's own list, fetched once
    assert site.name in dialog
    added = admin_client.post(f"{base}/add/", {"external_id": f"customer:{site.id}", "customer": customer.pk},
                              HTTP_HX_REQUEST="true")
    assert added.status_code == 200
    assert site.name in added.content.decode()
    row = CustomerMapping.objects.get(integration=integration)
    assert row.external_name == site.name
    duplicate = admin_client.post(f"{base}/add/", {"external_id": f"customer:{site.id}", "customer": customer.pk},
                                  HTTP_HX_REQUEST="true")
    assert duplicate.status_code == 422
    assert duplicate["HX-Retarget"] == "#mapping-dialog-body"
    assert "already mapped" in duplicate.content.decode()
    typed = admin_client.post(f"{base}/add/", {"external_id": "made-up-id", "customer": customer.pk},
                              HTTP_HX_REQUEST="true")
    assert typed.status_code == 422
    assert "Choose the RMM customer or site from the list" in typed.content.decode()
    edited = admin_client.post(f"{base}/{row.pk}/edit/", {"external_id": f"customer:{site.id}", "customer": other.pk},
                               HTTP_HX_REQUEST="true")
    assert edited.status_code == 200
    row.refresh_from_db()
    assert row.customer == other
    types = admin_client.post(f"/sync/integrations/{integration.pk}/mappings/types/add/",
                              {"device_type": "printer"}, HTTP_HX_REQUEST="true")
    assert "Choose an asset type, or tick" in types.content.decode()
    admin_client.post(f"{base}/{row.pk}/delete/", HTTP_HX_REQUEST="true")
    assert not CustomerMapping.objects.exists()


def _run_queued_job(admin_client: Any, response: Any) -> str:
    """Run the job a page queued, as a worker would, and return where its progress page leads."""
    assert response.status_code == 302
    assert "/sync/jobs/" in response["Location"]
    job = JobRun.objects.latest("id")
    waiting = admin_client.get(response["Location"], HTTP_HX_REQUEST="true")
    assert waiting.status_code == 200
    assert "Queued" in waiting.content.decode()
    assert "No integrator worker runs in this process" in waiting.content.decode()
    tasks.execute_job(job.pk)
    done = admin_client.get(response["Location"], HTTP_HX_REQUEST="true")
    assert done.status_code == 204
    return str(done["HX-Redirect"])


def test_preview_then_apply_all_from_the_imports_page(admin_client: Any, integration: Integration) -> None:
    assert "Datto Pages" in admin_client.get("/sync/").content.decode()
    response = admin_client.post(f"/sync/integrations/{integration.pk}/run/", {"entities": "customers,sites,assets"})
    assert SyncRun.objects.count() == 0, "the preview runs on a worker, not in the request"
    location = _run_queued_job(admin_client, response)
    run = SyncRun.objects.get()
    assert run.dry_run
    assert run.actor_label == "admin"
    assert Asset.objects.count() == 0
    page = admin_client.get(location).content.decode()
    assert "Preview #" in page
    assert "no local asset matched" in page
    filtered = admin_client.get(f"/sync/runs/{run.pk}/?entity=customers", HTTP_HX_REQUEST="true").content.decode()
    assert "no mapping or customer of that name" in filtered
    assert "no local asset matched" not in filtered
    applied = admin_client.post(f"/sync/runs/{run.pk}/apply/", {"scope": "all"})
    _run_queued_job(admin_client, applied)
    assert Asset.objects.count() == run.counts["assets"]["created"] > 0
    latest = SyncRun.objects.latest("id")
    assert latest.actor_label == "admin"
    assert latest.trigger == "ui"
    assert "Applied: Success" in admin_client.get(f"/sync/runs/{latest.pk}/").content.decode()


def test_a_failed_preview_says_why_on_its_progress_page(admin_client: Any, integration: Integration,
                                                        datto: Any) -> None:
    datto.state.faults.add("401:GET:/api/v2/account/sites:times=0")
    response = admin_client.post(f"/sync/integrations/{integration.pk}/run/", {"entities": "customers,sites"})
    job = JobRun.objects.latest("id")
    tasks.execute_job(job.pk)
    page = admin_client.get(response["Location"]).content.decode()
    assert "Failed." in page
    assert "sync setup" in page
    polled = admin_client.get(response["Location"], HTTP_HX_REQUEST="true")
    assert polled.status_code == 286  # htmx stops polling a job that ended without a run
    assert "Failed." in polled.content.decode()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_preview_apply_selected_rows_in_browser(page: Any, datto: Any, workers: None) -> None:
    integration = actions.do_create_integration(Actor.cli("test"), "datto_rmm", "Datto Browser",
                                                dict(datto.credentials), test=False)
    page.goto(f"/sync/integrations/{integration.pk}/")
    page.click("text=Import customers & sites")
    page.wait_for_selector("h1:has-text('Preview #')")
    assert page.locator("#counts").inner_text().count("customers") == 1
    first = page.locator("table.plan-rows tbody tr").first
    name = first.locator("td").nth(3).inner_text().split("\n")[0]
    first.locator("input[type=checkbox]").check()
    page.click("#apply-selected")
    page.wait_for_selector("text=Applied:")
    assert "Applied: Success" in page.content(), page.locator("main").inner_text()[:2000]
    assert page.locator("table.plan-rows").inner_text().count("Applied") == 1
    assert list(Customer.objects.values_list("name", flat=True)) == [name]


@pytest.mark.parametrize("vendor", ["datto_rmm", "atera", "ninjaone"])
def test_settings_offer_only_what_the_vendor_supports(admin_client: Any, db: Any, vendor: str) -> None:
    from rmmbridge.connectors import REGISTRY
    from rmmbridge.connectors.testing.server import serve_emulator

    cls = REGISTRY[vendor]
    with serve_emulator(vendor, seed=3, customers=1, devices=2, alerts=0) as emulator:
        integration = actions.do_create_integration(Actor.cli("test"), vendor, f"{vendor} modes",
                                                    dict(emulator.credentials), test=False)
    url = f"/sync/integrations/{integration.pk}/"
    html = admin_client.get(url).content.decode()
    assert "(Datto RMM)" not in html
    assert "Datto RMM: each site" not in html
    offers_one = 'value="one_customer"' in html
    assert offers_one == cls.sites_are_customers, "one-customer mode only where the sites are the customers"
    if not cls.sites_are_customers:
        refused = admin_client.post(url, {"new_customer_mode": "one_customer", "missing_action": "deactivate",
                                          "grace_hours": 0, "guard_percent": 20})
        assert "does not apply to this vendor" in refused.content.decode() or "Select a valid choice" in \
            refused.content.decode()
        assert SyncConfig.objects.get(integration=integration).new_customer_mode == "create"


def test_one_junk_list_per_integration_seeded_from_the_default(admin_client: Any, db: Any, datto: Any) -> None:
    from rmmbridge.servicedesk.actions import do_update_settings

    do_update_settings(Actor.cli("test"), junk_values=["N/A", "Default string"])
    integration = actions.do_create_integration(Actor.cli("test"), "datto_rmm", "Datto Junk",
                                                dict(datto.credentials), test=False)
    admin_client.get(f"/sync/integrations/{integration.pk}/")
    config = SyncConfig.objects.get(integration=integration)
    assert config.junk_values == ["N/A", "Default string"]
    do_update_settings(Actor.cli("test"), junk_values=["Changed later"])
    config.refresh_from_db()
    assert config.junk_values == ["N/A", "Default string"], "the default seeds new integrations only"
    settings_page = admin_client.get("/settings/").content.decode()
    assert "Default junk values for new integrations" in settings_page


def test_rmm_lists_refresh_and_suggested_matches(admin_client: Any, integration: Integration, datto: Any) -> None:
    from rmmbridge.sync.models import RemoteCatalog

    site = datto.state.sites[0]
    local = do_create_customer(Actor.cli(), site.name.upper() + " Ltd.")  # same name once normalised
    table = admin_client.get(f"/sync/integrations/{integration.pk}/").content.decode()
    assert "RMM lists not fetched yet" in table
    refreshed = admin_client.post(f"/sync/integrations/{integration.pk}/rmm-lists/refresh/",
                                  HTTP_HX_REQUEST="true").content.decode()
    assert "RMM lists fetched" in refreshed
    assert f"{site.name} → {local.name}" in refreshed
    assert "Accept all suggestions (1)" in refreshed
    accepted = admin_client.post(f"/sync/integrations/{integration.pk}/mappings/customers/accept-suggestions/",
                                 HTTP_HX_REQUEST="true").content.decode()
    assert "Accept all suggestions" not in accepted
    row = CustomerMapping.objects.get(integration=integration)
    assert (row.external_id, row.customer_id) == (site.id, local.pk)

    fetched = RemoteCatalog.objects.get(integration=integration)
    datto.state.faults.add("401:GET:/api/v2/account/sites:times=0")
    failed = admin_client.post(f"/sync/integrations/{integration.pk}/rmm-lists/refresh/",
                               HTTP_HX_REQUEST="true").content.decode()
    assert "Could not read the lists from Datto RMM" in failed
    kept = RemoteCatalog.objects.get(integration=integration)
    assert kept.entries == fetched.entries, "a failed refresh keeps the last lists"
