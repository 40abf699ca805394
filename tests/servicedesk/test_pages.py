"""Customer, site and user pages: lists with filters, detail, and create/edit forms through the actions."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from rmmbridge.servicedesk.models import AuditEntry, AuditSource, Customer, EndUser, Site

from .factories import AssetFactory, CustomerFactory, EndUserFactory, SiteFactory

pytestmark = pytest.mark.django_db


def errors(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-field="([^"]+)">([^<]+)<', html))


def test_customer_list_counts_without_a_query_per_row(admin_client: Any, django_assert_max_num_queries: Any) -> None:
    for i in range(12):
        site = SiteFactory(customer=CustomerFactory(name=f"Client {i:02d}"))
        EndUserFactory(site=site)
    acme = Customer.objects.get(name="Client 03")
    for _ in range(3):
        AssetFactory(site=acme.main_site)
    admin_client.get(reverse("servicedesk:customer_list"))
    with django_assert_max_num_queries(7):
        html = admin_client.get(reverse("servicedesk:customer_list")).content.decode()
    row = re.search(r"Client 03</a></td><td></td>\s*<td>(\d+)</td><td>(\d+)</td><td><a [^>]*>(\d+)<", html)
    assert row is not None
    assert row.groups() == ("2", "1", "3")
    found = admin_client.get(reverse("servicedesk:customer_list"), {"q": "client 1"}, HTTP_HX_REQUEST="true")
    assert re.findall(r">(Client \d+)</a>", found.content.decode()) == ["Client 10", "Client 11"]


def test_create_customer_with_main_site_and_refuse_duplicate(admin_client: Any, admin_user: Any) -> None:
    url = reverse("servicedesk:customer_create")
    response = admin_client.post(url, {"name": "  Acme   Dental ", "main_site_name": "Harbour St", "notes": ""})
    customer = Customer.objects.get(name="Acme Dental")
    assert response.headers["Location"] == reverse("servicedesk:customer_detail", args=[customer.pk])
    assert customer.main_site is not None
    assert customer.main_site.name == "Harbour St"
    entry = AuditEntry.objects.get(object_type="customer", object_id=customer.pk)
    assert entry.source == AuditSource.UI
    assert entry.actor_id == admin_user.pk
    again = admin_client.post(url, {"name": "ACME dental", "main_site_name": "Main"})
    assert again.status_code == 200
    assert errors(again.content.decode()) == {"name": "A customer named &#x27;ACME dental&#x27; already exists."}
    assert Customer.objects.count() == 1


def test_customer_detail_lists_sites_users_and_asset_count(admin_client: Any) -> None:
    customer = CustomerFactory(name="Acme")
    branch = SiteFactory(customer=customer, name="Depot")
    EndUserFactory(site=branch, name="Dana Depot")
    AssetFactory(site=branch)
    AssetFactory(site=customer.main_site)
    html = admin_client.get(reverse("servicedesk:customer_detail", args=[customer.pk])).content.decode()
    assert "Depot" in html
    assert "Dana Depot" in html
    assert re.search(r'id="customer-assets">2 active assets<', html)


def test_edit_customer_keeps_it_when_the_name_clashes(admin_client: Any) -> None:
    CustomerFactory(name="Acme")
    beta = CustomerFactory(name="Beta")
    url = reverse("servicedesk:customer_edit", args=[beta.pk])
    html = admin_client.post(url, {"name": "acme", "notes": "n", "active": "on"}).content.decode()
    assert "already exists" in errors(html)["name"]
    beta.refresh_from_db()
    assert (beta.name, beta.notes) == ("Beta", "")
    assert admin_client.post(url, {"name": "Beta Group", "notes": "VIP", "active": ""}).status_code == 302
    beta.refresh_from_db()
    assert (beta.name, beta.notes, beta.active) == ("Beta Group", "VIP", False)


def test_sites_add_make_main_and_refuse_deactivating_main(admin_client: Any) -> None:
    customer = CustomerFactory(name="Acme")
    response = admin_client.post(reverse("servicedesk:site_create"), {"customer": customer.pk, "name": "Depot"})
    assert response.status_code == 302
    depot = Site.objects.get(name="Depot")
    assert admin_client.post(reverse("servicedesk:site_make_main", args=[depot.pk])).status_code == 302
    assert list(customer.sites.filter(is_main=True)) == [depot]
    html = admin_client.post(reverse("servicedesk:site_edit", args=[depot.pk]),
                             {"name": "Depot", "address": "", "active": ""}).content.decode()
    assert errors(html)["active"].startswith("The main site cannot be deactivated")
    depot.refresh_from_db()
    assert depot.active
    assert admin_client.get(reverse("servicedesk:site_make_main", args=[depot.pk])).status_code == 405
    listed = admin_client.get(reverse("servicedesk:site_list"), {"customer": customer.pk}).content.decode()
    assert re.findall(r"<tr><td>([^<]+)</td>", listed) == ["Depot", "Main"]


def test_users_create_with_duplicate_email_message_and_list_filter(admin_client: Any) -> None:
    site = SiteFactory()
    EndUserFactory(site=site, email="ann@acme.example")
    url = reverse("servicedesk:user_create")
    html = admin_client.post(url, {"site": site.pk, "name": "Ann Two", "email": "ANN@acme.example"}).content.decode()
    assert "already has the e-mail address" in errors(html)["email"]
    assert admin_client.post(url, {"site": site.pk, "name": "Bo", "email": "bo@acme.example"}).status_code == 302
    bo = EndUser.objects.get(name="Bo")
    assert bo.customer_id == site.customer_id
    EndUserFactory(name="Elsewhere")
    listed = admin_client.get(reverse("servicedesk:user_list"), {"customer": site.customer_id}).content.decode()
    assert "Bo" in listed
    assert "Elsewhere" not in listed
    moved = admin_client.post(reverse("servicedesk:user_edit", args=[bo.pk]),
                              {"site": site.customer.main_site.pk, "name": "Bo", "email": "", "active": "on"})
    assert moved.status_code == 302
    bo.refresh_from_db()
    assert bo.site_id == site.customer.main_site.pk
