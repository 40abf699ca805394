"""A prepared query gives the instances its queryset gives (fields, converters, select_related) for any arguments."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, transaction
from django.db.transaction import TransactionManagementError

from rmmbridge.common.prepared import PreparedQuery, model_rows, save_fields, save_row
from rmmbridge.servicedesk.actions import Actor, do_create_asset_group, do_create_asset_type, do_create_customer
from rmmbridge.servicedesk.models import Asset

pytestmark = pytest.mark.django_db

NAMES = ["WS-01", "Ünïcode — PC", "O'Brien's laptop", '"quoted"', "50% off", "%s", "?"]


def _assets() -> None:
    actor = Actor.cli("test")
    workstation = do_create_asset_type(actor, "Workstation", do_create_asset_group(actor, "Computers"))
    for n, name in enumerate(NAMES):
        customer = do_create_customer(actor, f"Customer {n}")
        Asset.objects.create(asset_type=workstation, site=customer.main_site, customer=customer, name=name,
                             values={"hostname": f"host-{n}.example", "ram_gb": n})


def _by_name(name: str, customer_id: int) -> object:
    return (Asset.objects.select_related("site", "customer").filter(name=name, customer_id=customer_id)
            .order_by("pk"))


BY_NAME = PreparedQuery(_by_name, str, int)


def _snapshot(asset: Asset) -> tuple[object, ...]:
    return (asset.pk, asset.name, asset.values, asset.created_at, asset.site.name, asset.site.customer_id,
            asset.customer.name, asset._state.db, asset._state.adding)


def test_the_same_instances_as_the_queryset_for_every_argument() -> None:
    _assets()
    for asset in Asset.objects.all():
        expected = [_snapshot(a) for a in _by_name(asset.name, asset.customer_id)]
        got = BY_NAME.all(asset.name, asset.customer_id)
        assert [_snapshot(a) for a in got] == expected
        assert expected  # each asset is found by its own name
        # select_related filled the cache: no query to reach the site and customer
        assert "site" in got[0]._state.fields_cache
        assert "customer" in got[0]._state.fields_cache
    assert BY_NAME.all("no such asset", 1) == []
    assert BY_NAME.first("no such asset", 1) is None
    first = Asset.objects.order_by("pk").first()
    assert first is not None
    found = BY_NAME.first(first.name, first.customer_id)
    assert found is not None
    assert found.pk == first.pk
    found.name = "renamed"
    found.save()  # a prepared instance saves as an ORM one
    assert Asset.objects.get(pk=first.pk).name == "renamed"


def test_a_value_built_into_the_query_is_refused_as_a_parameter() -> None:
    constant = PreparedQuery(lambda name: Asset.objects.filter(name="fixed"), str)
    with pytest.raises(ValueError, match="not SQL parameters"):
        constant.all("x")
    with pytest.raises(TypeError, match="str or int"):
        PreparedQuery(lambda when: Asset.objects.filter(created_at=when), float).all(1.0)
    with pytest.raises(TypeError, match="takes 2 argument"):
        BY_NAME.all("x")


@pytest.mark.django_db(transaction=True)
def test_a_locking_query_needs_a_transaction_as_the_orm_does() -> None:
    _assets()
    locking = PreparedQuery(lambda name: Asset.objects.select_for_update().filter(name=name).order_by("pk"), str)
    with transaction.atomic():
        assert [a.name for a in locking.all("WS-01")] == ["WS-01"]
    with pytest.raises(TransactionManagementError):
        locking.all("WS-01")


def _row(asset: Asset) -> tuple[object, ...]:
    return (asset.pk, asset.name, asset.values, asset.created_at, asset.updated_at, asset.site_id, asset.active)


def test_model_rows_gives_the_instances_raw_gives() -> None:
    _assets()
    sql = "SELECT {columns} FROM servicedesk_asset a WHERE a.name = %s ORDER BY a.id"
    for name in NAMES:
        expected = [_row(a) for a in Asset.objects.raw(sql.format(columns="a.*"), [name])]
        got = model_rows(Asset, sql, [name])
        assert [_row(a) for a in got] == expected
        assert len(got) == 1
        assert not got[0]._state.adding


def test_prepared_writes_store_what_save_stores() -> None:
    _assets()
    template = Asset.objects.order_by("pk").first()
    assert template is not None
    twin = Asset.objects.get(pk=template.pk)
    # a new row: the same columns as save() writes (auto_now fields filled, JSON encoded, id returned)
    ours = Asset(asset_type=template.asset_type, site=template.site, customer=template.customer, name="New ‘one’",
                 values={"hostname": "x", "nested": {"a": [1, None, "é"]}})
    save_row(ours)
    theirs = Asset(asset_type=template.asset_type, site=template.site, customer=template.customer, name="New ‘one’",
                   values={"hostname": "x", "nested": {"a": [1, None, "é"]}})
    theirs.save()
    assert ours.pk is not None
    assert not ours._state.adding
    stored = Asset.objects.get(pk=ours.pk)
    compare = Asset.objects.get(pk=theirs.pk)
    assert (stored.name, stored.values, stored.site_id, stored.active) == (
        compare.name, compare.values, compare.site_id, compare.active)
    assert stored.created_at is not None
    assert stored.updated_at is not None
    # some columns of a stored row: only those change, auto_now moves on as with save(update_fields=...)
    twin.name = "Renamed elsewhere"
    twin.save()
    template.values = {"hostname": "changed"}
    save_fields(template, ["values", "updated_at"])
    again = Asset.objects.get(pk=template.pk)
    assert again.values == {"hostname": "changed"}
    assert again.name == "Renamed elsewhere"  # not among the fields: left as stored
    assert again.updated_at >= twin.updated_at
    # every column of a stored row
    template.name = "All columns"
    save_row(template)
    assert Asset.objects.get(pk=template.pk).name == "All columns"
    gone = Asset(pk=10**9, asset_type=template.asset_type, site=template.site, customer=template.customer, name="x")
    gone._state.adding = False
    with pytest.raises(DatabaseError, match="did not affect any rows"):
        save_fields(gone, ["name"])
