"""update_rows writes the chosen fields of many rows by primary key, with the database's own value types."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

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
