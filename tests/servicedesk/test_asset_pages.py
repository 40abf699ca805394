"""Asset list and detail pages: filters, search, pagination, fields, external IDs, edit form, query counts."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from rmmbridge.integrations.models import ExternalRef, Integration
from rmmbridge.servicedesk.actions import (
    AssetInput,
    do_bulk_create_assets,
    do_create_end_user,
    do_create_field_definition,
    do_upsert_asset,
    validate_values,
)
from rmmbridge.servicedesk.models import Asset, AuditEntry, AuditSource

from .factories import ACTOR, AssetFactory, AssetTypeFactory, CustomerFactory, SiteFactory

pytestmark = pytest.mark.django_db


def rows(html: str) -> list[str]:
    """Asset names linked from a list page's table."""
    return re.findall(r'<a href="/assets/\d+/">([^<]+)</a>', html)


@pytest.fixture
def estate() -> dict[str, Any]:
    """Two customers, two types, fields, and 130 assets (bulk) with users, so pages have several rows."""
    workstation = AssetTypeFactory(name="Workstation")
    printer = AssetTypeFactory(name="Printer")
    serial = do_create_field_definition(ACTOR, "serial_number", label="Serial number", asset_types=[workstation])
    do_create_field_definition(ACTOR, "hostname", label="Hostname", asset_types=[workstation, printer])
    do_create_field_definition(ACTOR, "ram_gb", label="RAM (GB)", kind="custom_field", data_type="integer",
                               asset_types=[workstation])
    do_create_field_definition(ACTOR, "managed", label="Managed", kind="custom_field", data_type="boolean",
                               asset_types=[workstation])
    do_create_field_definition(ACTOR, "toner", label="Toner", data_type="choice", choices=["Black", "Colour"],
                               asset_types=[printer])
    acme, beta = CustomerFactory(name="Acme"), CustomerFactory(name="Beta")
    acme_branch = SiteFactory(customer=acme, name="Branch")
    users = [do_create_end_user(ACTOR, acme.main_site, f"User {i}", email=f"u{i}@acme.example") for i in range(5)]
    assets = []
    for i in range(130):
        site = [acme.main_site, acme_branch, beta.main_site][i % 3]
        values = validate_values({"serial_number": f"SN{i:05d}", "hostname": f"host-{i:03d}", "CFram_gb": 8})
        assets.append(Asset(
            asset_type=workstation if i % 5 else printer, site=site, customer_id=site.customer_id,
            name=f"PC-{i:03d}", asset_tag=f"T{i:04d}", active=i % 10 != 9, values=values,
            end_user=users[i % 5] if site.customer_id == acme.pk else None,
        ))
    do_bulk_create_assets(ACTOR, assets)
    return {"workstation": workstation, "printer": printer, "acme": acme, "beta": beta, "branch": acme_branch,
            "serial": serial, "users": users}


def test_list_shows_active_assets_paginated_by_50(admin_client: Any, estate: dict[str, Any]) -> None:
    page1 = admin_client.get(reverse("servicedesk:asset_list")).content.decode()
    names = rows(page1)
    assert len(names) == 50
    assert names[0] == "PC-000"
    assert "PC-009" not in names
    assert "1–50 of 117" in page1
    page3 = admin_client.get(reverse("servicedesk:asset_list"), {"page": 3}).content.decode()
    assert len(rows(page3)) == 17
    assert 'rel="next"' not in page3
    assert 'rel="prev"' in page3
    empty = admin_client.get(reverse("servicedesk:asset_list"), {"page": 99}).content.decode()
    assert rows(empty) == []
    assert "No assets match" in empty


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "SN00042"}, ["PC-042"]),
        ({"q": "host-12"}, [f"PC-{i}" for i in range(120, 130) if i % 10 != 9]),
        ({"q": "t0007"}, ["PC-007"]),
        ({"q": "pc-00", "active": "no"}, ["PC-009"]),
        ({"q": "pc-00", "active": "any"}, [f"PC-00{i}" for i in range(10)]),
    ],
)
def test_search_covers_name_tag_and_field_values(
    admin_client: Any, estate: dict[str, Any], params: dict[str, str], expected: list[str]
) -> None:
    html = admin_client.get(reverse("servicedesk:asset_list"), params).content.decode()
    assert rows(html) == expected


def test_search_in_values_is_exact_per_field(admin_client: Any, estate: dict[str, Any]) -> None:
    asset = Asset.objects.get(name="PC-001")
    do_upsert_asset(ACTOR, AssetInput(values={"hostname": 'Müller "HQ"'}), asset=asset)
    url = reverse("servicedesk:asset_list")
    assert rows(admin_client.get(url, {"q": "müller"}).content.decode()) == ["PC-001"]
    assert rows(admin_client.get(url, {"q": '"hq"'}).content.decode()) == ["PC-001"]
    assert rows(admin_client.get(url, {"q": "serial_number"}).content.decode()) == []  # keys are not values
    assert rows(admin_client.get(url, {"q": "CFram"}).content.decode()) == []


def test_filters_narrow_by_customer_site_type_and_bad_values_are_ignored(
    admin_client: Any, estate: dict[str, Any]
) -> None:
    url = reverse("servicedesk:asset_list")
    beta = rows(admin_client.get(url, {"customer": estate["beta"].pk, "active": "any"}).content.decode())
    assert beta == [f"PC-{i:03d}" for i in range(2, 130, 3)]
    branch_printers = rows(admin_client.get(
        url, {"site": estate["branch"].pk, "type": estate["printer"].pk, "active": "any"}).content.decode())
    assert branch_printers == [f"PC-{i:03d}" for i in range(130) if i % 3 == 1 and i % 5 == 0]
    nonsense = admin_client.get(url, {"customer": "abc", "type": "1; drop", "active": "???"})
    assert nonsense.status_code == 200
    assert len(rows(nonsense.content.decode())) == 50


def test_htmx_request_gets_only_the_results(admin_client: Any, estate: dict[str, Any]) -> None:
    response = admin_client.get(reverse("servicedesk:asset_list"), {"q": "SN00042"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "<html" not in html
    assert rows(html) == ["PC-042"]
    full = admin_client.get(reverse("servicedesk:asset_list"), HTTP_HX_REQUEST="true",
                            HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert "<html" in full.content.decode()


def test_list_query_count_does_not_grow_with_rows(
    admin_client: Any, estate: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    """A fixed handful of queries per page (session, user, fields, page, capped count, dropdowns; base-page
    context processors of other sections may add one or two), whatever the number of rows."""
    url = reverse("servicedesk:asset_list")
    admin_client.get(url)  # session warm-up
    with django_assert_max_num_queries(11):
        response = admin_client.get(url, {"page": 2})
    assert len(rows(response.content.decode())) == 50
    with CaptureQueriesContext(connection) as many:
        admin_client.get(url, {"q": "host", "customer": estate["acme"].pk, "page": 2})
    with CaptureQueriesContext(connection) as one:
        admin_client.get(url, {"q": "SN00042", "customer": estate["acme"].pk, "page": 1})
    assert len(many) == len(one)  # never a query per row (and searches skip the count)
    with django_assert_max_num_queries(6):
        partial = admin_client.get(url, {"page": 2, "customer": estate["beta"].pk}, HTTP_HX_REQUEST="true")
    site_choices = re.findall(r'<option value="(\d+)"', partial.content.decode())
    assert site_choices == [str(estate["beta"].main_site.pk)]  # site filter follows the customer, out of band


def test_detail_shows_typed_fields_of_the_type_and_stored_extras(
    admin_client: Any, estate: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    user = estate["users"][0]
    parent, _ = do_upsert_asset(ACTOR, AssetInput(
        asset_type=estate["workstation"], site=estate["acme"].main_site, name="WS-1", asset_tag="WS-TAG",
        end_user=user, values={"serial_number": "ABC123", "CFram_gb": "16", "CFmanaged": "yes", "toner": "black"}))
    for i in range(3):
        do_upsert_asset(ACTOR, AssetInput(asset_type=estate["printer"], site=estate["acme"].main_site,
                                          name=f"Printer {i}", parent=parent))
    integration = Integration.objects.create(vendor="datto_rmm", name="Datto production")
    now = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
    ExternalRef.objects.create(integration=integration, kind="asset", external_id="dev-uid-77", object_id=parent.pk,
                               first_seen=now, last_seen=now)
    ExternalRef.objects.create(integration=integration, kind="site", external_id="site-not-shown",
                               object_id=parent.pk, first_seen=now, last_seen=now)
    url = reverse("servicedesk:asset_detail", args=[parent.pk])
    admin_client.get(url)
    with django_assert_max_num_queries(11):  # +2 for the device buttons (buttons, then field mappings)
        html = admin_client.get(url).content.decode()
    assert "Serial number" in html
    assert "ABC123" in html
    assert re.search(r"RAM \(GB\)</th><td>16", html)
    assert re.search(r"Managed</th><td>Yes", html)
    assert re.search(r'data-key="toner"><th scope="row">Toner</th><td>Black <small[^>]*>not on type', html)
    assert re.search(r'data-key="hostname"><th scope="row">Hostname</th><td>—', html)
    assert "Datto production" in html
    assert "dev-uid-77" in html
    assert "site-not-shown" not in html
    assert all(f"Printer {i}" in html for i in range(3))
    assert user.name in html
    assert "WS-TAG" in html
    child = Asset.objects.get(name="Printer 0")
    child_html = admin_client.get(reverse("servicedesk:asset_detail", args=[child.pk])).content.decode()
    assert f'href="/assets/{parent.pk}/">WS-1<' in child_html
    assert "Serial number" not in child_html  # not a printer field and no value stored
    assert "create" in html
    assert "ABC123" in html.split("Audit trail")[1]


def test_missing_asset_is_404(admin_client: Any, db: Any) -> None:
    assert admin_client.get(reverse("servicedesk:asset_detail", args=[999999])).status_code == 404


def _form(asset: Asset, **overrides: str) -> dict[str, str]:
    data = {"name": asset.name, "asset_tag": asset.asset_tag, "asset_type": str(asset.asset_type_id),
            "site": str(asset.site_id), "active": "on", "end_user": str(asset.end_user_id or ""),
            "parent": str(asset.parent_id or "")}
    data.update({f"value__{k}": str(v) for k, v in asset.values.items()})
    data.update(overrides)
    return data


def test_edit_form_shows_each_bad_value_next_to_its_field_and_keeps_the_asset(
    admin_client: Any, estate: dict[str, Any]
) -> None:
    asset = Asset.objects.get(name="PC-001")
    url = reverse("servicedesk:asset_edit", args=[asset.pk])
    response = admin_client.post(url, _form(asset, value__CFram_gb="lots", value__CFmanaged="maybe", name="NEW"))
    assert response.status_code == 200
    html = response.content.decode()
    errors = dict(re.findall(r'data-field="([^"]+)">([^<]+)<', html))
    assert errors == {
        "value__CFram_gb": "Field &#x27;RAM (GB)&#x27; expects a whole number; got &#x27;lots&#x27;.",
        "value__CFmanaged": "Field &#x27;Managed&#x27; expects yes/no (true, false, yes, no, 1, 0); "
                            "got &#x27;maybe&#x27;.",
    }
    assert 'value="lots"' in html  # what the person typed stays in the form
    asset.refresh_from_db()
    assert asset.name == "PC-001"
    assert asset.values["CFram_gb"] == 8


def test_edit_form_action_errors_go_next_to_the_field(admin_client: Any, estate: dict[str, Any]) -> None:
    asset = Asset.objects.get(name="PC-001")
    url = reverse("servicedesk:asset_edit", args=[asset.pk])
    html = admin_client.post(url, _form(asset, asset_tag="T0002")).content.decode()
    assert re.search(r'data-field="asset_tag">Asset tag &#x27;T0002&#x27; is already used', html)
    html = admin_client.post(url, _form(asset, parent="987654")).content.decode()
    assert re.search(r'data-field="parent">There is no asset with ID 987654', html)
    asset.refresh_from_db()
    assert asset.asset_tag == "T0001"
    assert asset.parent_id is None


def test_edit_saves_through_the_action_with_ui_audit(admin_client: Any, admin_user: Any,
                                                      estate: dict[str, Any]) -> None:
    asset = Asset.objects.get(name="PC-001")
    url = reverse("servicedesk:asset_edit", args=[asset.pk])
    form_html = admin_client.get(url).content.decode()
    assert 'name="value__serial_number"' in form_html
    assert 'value="SN00001"' in form_html
    response = admin_client.post(url, _form(asset, value__CFram_gb="32", value__CFmanaged="true", name="PC-001b"))
    assert response.status_code == 302
    asset.refresh_from_db()
    assert asset.name == "PC-001b"
    assert asset.values["CFram_gb"] == 32
    assert asset.values["CFmanaged"] is True
    entry = AuditEntry.objects.filter(object_type="asset", object_id=asset.pk).first()
    assert entry is not None
    assert entry.source == AuditSource.UI
    assert entry.actor_id == admin_user.pk
    assert entry.changes == {"name": ["PC-001", "PC-001b"], "CFram_gb": [8, 32], "CFmanaged": [None, True]}
    unchanged = admin_client.post(url, _form(asset, value__CFmanaged="true"))
    assert unchanged.status_code == 302
    assert AuditEntry.objects.filter(object_type="asset", object_id=asset.pk).count() == 2


def test_create_asset_shows_type_fields_then_saves(admin_client: Any, estate: dict[str, Any]) -> None:
    url = reverse("servicedesk:asset_create")
    html = admin_client.get(url, {"asset_type": estate["printer"].pk}).content.decode()
    assert 'name="value__toner"' in html
    assert 'name="value__serial_number"' not in html
    response = admin_client.post(url, {"name": "PRN-9", "asset_type": estate["printer"].pk,
                                       "site": estate["beta"].main_site.pk, "active": "on", "value__toner": "Colour"})
    assert response.status_code == 302
    created = Asset.objects.get(name="PRN-9")
    assert created.values == {"toner": "Colour"}
    assert created.customer_id == estate["beta"].pk


def test_asset_factory_builds_through_actions(db: Any) -> None:
    asset = AssetFactory()
    assert AuditEntry.objects.filter(object_type="asset", object_id=asset.pk, action="create").exists()


def test_site_filter_lists_a_capped_number_of_sites(admin_client: Any, estate: dict[str, Any],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from rmmbridge.servicedesk import asset_views

    monkeypatch.setattr(asset_views, "MAX_SITE_CHOICES", 2)
    html = admin_client.get(reverse("servicedesk:asset_list")).content.decode()
    select = html.split('id="site-filter"')[1].split("</select>")[0]
    assert "choose a customer to pick one" in select
    assert "<option value=\"" + str(estate["branch"].pk) not in select
    narrowed = admin_client.get(reverse("servicedesk:asset_list"), {"customer": estate["acme"].pk}).content.decode()
    select = narrowed.split('id="site-filter"')[1].split("</select>")[0]
    assert select.count("<option") == 3


def test_create_form_offers_users_of_the_chosen_sites_customer(admin_client: Any, estate: dict[str, Any]) -> None:
    url = reverse("servicedesk:asset_create")
    blank = admin_client.get(url).content.decode()
    assert "Pick a site first" in blank
    assert "User 0" not in blank
    chosen = admin_client.get(url, {"site": estate["acme"].main_site.pk}).content.decode()
    assert all(f"User {i}" in chosen for i in range(5))
    assert "User 0" not in admin_client.get(url, {"site": estate["beta"].main_site.pk}).content.decode()
