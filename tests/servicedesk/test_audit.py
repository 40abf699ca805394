"""The audit trail: every action records actor, source, object and old → new values."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from rmmbridge.servicedesk.actions import (
    Actor,
    AssetInput,
    do_create_customer,
    do_create_field_definition,
    do_set_asset_active,
    do_set_main_site,
    do_update_customer,
    do_update_settings,
    do_upsert_asset,
)
from rmmbridge.servicedesk.models import Asset, AuditEntry, AuditSource

from .factories import AssetFactory, SiteFactory

pytestmark = pytest.mark.django_db


def entries_for(obj: object) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(object_type=obj._meta.model_name, object_id=obj.pk).order_by("id"))  # type: ignore[attr-defined]


def test_ui_update_records_user_source_and_old_new() -> None:
    user = get_user_model().objects.create_user("ann", password="pw-123456789")
    customer = do_create_customer(Actor.cli("ops"), "Acme")
    diff = do_update_customer(Actor.ui(user), customer, name="Acme Ltd", notes="VIP")
    assert diff == {"name": ["Acme", "Acme Ltd"], "notes": ["", "VIP"]}
    create, update = entries_for(customer)
    who = ("source", "actor_id", "actor_label", "action")
    assert [getattr(create, a) for a in who] == [AuditSource.CLI, None, "ops", "create"]
    assert [getattr(update, a) for a in who] == [AuditSource.UI, user.pk, "ann", "update"]
    assert update.changes == {"name": ["Acme", "Acme Ltd"], "notes": ["", "VIP"]}
    assert update.object_repr == "Acme Ltd"


def test_no_change_writes_no_entry() -> None:
    customer = do_create_customer(Actor.system(), "Acme")
    before = AuditEntry.objects.count()
    assert do_update_customer(Actor.system(), customer, name="Acme") == {}
    assert AuditEntry.objects.count() == before


def test_asset_upsert_records_field_changes_and_remembers_local_edits() -> None:
    do_create_field_definition(Actor.system(), "serial", data_type="text")
    do_create_field_definition(Actor.system(), "ram", kind="custom_field", data_type="integer")
    asset = AssetFactory(values={"serial": "S1", "CFram": "8"})
    assert asset.values == {"serial": "S1", "CFram": 8}
    _, diff = do_upsert_asset(Actor.sync("Datto RMM"), AssetInput(values={"CFram": "16"}), asset=asset)
    assert diff == {"CFram": [8, 16]}
    asset.refresh_from_db()
    assert asset.locally_edited == []
    user = get_user_model().objects.create_user("bob", password="pw-123456789")
    do_upsert_asset(Actor.ui(user), AssetInput(name="PC-7", values={"serial": None}), asset=asset)
    asset.refresh_from_db()
    assert asset.values == {"CFram": 16}
    assert asset.locally_edited == ["name", "serial"]
    create, sync, ui = entries_for(asset)
    assert create.action == "create"
    assert create.changes["serial"] == [None, "S1"]
    assert (sync.source, sync.actor_label, sync.changes) == (AuditSource.SYNC, "Datto RMM", {"CFram": [8, 16]})
    assert ui.source == AuditSource.UI
    assert ui.actor_id == user.pk
    assert ui.changes["serial"] == ["S1", None]
    assert ui.changes["name"][1] == "PC-7"


def test_main_site_switch_is_audited_on_both_sites() -> None:
    site = SiteFactory()
    old_main = site.customer.main_site
    do_set_main_site(Actor.system("t"), site)
    assert entries_for(old_main)[-1].changes == {"is_main": [True, False]}
    assert entries_for(site)[-1].changes == {"is_main": [False, True]}


def test_deactivation_reason_and_settings_are_audited() -> None:
    asset = AssetFactory()
    assert do_set_asset_active(Actor.sync("Ninja"), asset, False, reason="gone from RMM")
    assert not do_set_asset_active(Actor.sync("Ninja"), asset, False)
    last = entries_for(asset)[-1]
    assert last.action == "deactivate"
    assert last.changes == {"active": [True, False], "reason": "gone from RMM"}
    assert not Asset.objects.get(pk=asset.pk).active
    diff = do_update_settings(Actor.cli(), junk_values=[" To be filled by O.E.M. ", "", "To be filled by O.E.M."])
    assert diff == {"junk_values": [[], ["To be filled by O.E.M."]]}
    assert AuditEntry.objects.filter(object_type="servicedesksettings", source=AuditSource.CLI).count() == 1


def _as_written(customer_pk: int) -> tuple[object, ...]:
    """A customer, its sites and their audit entries, without ids and times: what one create leaves behind."""
    from rmmbridge.servicedesk.models import Customer

    customer = Customer.objects.get(pk=customer_pk)
    sites = [(s.name, s.is_main, s.active, s.address) for s in customer.sites.all()]
    audit = [(e.object_type, e.object_repr, e.action, e.source, e.actor_label, e.changes)
             for obj in (customer, *customer.sites.all()) for e in entries_for(obj)]
    return customer.name, customer.toplevel_id, customer.active, customer.notes, sites, audit


def test_customers_created_in_bulk_are_written_as_one_by_one() -> None:
    from django.db import transaction

    from rmmbridge.servicedesk.actions import do_bulk_create_customers, do_create_toplevel

    actor = Actor.sync("Datto")
    top = do_create_toplevel(actor, "North")
    one = [do_create_customer(actor, name, toplevel=t) for name, t in (("Acme", top), ("  Globex   Corp ", None))]
    expected = [_as_written(c.pk) for c in one]
    for customer in one:
        customer.sites.all().delete()
        AuditEntry.objects.all().delete()
        customer.delete()
    with transaction.atomic():
        ids = do_bulk_create_customers(actor, [("Acme", top.pk), ("  Globex   Corp ", None)])
    assert [_as_written(customer_id) for customer_id, _ in ids] == expected
    from rmmbridge.servicedesk.models import Site

    assert [Site.objects.get(pk=site_id).customer_id for _, site_id in ids] == [c for c, _ in ids]


@pytest.mark.parametrize("names", [["Initech", "acme"], ["Initech", "INITECH"], ["Initech", "  "]])
def test_a_bulk_of_customers_with_a_taken_repeated_or_blank_name_is_refused_whole(names: list[str]) -> None:
    from django.core.exceptions import ValidationError
    from django.db import transaction

    from rmmbridge.servicedesk.actions import do_bulk_create_customers
    from rmmbridge.servicedesk.models import Customer, Site

    do_create_customer(Actor.cli("ops"), "Acme")
    before = (Customer.objects.count(), Site.objects.count(), AuditEntry.objects.count())
    with pytest.raises(ValidationError), transaction.atomic():
        do_bulk_create_customers(Actor.sync("Datto"), [(name, None) for name in names])
    assert (Customer.objects.count(), Site.objects.count(), AuditEntry.objects.count()) == before


def test_a_bulk_customer_whose_top_level_is_gone_is_created_without_one() -> None:
    from django.db import transaction

    from rmmbridge.servicedesk.actions import do_bulk_create_customers
    from rmmbridge.servicedesk.models import Customer

    with transaction.atomic():
        [(customer_id, _)] = do_bulk_create_customers(Actor.sync("Datto"), [("Acme", 999_999)])
    assert Customer.objects.get(pk=customer_id).toplevel_id is None
