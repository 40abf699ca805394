"""The typed plan contract: every payload the planner emits round-trips through the stored JSON unchanged, rows
stored before the payloads were typed read back as the same types, and those are the types apply reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rmmbridge.sync.apply.base import ApplyError, asset_change, payload
from rmmbridge.sync.payloads import (
    AssetChange,
    AssetConflict,
    AssetTypeCreate,
    CustomerCreate,
    CustomerLink,
    Entity,
    FieldCreate,
    MissingMark,
    OpKind,
    PayloadError,
    SiteCreate,
    UserCreate,
    payload_from_json,
)
from rmmbridge.sync.plan import Op

from .contract_scenario import contract_plan

#: The rows `contract_plan()` stored (`Op.to_dict()`) before the payloads were typed, written by the planner of
#: that time (its `data` was a plain dict): the stored JSON must keep exactly this shape.
BEFORE = Path(__file__).parent / "data" / "plan_rows_before.json"

#: Every (entity, kind) the scenario plans, and the payload type it carries (None: no data).
EXPECTED: dict[tuple[Entity, OpKind, str], type | None] = {
    (Entity.CUSTOMERS, OpKind.LINK, "c-1"): CustomerLink,  # a name match: add_mapping
    (Entity.CUSTOMERS, OpKind.LINK, "c-2"): CustomerLink,  # a mapping row: no add_mapping key
    (Entity.CUSTOMERS, OpKind.CONFLICT, "c-3"): None,
    (Entity.CUSTOMERS, OpKind.CREATE, "c-4"): CustomerCreate,
    (Entity.SITES, OpKind.LINK, "s-main"): None,
    (Entity.SITES, OpKind.CREATE, "s-lab"): SiteCreate,
    (Entity.SITES, OpKind.CREATE, "s-new"): SiteCreate,  # under a customer this plan creates
    (Entity.USERS, OpKind.LINK, "u-1"): None,
    (Entity.USERS, OpKind.CREATE, "u-2"): UserCreate,
    (Entity.USERS, OpKind.UPDATE, "u-3"): None,
    (Entity.FIELDS, OpKind.CREATE, "CFplatform"): FieldCreate,
    (Entity.ASSET_TYPES, OpKind.CREATE, "server"): AssetTypeCreate,
    (Entity.ASSETS, OpKind.CREATE, "d-new"): AssetChange,
    (Entity.ASSETS, OpKind.CREATE, "d-child"): AssetChange,
    (Entity.ASSETS, OpKind.UPDATE, "d-upd"): AssetChange,
    (Entity.ASSETS, OpKind.LINK, "d-link"): AssetChange,
    (Entity.ASSETS, OpKind.CONFLICT, "d-dup"): AssetConflict,
    (Entity.ASSETS, OpKind.REACTIVATE, "d-back"): AssetChange,
    (Entity.ASSETS, OpKind.UNCHANGED, "d-same"): AssetChange,
    (Entity.ASSETS, OpKind.UNCHANGED, "d-gone"): MissingMark,
    (Entity.ASSETS, OpKind.DEACTIVATE, "d-dead"): None,
}


def stored_before() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(BEFORE.read_text())
    return rows


def test_the_planner_emits_every_payload_kind() -> None:
    ops = contract_plan().ops
    assert {(op.entity, op.kind, op.external_id): type(op.data) if op.data is not None else None
            for op in ops} == EXPECTED
    assert all(type(op.entity) is Entity and type(op.kind) is OpKind for op in ops)


def test_every_op_round_trips_through_the_stored_json() -> None:
    for op in contract_plan().ops:
        text = json.dumps(op.to_dict())
        back = Op.from_dict(json.loads(text))
        assert back == op, op.external_id
        assert json.dumps(back.to_dict()) == text


def test_the_stored_json_keeps_the_shape_it_had_before() -> None:
    """Byte for byte, key order included: previews stored before still render and apply the same."""
    now = [op.to_dict() for op in contract_plan().ops]
    assert json.dumps(now, indent=1) == json.dumps(stored_before(), indent=1)


def test_rows_stored_before_read_back_as_the_types_apply_reads() -> None:
    ops = {(op.entity, op.kind, op.external_id): op for op in map(Op.from_dict, stored_before())}
    assert {key: type(op.data) if op.data is not None else None for key, op in ops.items()} == EXPECTED
    link = payload(ops[Entity.CUSTOMERS, OpKind.LINK, "c-1"], CustomerLink)
    assert (link.add_mapping, link.site_id) == (True, 11)
    assert payload(ops[Entity.CUSTOMERS, OpKind.LINK, "c-2"], CustomerLink).add_mapping is None
    created = payload(ops[Entity.CUSTOMERS, OpKind.CREATE, "c-4"], CustomerCreate)
    site = payload(ops[Entity.SITES, OpKind.CREATE, "s-new"], SiteCreate)
    assert site.customer_id == created.temp_id < 0  # apply maps the new customer's temporary id
    assert payload(ops[Entity.USERS, OpKind.CREATE, "u-2"], UserCreate).email == "new@acme.test"
    assert payload(ops[Entity.FIELDS, OpKind.CREATE, "CFplatform"], FieldCreate).kind == "custom_field"
    assert payload(ops[Entity.ASSET_TYPES, OpKind.CREATE, "server"], AssetTypeCreate).group_name == "RMM devices"
    child = asset_change(ops[Entity.ASSETS, OpKind.CREATE, "d-child"])
    assert child.set["parent_external_id"] == "d-upd"
    assert child.set["asset_type_id"] == 7
    assert asset_change(ops[Entity.ASSETS, OpKind.UPDATE, "d-upd"]).set == {"name": "NEW-NAME"}
    back = asset_change(ops[Entity.ASSETS, OpKind.REACTIVATE, "d-back"])
    assert back.clear_missing
    assert back.set == {"active": True}
    assert asset_change(ops[Entity.ASSETS, OpKind.UNCHANGED, "d-same"]).refresh_fingerprint
    assert ops[Entity.ASSETS, OpKind.UNCHANGED, "d-gone"].data == MissingMark("2026-01-10T12:00:00+00:00")
    assert ops[Entity.ASSETS, OpKind.CONFLICT, "d-dup"].data == AssetConflict((600, 601))
    # an asset op without a change payload writes nothing
    assert asset_change(ops[Entity.ASSETS, OpKind.DEACTIVATE, "d-dead"]) == AssetChange()


def test_a_deferred_create_keeps_its_mark_in_the_stored_json() -> None:
    op = next(op for op in contract_plan().ops if op.external_id == "d-new")
    assert isinstance(op.data, AssetChange)
    op.data.deferred_to = 77
    raw = op.to_dict()
    assert list(raw["data"]) == ["set", "deferred_to"]
    assert raw["data"]["deferred_to"] == 77
    assert Op.from_dict(raw).data == op.data


def test_a_row_without_its_payload_says_to_run_the_preview_again() -> None:
    op = Op.from_dict({"entity": "sites", "kind": "create", "external_id": "s-1", "data": {}})
    with pytest.raises(ApplyError, match="carries no SiteCreate data; run the preview again"):
        payload(op, SiteCreate)
    with pytest.raises(PayloadError, match="sites create row's data is incomplete or malformed"):
        payload_from_json(Entity.SITES, OpKind.CREATE, {"temp_id": -1, "name": "Lab"})
    with pytest.raises(PayloadError, match="a users link row carries no data"):
        payload_from_json(Entity.USERS, OpKind.LINK, {"site_id": 3})
    stored = Op.from_dict({"entity": "sites", "kind": "create", "external_id": "s-2",
                           "data": {"temp_id": -1, "name": "Lab"}})
    assert stored.data is None
    assert "sites create row's data is incomplete or malformed" in stored.warnings[0]
    with pytest.raises(ApplyError, match="run the preview again"):
        payload(stored, SiteCreate)
    with pytest.raises(ValueError, match="'gadgets' is not a valid Entity"):
        Op.from_dict({"entity": "gadgets", "kind": "create", "external_id": "x"})


@pytest.mark.django_db
def test_a_damaged_stored_row_fails_alone_and_the_rest_of_the_preview_applies() -> None:
    """Preview → apply from stored rows over HTTP into the real database: the stored JSON is read back into the
    typed payloads; a customer row whose data lost its temporary ids fails with what to do, nothing else is lost."""
    from rmmbridge.connectors.testing.server import serve_emulator
    from rmmbridge.integrations import actions
    from rmmbridge.servicedesk.actions import Actor
    from rmmbridge.servicedesk.models import Asset, Customer
    from rmmbridge.sync.models import RowStatus, SyncStatus
    from rmmbridge.sync.runner import apply_rows, run_sync

    with serve_emulator("datto_rmm", seed=3, customers=3, devices=12, alerts=0) as datto:
        integration = actions.do_create_integration(Actor.cli("test"), "datto_rmm", "Datto",
                                                    dict(datto.credentials), test=False)
        preview = run_sync(integration.pk, dry_run=True, trigger="ui")
        assert preview.status == SyncStatus.PLANNED
        customers = list(preview.rows.filter(entity="customers", kind="create").order_by("position"))
        assert len(customers) == 3
        damaged = customers[0]
        stored = dict(damaged.op)
        stored["data"] = {"name": stored["data"]["name"]}  # temp_id and main_site_temp_id gone
        damaged.op = stored
        damaged.save(update_fields=["op"])
        applied = apply_rows(preview)
    assert applied.status == SyncStatus.PARTIAL
    damaged.refresh_from_db()
    assert damaged.status == RowStatus.FAILED
    assert "carries no CustomerCreate data; run the preview again" in damaged.error
    assert damaged.op == stored  # the stored row is kept as it was
    assert Customer.objects.count() == 2
    assert preview.rows.filter(entity="customers", status=RowStatus.APPLIED).count() == 2
    placed = preview.rows.filter(entity="assets", kind="create", status=RowStatus.APPLIED).count()
    assert placed == Asset.objects.count() > 0
