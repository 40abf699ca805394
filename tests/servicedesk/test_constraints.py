"""Model constraints, enforced by the database and by the actions: main site, unique refs, unique names."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from rmmbridge.integrations.models import ExternalRef, Integration
from rmmbridge.servicedesk.actions import (
    AssetInput,
    do_create_asset_group,
    do_create_customer,
    do_create_end_user,
    do_create_field_definition,
    do_create_site,
    do_create_toplevel,
    do_delete_site,
    do_set_main_site,
    do_update_customer,
    do_update_end_user,
    do_update_settings,
    do_update_site,
    do_upsert_asset,
)
from rmmbridge.servicedesk.models import Asset, AssetGroup, Customer, Site

from .factories import ACTOR, AssetFactory, AssetTypeFactory, CustomerFactory, EndUserFactory, SiteFactory

pytestmark = pytest.mark.django_db


def main_sites(customer: Customer) -> list[str]:
    return list(customer.sites.filter(is_main=True).values_list("name", flat=True))


def test_customer_is_created_with_exactly_one_main_site() -> None:
    customer = do_create_customer(ACTOR, "Acme Ltd", main_site_name="HQ")
    assert main_sites(customer) == ["HQ"]


def test_database_refuses_a_second_main_site() -> None:
    customer = CustomerFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Site.objects.create(customer=customer, name="Second", is_main=True)
    assert main_sites(customer) == ["Main"]


def test_set_main_site_moves_the_flag_and_keeps_exactly_one() -> None:
    customer = CustomerFactory()
    branch = SiteFactory(customer=customer, name="Branch")
    do_set_main_site(ACTOR, branch)
    assert main_sites(customer) == ["Branch"]
    do_set_main_site(ACTOR, branch)  # idempotent
    assert main_sites(customer) == ["Branch"]


def test_inactive_site_cannot_become_main() -> None:
    customer = CustomerFactory()
    branch = SiteFactory(customer=customer, name="Old depot")
    do_update_site(ACTOR, branch, active=False)
    with pytest.raises(ValidationError, match="'Old depot' is inactive and cannot be the main site"):
        do_set_main_site(ACTOR, branch)
    assert main_sites(customer) == ["Main"]


def test_main_site_cannot_be_deleted_or_deactivated() -> None:
    customer = CustomerFactory()
    main = customer.main_site
    assert main is not None
    with pytest.raises(ValidationError, match="main site cannot be deleted"):
        do_delete_site(ACTOR, main)
    with pytest.raises(ValidationError, match="main site cannot be deactivated"):
        do_update_site(ACTOR, main, active=False)
    main.refresh_from_db()
    assert main.active
    assert main.is_main


def test_site_with_assets_is_not_deleted() -> None:
    site = SiteFactory()
    AssetFactory(site=site)
    with pytest.raises(ValidationError, match="still has users or assets"):
        do_delete_site(ACTOR, site)
    assert Site.objects.filter(pk=site.pk).exists()


def _ref(integration: Integration, kind: str, external_id: str, object_id: int) -> ExternalRef:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return ExternalRef.objects.create(integration=integration, kind=kind, external_id=external_id,
                                      object_id=object_id, first_seen=now, last_seen=now)


def test_external_refs_are_unique_per_integration_and_kind() -> None:
    first = Integration.objects.create(vendor="datto_rmm", name="Datto")
    second = Integration.objects.create(vendor="ninjaone", name="Ninja")
    _ref(first, "asset", "dev-1", 1)
    with pytest.raises(IntegrityError), transaction.atomic():
        _ref(first, "asset", "dev-1", 2)
    _ref(first, "site", "dev-1", 1)  # another kind: allowed
    _ref(second, "asset", "dev-1", 1)  # another integration: allowed
    assert ExternalRef.objects.filter(external_id="dev-1").count() == 3


@pytest.mark.parametrize(
    ("create", "message"),
    [
        (lambda: do_create_customer(ACTOR, "ACME ltd"), "customer named 'ACME ltd' already exists"),
        (lambda: do_create_toplevel(ACTOR, "MANAGED"), "top level named 'MANAGED' already exists"),
        (lambda: do_create_asset_group(ACTOR, "computers"), "asset group named 'computers' already exists"),
    ],
)
def test_names_are_unique_ignoring_case(create: object, message: str) -> None:
    do_create_customer(ACTOR, "Acme Ltd")
    do_create_toplevel(ACTOR, "Managed")
    do_create_asset_group(ACTOR, "Computers")
    with pytest.raises(ValidationError, match=message):
        create()  # type: ignore[operator]


def test_database_enforces_case_insensitive_names() -> None:
    do_create_customer(ACTOR, "Acme Ltd")
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.create(name="ACME LTD")
    do_create_asset_group(ACTOR, "Computers")
    with pytest.raises(IntegrityError), transaction.atomic():
        AssetGroup.objects.create(name="COMPUTERS")


def test_renaming_a_customer_onto_another_name_is_refused_and_keeps_the_old_name() -> None:
    do_create_customer(ACTOR, "Acme Ltd")
    other = do_create_customer(ACTOR, "Beta Inc")
    with pytest.raises(ValidationError, match="already exists"):
        do_update_customer(ACTOR, other, name="acme LTD")
    other.refresh_from_db()
    assert other.name == "Beta Inc"


def test_site_names_unique_per_customer_only() -> None:
    first, second = CustomerFactory(), CustomerFactory()
    do_create_site(ACTOR, first, "Depot")
    do_create_site(ACTOR, second, "Depot")
    with pytest.raises(ValidationError, match="already has a site named 'DEPOT'"):
        do_create_site(ACTOR, first, "DEPOT")


def test_user_email_unique_within_customer_ignoring_case() -> None:
    site = SiteFactory()
    other_site = SiteFactory()
    do_create_end_user(ACTOR, site, "Ann", email="ann@example.com")
    do_create_end_user(ACTOR, other_site, "Ann elsewhere", email="ann@example.com")
    with pytest.raises(ValidationError, match="already has the e-mail address"):
        do_create_end_user(ACTOR, site.customer.main_site, "Ann again", email="ANN@example.com")
    bob = do_create_end_user(ACTOR, site, "Bob", email="")
    with pytest.raises(ValidationError, match="already has the e-mail address"):
        do_update_end_user(ACTOR, bob, email="Ann@Example.com")
    bob.refresh_from_db()
    assert bob.email == ""


def test_bad_email_is_rejected_with_what_to_fix() -> None:
    with pytest.raises(ValidationError, match="'not an email' is not a valid e-mail address"):
        do_create_end_user(ACTOR, SiteFactory(), "Ann", email="not an email")


def test_asset_tag_unique_when_the_setting_is_on() -> None:
    asset = AssetFactory(asset_tag="AT-1")
    with pytest.raises(ValidationError, match="Asset tag 'at-1' is already used"):
        AssetFactory(asset_tag="at-1")
    do_update_settings(ACTOR, asset_tag_unique=False)
    duplicate = AssetFactory(asset_tag="AT-1", asset_type=asset.asset_type)
    assert duplicate.pk != asset.pk
    with pytest.raises(ValidationError, match="used by several assets"):
        do_update_settings(ACTOR, asset_tag_unique=True)


def test_asset_user_must_belong_to_the_assets_customer() -> None:
    stranger = EndUserFactory()
    asset_type = AssetTypeFactory()
    site = CustomerFactory().main_site
    with pytest.raises(ValidationError, match="belongs to another customer"):
        do_upsert_asset(ACTOR, AssetInput(asset_type=asset_type, site=site, name="PC", end_user=stranger))
    assert not Asset.objects.filter(name="PC").exists()


def test_child_asset_loops_are_refused() -> None:
    parent = AssetFactory()
    child = AssetFactory(parent=parent, asset_type=parent.asset_type)
    with pytest.raises(ValidationError, match="loop"):
        do_upsert_asset(ACTOR, AssetInput(parent=child), asset=parent)
    parent.refresh_from_db()
    assert parent.parent_id is None


MISTYPED = [
    ("integer", "ram", "lots", "Field 'ram' expects a whole number; got 'lots'."),
    ("integer", "ram", "1.5", "Field 'ram' expects a whole number; got '1.5'."),
    ("decimal", "price", "ten", "Field 'price' expects a decimal number; got 'ten'."),
    ("boolean", "managed", "maybe", "Field 'managed' expects yes/no (true, false, yes, no, 1, 0); got 'maybe'."),
    ("date", "warranty", "soon", "Field 'warranty' expects a date (YYYY-MM-DD); got 'soon'."),
    ("date", "warranty", "2026-02-30", "Field 'warranty' expects a date (YYYY-MM-DD); got '2026-02-30'."),
    ("datetime", "seen", "yesterday",
     "Field 'seen' expects a date and time (ISO 8601, e.g. 2026-01-31T14:05:00Z); got 'yesterday'."),
    ("choice", "tier", "Platinum", "Field 'tier' expects one of the field's choices (Gold, Silver); got 'Platinum'."),
    ("text", "notes", "x" * 4001, "Field 'notes' expects text of at most 4000 characters; got '" + "x" * 80 + "'."),
]


@pytest.mark.parametrize(("data_type", "name", "raw", "message"), MISTYPED)
def test_mistyped_value_is_rejected_naming_field_value_and_type(
    data_type: str, name: str, raw: str, message: str
) -> None:
    choices = ["Gold", "Silver"] if data_type == "choice" else []
    do_create_field_definition(ACTOR, name, data_type=data_type, choices=choices)
    asset = AssetFactory(values={})
    with pytest.raises(ValidationError) as caught:
        do_upsert_asset(ACTOR, AssetInput(values={name: raw}), asset=asset)
    assert caught.value.messages == [message]
    asset.refresh_from_db()
    assert asset.values == {}


def test_every_bad_value_is_reported_and_nothing_is_stored() -> None:
    do_create_field_definition(ACTOR, "ram", data_type="integer")
    do_create_field_definition(ACTOR, "warranty", kind="custom_field", data_type="date")
    asset = AssetFactory(values={"ram": 8})
    with pytest.raises(ValidationError) as caught:
        do_upsert_asset(ACTOR, AssetInput(name="renamed", values={"ram": "x", "CFwarranty": "y", "bogus": 1}),
                        asset=asset)
    assert len(caught.value.messages) == 3
    assert "Unknown field 'bogus'" in caught.value.messages[2]
    asset.refresh_from_db()
    assert asset.values == {"ram": 8}
    assert asset.name != "renamed"
