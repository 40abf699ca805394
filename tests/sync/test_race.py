"""Two syncs creating the same shared records: the loser reads the winner's record back and uses it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection, connections

from rmmbridge.connectors.testing.server import serve_emulator
from rmmbridge.integrations import actions
from rmmbridge.integrations.models import ExternalRef, Integration
from rmmbridge.servicedesk.actions import (
    Actor,
    do_create_asset_group,
    do_create_asset_type,
    do_create_customer,
    do_create_field_definition,
)
from rmmbridge.servicedesk.models import Asset, AssetType, Customer, FieldDefinition
from rmmbridge.sync.models import CustomerMapping, SyncStatus
from rmmbridge.sync.runner import apply_rows, run_sync

MEANWHILE = "it was created meanwhile (by another sync or a person), so this run used that"


@pytest.fixture
def datto() -> Iterator[Any]:
    with serve_emulator("datto_rmm", seed=5, customers=2, devices=12, alerts=0) as emulator:
        yield emulator


def _integration(datto: Any) -> Integration:
    return actions.do_create_integration(Actor.cli("test"), "datto_rmm", "Datto", dict(datto.credentials), test=False)


@pytest.mark.django_db
def test_records_created_between_plan_and_apply_are_used(datto: Any) -> None:
    integration = _integration(datto)
    preview = run_sync(integration.pk, dry_run=True)
    customer_rows = list(preview.rows.filter(entity="customers", kind="create"))
    type_rows = list(preview.rows.filter(entity="asset_types", kind="create"))
    field_rows = list(preview.rows.filter(entity="fields", kind="create"))
    assert customer_rows
    assert type_rows
    assert field_rows
    # another integration's sync creates the same records (other case) after this plan was made
    other = Actor.sync("other integration")
    group = do_create_asset_group(other, "Other group")
    winners = {row.external_id: do_create_customer(other, row.op["data"]["name"].upper()) for row in customer_rows}
    types = {do_create_asset_type(other, row.op["data"]["name"].lower(), group).pk for row in type_rows}
    fields = {do_create_field_definition(other, row.op["data"]["name"].upper(), kind=row.op["data"]["kind"]).pk
              for row in field_rows}

    run = apply_rows(preview)

    assert run.status == SyncStatus.SUCCESS, run.errors
    assert Customer.objects.count() == len(winners)
    assert set(AssetType.objects.values_list("pk", flat=True)) == types
    assert set(FieldDefinition.objects.values_list("pk", flat=True)) == fields
    for external_id, customer in winners.items():
        row = run.rows.get(entity="customers", external_id=external_id)
        assert row.status == "applied"
        assert f"{MEANWHILE} customer (#{customer.pk})" in row.reason
        assert CustomerMapping.objects.get(integration=integration, external_id=external_id).customer_id == customer.pk
        ref = ExternalRef.objects.get(integration=integration, kind="customer", external_id=external_id)
        assert ref.object_id == customer.pk
    for row in run.rows.filter(entity__in=["asset_types", "fields"], kind="create"):
        assert MEANWHILE in row.reason, row.reason
    assert Asset.objects.count() == run.counts["assets"]["created"] > 0
    assert set(Asset.objects.values_list("customer_id", flat=True)) <= {c.pk for c in winners.values()}
    assert set(Asset.objects.values_list("asset_type_id", flat=True)) <= types
    again = run_sync(integration.pk)
    assert again.status == SyncStatus.SUCCESS, again.errors
    assert again.counts["customers"]["created"] == 0
    assert again.counts["assets"]["created"] == 0


def _others_insert_first(creators: dict[str, Callable[[], Any]]) -> Callable[..., Any]:
    """An execute wrapper: just before this connection first inserts into one of these tables (one row at a time,
    or reserving the ids of a bulk insert: bulk.insert_rows_returning), another connection (another sync) creates
    and commits the same records, so the insert itself hits the unique constraint."""
    pending = dict(creators)

    def writes(table: str, sql: str, params: Any) -> bool:
        return sql.startswith(f'INSERT INTO "{table}"') or (
            "pg_get_serial_sequence" in sql and bool(params) and params[0] == f'"{table}"')

    def wrapper(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        table = next((t for t in pending if writes(t, sql, params)), None)
        if table is not None:
            create = pending.pop(table)
            failure: list[BaseException] = []

            def other_sync() -> None:
                try:
                    create()
                except BaseException as exc:  # reported to the test below
                    failure.append(exc)
                finally:
                    connections.close_all()

            thread = threading.Thread(target=other_sync)
            thread.start()
            thread.join(20)
            assert not failure, failure
        return execute(sql, params, many, context)

    return wrapper


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_unique_constraint_hit_reads_the_record_back(datto: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("a true concurrent insert needs two connections writing at once (make pytest-postgres)")
    integration = _integration(datto)
    preview = run_sync(integration.pk, dry_run=True)
    customers = [row.op["data"]["name"] for row in preview.rows.filter(entity="customers", kind="create")]
    types = [row.op["data"]["name"] for row in preview.rows.filter(entity="asset_types", kind="create")]
    fields = [(row.op["data"]["name"], row.op["data"]["kind"])
              for row in preview.rows.filter(entity="fields", kind="create")]
    other = Actor.sync("other integration")

    def other_types() -> None:
        group = do_create_asset_group(other, "Other group")
        for name in types:
            do_create_asset_type(other, name.upper(), group)

    creators: dict[str, Callable[[], Any]] = {
        "servicedesk_customer": lambda: [do_create_customer(other, name.lower()) for name in customers],
        "servicedesk_assettype": other_types,
        "servicedesk_fielddefinition": lambda: [do_create_field_definition(other, name.upper(), kind=kind)
                                                for name, kind in fields],
    }
    with connection.execute_wrapper(_others_insert_first(creators)):
        run = run_sync(integration.pk)
    assert run.status == SyncStatus.SUCCESS, run.errors
    assert Customer.objects.count() == len(customers)
    assert AssetType.objects.count() == len(types)
    assert FieldDefinition.objects.count() == len(fields)
    for entity in ("customers", "asset_types", "fields"):
        rows = run.rows.filter(entity=entity, kind="create")
        assert rows.count() > 0, entity
        assert all(MEANWHILE in row.reason for row in rows), entity
    assert Asset.objects.count() == run.counts["assets"]["created"] > 0
