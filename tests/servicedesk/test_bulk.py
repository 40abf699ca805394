"""update_rows writes the chosen fields of many rows by primary key, with the database's own value types."""

from __future__ import annotations

import functools
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rmmbridge.integrations.models import ExternalRef, Integration
from rmmbridge.servicedesk.actions import Actor, do_create_asset_group, do_create_asset_type, do_create_customer
from rmmbridge.servicedesk.bulk import update_rows
from rmmbridge.servicedesk.models import Asset


@pytest.mark.django_db
def test_update_rows_writes_json_datetimes_nulls_and_foreign_keys_and_nothing_else() -> None:
    actor = Actor.system("test")
    customer = do_create_customer(actor, "Acme")
    site = customer.sites.get()
    other = do_create_customer(actor, "Globex").sites.get()
    kind = do_create_asset_type(actor, "PC", do_create_asset_group(actor, "Devices"))
    assets = Asset.objects.bulk_create([Asset(name=f"PC{i}", asset_type=kind, site=site, customer=customer,
                                              values={"os": "Win10"}) for i in range(2500)])
    for asset in assets:
        asset.values = {"os": "Win11", "ip": ["10.0.0.1", None], "n": 3}
        asset.site_id = other.pk
        asset.name = "not written"
    assert update_rows(assets, ["values", "site"], batch_size=1000) == 2500
    fresh = Asset.objects.get(pk=assets[1234].pk)
    assert fresh.values == {"os": "Win11", "ip": ["10.0.0.1", None], "n": 3}
    assert fresh.site_id == other.pk
    assert fresh.name == "PC1234"
    assert Asset.objects.filter(site=other).count() == 2500

    integration = Integration.objects.create(vendor="datto_rmm", name="Datto")
    when = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    refs = ExternalRef.objects.bulk_create([
        ExternalRef(integration=integration, kind="asset", external_id=f"d{i}", object_id=i, fingerprint="old",
                    first_seen=when, last_seen=when, missing_since=when) for i in range(3)])
    later = datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC)
    for ref in refs:
        ref.fingerprint, ref.missing_since, ref.last_seen = "new", None, later
    update_rows(refs, ["fingerprint", "missing_since", "last_seen"])
    stored = ExternalRef.objects.get(pk=refs[2].pk)
    assert (stored.fingerprint, stored.missing_since, stored.last_seen, stored.first_seen) == ("new", None, later, when)


def test_update_rows_refuses_what_is_not_a_column() -> None:
    with pytest.raises(ValueError, match="not a column"):
        update_rows([Asset(pk=1)], ["children"])


@pytest.mark.django_db
def test_audit_entries_and_refs_go_in_as_tuples_with_json_dates_and_nulls() -> None:
    from django.contrib.auth import get_user_model

    from rmmbridge.integrations.refs import RefRow, create_refs, refs_of
    from rmmbridge.servicedesk.actions import record_audit_many
    from rmmbridge.servicedesk.bulk import insert_rows
    from rmmbridge.servicedesk.models import AuditEntry

    actor = Actor.system("test")
    customer = do_create_customer(actor, "Acme")
    kind = do_create_asset_type(actor, "PC", do_create_asset_group(actor, "Devices"))
    assets = Asset.objects.bulk_create([Asset(name=f"PC{i}", asset_type=kind, site=customer.sites.get(),
                                              customer=customer) for i in range(1500)])
    person = get_user_model().objects.create_user("ann", password="x")
    before = AuditEntry.objects.count()
    written = record_audit_many(Actor.ui(person), ((a, "create", {"name": [None, a.name], "ip": ["1", None]})
                                                   for a in assets))
    assert written == 1500 == AuditEntry.objects.count() - before
    entry = AuditEntry.objects.get(object_type="asset", object_id=assets[1234].pk)
    assert (entry.actor_id, entry.action, entry.object_repr) == (person.pk, "create", "PC1234")
    assert entry.changes == {"name": [None, "PC1234"], "ip": ["1", None]}
    assert entry.at is not None
    assert entry.at.tzinfo is not None

    integration = Integration.objects.create(vendor="datto_rmm", name="Datto")
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert create_refs(integration.pk, [RefRow("asset", f"d{a.pk}", a.pk, "f" * 56) for a in assets], now=now) == 1500
    refs = {r.external_id: r for r in refs_of(integration.pk)}
    ref = ExternalRef.objects.get(pk=refs[f"d{assets[7].pk}"].pk)
    assert (ref.object_id, ref.fingerprint, ref.first_seen, ref.last_seen, ref.missing_since) == (
        assets[7].pk, "f" * 56, now, now, None)
    with pytest.raises(ValueError, match="not a column"):
        insert_rows(AuditEntry, ["actor"], [(None,)])


@pytest.mark.django_db
@pytest.mark.parametrize("returning", [None, False], ids=["returning", "fallback"])
def test_bulk_insert_assets_gives_each_row_its_id_fields_values_provenance_and_audit(
        returning: bool | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Assets go in as tuples (`INSERT … RETURNING` or, on SQLite without it, the checked consecutive ids): each
    row's id is the asset holding that row's name, type, site, user, tag and values; audit and provenance follow."""
    from django.contrib.auth import get_user_model

    from rmmbridge.servicedesk import bulk
    from rmmbridge.servicedesk.actions import NewAsset, do_bulk_insert_assets, do_create_end_user
    from rmmbridge.servicedesk.models import AuditEntry
    from rmmbridge.servicedesk.provenance import SYNC, Source

    actor = Actor.system("test")
    customer = do_create_customer(actor, "Acme")
    site = customer.sites.get()
    other = do_create_customer(actor, "Globex").sites.get()
    kind = do_create_asset_type(actor, "PC", do_create_asset_group(actor, "Devices"))
    server = do_create_asset_type(actor, "Server", do_create_asset_group(actor, "Servers"))
    user = do_create_end_user(actor, other, "Bob Smith", email="bob@example.com")
    gone = Asset.objects.bulk_create([Asset(name=f"old{i}", asset_type=kind, site=site, customer=customer)
                                      for i in range(3)])
    Asset.objects.filter(pk=gone[-1].pk).delete()  # the next id is above the highest one left: no reuse
    rows = [NewAsset(name=f"  PC-{i:05d} ", asset_type_id=(server if i % 3 else kind).pk,
                     site_id=(other if i % 2 else site).pk, customer_id=(other if i % 2 else site).customer_id,
                     asset_tag=f"T{i}" if i % 5 == 0 else "", end_user_id=user.pk if i % 2 else None,
                     values={"serial_number": f"SN{i}", "ram_gb": i % 64, "warranty_end": "2027-01-31",
                             "dropped": None})
            for i in range(2600)]
    person = get_user_model().objects.create_user("ann", password="x")
    source = Source(SYNC, "Datto", 7, 42, "2026-12-02T10:00:00")
    if returning is False:  # the path for SQLite before 3.35, taken on any SQLite (PostgreSQL ignores it)
        from rmmbridge.servicedesk.actions import assets as asset_actions

        monkeypatch.setattr(asset_actions, "insert_rows_returning",
                            functools.partial(bulk.insert_rows_returning, returning=False))
    ids = do_bulk_insert_assets(Actor.ui(person), rows, batch_size=700, source=source)
    assert len(ids) == len(set(ids)) == 2600
    assert [r.pk for r in rows] == ids
    assert min(ids) > gone[-1].pk
    stored = Asset.objects.in_bulk(ids)
    for i, pk in enumerate(ids):
        asset = stored[pk]
        assert asset.name == f"PC-{i:05d}"
        assert (asset.asset_type_id, asset.site_id, asset.customer_id) == (
            (server if i % 3 else kind).pk, (other if i % 2 else site).pk, (other if i % 2 else site).customer_id)
        assert asset.end_user_id == (user.pk if i % 2 else None)
        assert asset.asset_tag == (f"T{i}" if i % 5 == 0 else "")
        assert asset.values == {"serial_number": f"SN{i}", "ram_gb": i % 64, "warranty_end": "2027-01-31"}
        assert asset.active is True
        assert asset.locally_edited == []
        assert asset.created_by_integration == 7
        assert asset.created_at is not None
        assert asset.created_at == asset.updated_at
    sample = stored[ids[1]]
    assert sample.provenance == {
        "sources": [{"by": SYNC, "label": "Datto", "at": "2026-12-02T10:00:00", "integration": 7, "run": 42}],
        "fields": {"name": 0, "asset_type": 0, "site": 0, "serial_number": 0, "ram_gb": 0, "warranty_end": 0,
                   "end_user": 0}}
    assert "end_user" not in stored[ids[0]].provenance["fields"]
    audits = {e.object_id: e for e in AuditEntry.objects.filter(object_type="asset", action="create",
                                                                  object_id__in=ids)}
    assert len(audits) == 2600
    entry = audits[ids[2599]]
    assert (entry.actor_id, entry.source, entry.object_repr) == (person.pk, "ui", "PC-02599")
    assert entry.changes == {"name": [None, "PC-02599"], "serial_number": [None, "SN2599"], "ram_gb": [None, 2599 % 64],
                             "warranty_end": [None, "2027-01-31"]}


@pytest.mark.django_db
def test_bulk_insert_assets_refuses_a_row_without_its_site_and_writes_nothing() -> None:
    from django.core.exceptions import ValidationError
    from django.db import transaction

    from rmmbridge.servicedesk.actions import NewAsset, do_bulk_insert_assets

    actor = Actor.system("test")
    customer = do_create_customer(actor, "Acme")
    kind = do_create_asset_type(actor, "PC", do_create_asset_group(actor, "Devices"))
    site = customer.sites.get()
    good = NewAsset(name="PC1", asset_type_id=kind.pk, site_id=site.pk, customer_id=customer.pk)
    bad = NewAsset(name="PC2", asset_type_id=kind.pk, site_id=None, customer_id=customer.pk)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="Asset 'PC2' needs site"), transaction.atomic():
        do_bulk_insert_assets(actor, [good, bad])
    assert not Asset.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_insert_rows_returning_needs_a_transaction() -> None:
    from rmmbridge.servicedesk.bulk import insert_rows_returning

    with pytest.raises(RuntimeError, match=r"inside transaction\.atomic"):
        insert_rows_returning(Asset, ["name"], [("x",)])


@pytest.mark.django_db(transaction=True)
def test_an_encoded_json_value_is_stored_as_the_value_itself_and_a_bad_row_names_the_database_error() -> None:
    from django.db import IntegrityError, transaction

    from rmmbridge.servicedesk.bulk import EncodedJSON, insert_rows, insert_rows_returning
    from rmmbridge.servicedesk.models import AuditEntry

    shared = EncodedJSON.of({"sources": [["sync", "Datto", 1]], "fields": {"name": 0, "ip": 0}})
    at = datetime(2026, 1, 2, tzinfo=UTC)
    columns = ["at", "actor_label", "source", "object_type", "object_id", "object_repr", "action", "changes"]
    insert_rows(AuditEntry, columns, [(at, "t", "system", "asset", i, f"A{i}", "create", shared) for i in range(3)])
    stored = list(AuditEntry.objects.filter(object_type="asset").values_list("changes", flat=True))
    assert stored == [shared.value] * 3
    assert AuditEntry.objects.filter(changes__fields__ip=0).count() == 3  # a JSON value, not a JSON string

    actor = Actor.system("test")
    customer = do_create_customer(actor, "Acme")
    kind = do_create_asset_type(actor, "PC", do_create_asset_group(actor, "Devices"))
    site = customer.sites.get()
    asset_columns = ["asset_tag", "name", "asset_type_id", "site_id", "customer_id", "active", "values",
                     "locally_edited", "provenance", "created_at", "updated_at"]
    with transaction.atomic():
        ids = insert_rows_returning(Asset, asset_columns, [
            ("", f"PC{i}", kind.pk, site.pk, customer.pk, True, {"ip": f"10.0.0.{i}"}, [], shared, at, at)
            for i in range(5)])
    assert [Asset.objects.get(pk=pk).provenance for pk in ids] == [shared.value] * 5
    with pytest.raises(IntegrityError), transaction.atomic():  # a Django error, as from any other query
        insert_rows_returning(Asset, asset_columns, [("", None, kind.pk, site.pk, customer.pk, True, {}, [], shared,
                                                      at, at)])
    assert Asset.objects.count() == 5


@pytest.mark.django_db
def test_text_and_json_that_look_like_copy_syntax_are_stored_as_given() -> None:
    """On PostgreSQL the rows go in by COPY: tabs, newlines, backslashes, a literal `\\N` and non-ASCII text in
    columns and JSON values come back as they were given, and a missing value stays a null."""
    from django.db import transaction

    from rmmbridge.servicedesk.bulk import insert_rows, insert_rows_returning
    from rmmbridge.servicedesk.models import AuditEntry

    actor = Actor.system("test")
    customer = do_create_customer(actor, "Acme")
    kind = do_create_asset_type(actor, "PC", do_create_asset_group(actor, "Devices"))
    site = customer.sites.get()
    at = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    odd = ["tab\there", "line\nbreak\r\n", "back\\slash", "\\N", "", "Zoë ✓ 漢字", "quote\"'", "end\\"]
    columns = ["asset_tag", "name", "asset_type_id", "site_id", "customer_id", "end_user_id", "active", "values",
               "locally_edited", "provenance", "created_at", "updated_at"]
    with transaction.atomic():
        ids = insert_rows_returning(Asset, columns, [
            (text[:100], text or "blank", kind.pk, site.pk, customer.pk, None, i % 2 == 0,
             {"note": text, "nested": {"k\t": [text, None, 1.5, True]}}, [text], {}, at, at)
            for i, text in enumerate(odd)])
    assert ids == sorted(ids)
    stored = Asset.objects.in_bulk(ids)
    for i, (pk, text) in enumerate(zip(ids, odd, strict=True)):
        asset = stored[pk]
        assert (asset.asset_tag, asset.name, asset.end_user_id, asset.active) == (text, text or "blank", None,
                                                                                  i % 2 == 0)
        assert asset.values == {"note": text, "nested": {"k\t": [text, None, 1.5, True]}}
        assert asset.locally_edited == [text]
        assert asset.created_at == at
    written = insert_rows(AuditEntry, ["at", "actor_id", "actor_label", "source", "object_type", "object_id",
                                       "object_repr", "action", "changes"],
                          [(at, None, text, "system", "asset", pk, text, "create", {"name": [None, text]})
                           for pk, text in zip(ids, odd, strict=True)])
    assert written == len(odd)
    entries = {e.object_id: e for e in AuditEntry.objects.filter(object_id__in=ids, action="create")}
    assert [(entries[pk].actor_label, entries[pk].object_repr, entries[pk].changes, entries[pk].actor_id)
            for pk in ids] == [(t, t, {"name": [None, t]}, None) for t in odd]
    later = Asset.objects.create(name="after", asset_type=kind, site=site, customer=customer)
    assert later.pk > max(ids)  # the sequence moved past the ids the rows were given


@given(count=st.integers(min_value=0, max_value=20_000), per=st.integers(min_value=1, max_value=2_500))
def test_statement_sizes_cover_every_row_with_few_distinct_statements(count: int, per: int) -> None:
    from rmmbridge.servicedesk.bulk import statement_sizes

    sizes = statement_sizes(count, per)
    assert sum(sizes) == count
    assert all(0 < size <= per for size in sizes)
    rest = [size for size in sizes if size != per]
    assert all(size & (size - 1) == 0 for size in rest)  # powers of two
    assert rest == sorted(set(rest), reverse=True)  # each at most once, largest first
    assert len(set(sizes)) <= per.bit_length() + 1  # what a connection's statement cache may have to hold


@pytest.mark.django_db
@pytest.mark.parametrize("count", [1, 7, 12, 13, 40])
def test_rows_split_over_several_statements_get_their_own_ids_in_order(count: int) -> None:
    from django.db import transaction

    from rmmbridge.servicedesk.bulk import insert_rows_returning

    actor = Actor.system("test")
    customer = do_create_customer(actor, "Acme")
    kind = do_create_asset_type(actor, "PC", do_create_asset_group(actor, "Devices"))
    site = customer.sites.get()
    at = datetime(2026, 1, 2, tzinfo=UTC)
    columns = ["asset_tag", "name", "asset_type_id", "site_id", "customer_id", "active", "values", "locally_edited",
               "provenance", "created_at", "updated_at"]
    with transaction.atomic():  # 5 rows per statement: 13 rows go in as 5 + 5 + 2 + 1
        ids = insert_rows_returning(Asset, columns, [("", f"PC{i}", kind.pk, site.pk, customer.pk, True, {"n": i},
                                                      [], {}, at, at) for i in range(count)], batch_size=5)
    assert len(set(ids)) == count
    assert [(a.name, a.values) for a in map(Asset.objects.in_bulk(ids).__getitem__, ids)] == [
        (f"PC{i}", {"n": i}) for i in range(count)]
