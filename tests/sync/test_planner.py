"""Table tests of the pure planner: every rule of customers, sites, users, assets, missing devices, guard."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rmmbridge.connectors.rawcheck import KnownDevice
from rmmbridge.connectors.records import DeviceType, RemoteCustomer, RemoteDevice, RemoteSite, RemoteUser
from rmmbridge.sync.payloads import FieldCreate
from rmmbridge.sync.plan import (
    AssetBrief,
    FieldMap,
    FieldPolicy,
    LocalAsset,
    LocalAssetType,
    LocalCustomer,
    LocalField,
    LocalRef,
    LocalSite,
    LocalUser,
    Mapping,
    MatchRule,
    MissingAction,
    NewCustomerMode,
    Op,
    OpKind,
    Snapshot,
    SyncSettings,
    TypeMap,
)
from rmmbridge.sync.planner import (
    RemoteData,
    TempIds,
    build_plan,
    guard,
    plan_customers_sites,
    plan_missing,
    plan_users,
    user_index,
)
from rmmbridge.sync.planner.stream import HAND_EVERY

NOW = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


def snapshot() -> Snapshot:
    snap = Snapshot()
    snap.customers = {1: LocalCustomer(1, "Acme Ltd", 11), 2: LocalCustomer(2, "Globex", 21),
                      3: LocalCustomer(3, "Twin", 31), 4: LocalCustomer(4, "Twin Inc", 41)}
    snap.sites = {11: LocalSite(11, 1, "Main", True), 12: LocalSite(12, 1, "Branch"),
                  21: LocalSite(21, 2, "Main", True),
                  31: LocalSite(31, 3, "Main", True), 41: LocalSite(41, 4, "Main", True)}
    snap.users = {100: LocalUser(100, 1, 11, "Jane Doe", "jane@acme.test"), 101: LocalUser(101, 1, 11, "Bob Roe")}
    snap.asset_types = {7: LocalAssetType(7, "Workstation"), 8: LocalAssetType(8, "Servers")}
    snap.fields = {"serial_number": LocalField("serial_number", "Serial number"),
                   "warranty": LocalField("warranty", "Warranty end", "date"),
                   "os": LocalField("os", "OS")}
    return snap


def settings(**overrides: object) -> SyncSettings:
    base = SyncSettings(
        field_maps=[FieldMap("serial_number", "serial_number")],
        match_rules=[MatchRule("serial_number"), MatchRule("name", within_customer=True)],
    )
    for key, value in overrides.items():
        setattr(base, key, value)
    return base


def dev(ext: str, host: str = "PC", site: str | None = "s-acme", **kw: object) -> RemoteDevice:
    return RemoteDevice(external_id=ext, hostname=host, site_external_id=site, customer_external_id=site,
                        device_type=kw.pop("device_type", DeviceType.WORKSTATION), **kw)  # type: ignore[arg-type]


def only(ops: list[Op], entity: str) -> list[Op]:
    return [op for op in ops if op.entity == entity]


# Customers and sites --------------------------------------------------------------------------------

@pytest.mark.parametrize(("remote_name", "cfg", "refs", "kind", "target", "reason"), [
    ("ACME limited", {}, {}, OpKind.LINK, 1, "matched by name 'Acme Ltd'"),
    ("Other", {"mappings": [Mapping("c-x", 2)]}, {}, OpKind.LINK, 2, "mapped to 'Globex'"),
    ("Whatever", {}, {("customer", "c-x"): LocalRef("customer", "c-x", 2)}, OpKind.UNCHANGED, 2, "earlier import"),
    ("Twin", {}, {}, OpKind.CONFLICT, None, "matches 2 local customers"),
    ("Brand New", {}, {}, OpKind.CREATE, -1, "create it"),
    ("Brand New", {"new_customer_mode": NewCustomerMode.REVIEW}, {}, OpKind.SKIP, None, "left for review"),
])
def test_customer_resolution(remote_name: str, cfg: dict[str, object], refs: dict[tuple[str, str], LocalRef],
                             kind: OpKind, target: int | None, reason: str) -> None:
    snap = snapshot()
    snap.refs = refs
    ops, res = plan_customers_sites([RemoteCustomer("c-x", remote_name)], [], snap, settings(**cfg), TempIds(),
                                    sites_are_customers=False)
    assert [(op.kind, op.target_id) for op in ops] == [(kind, target)]
    assert reason in ops[0].reason
    assert ("c-x" in res.by_customer) is (target is not None)


def test_name_match_adds_a_mapping_row() -> None:
    ops, _ = plan_customers_sites([RemoteCustomer("c-1", "Acme")], [], snapshot(), settings(), TempIds(),
                                  sites_are_customers=False)
    assert ops[0].data.add_mapping is True


def test_datto_each_site_becomes_a_customer_with_its_main_site() -> None:
    ops, res = plan_customers_sites([], [RemoteSite("s-1", "New Co"), RemoteSite("s-2", "Acme")], snapshot(),
                                    settings(), TempIds(), sites_are_customers=True)
    assert [op.kind for op in ops] == [OpKind.CREATE, OpKind.LINK]
    assert ops[0].data.site_external_id == "s-1"
    assert res.by_site["s-1"].site_id == ops[0].data.main_site_temp_id
    assert res.by_site["s-2"].site_id == 11  # Acme's main site


def test_datto_all_sites_under_one_customer() -> None:
    cfg = settings(new_customer_mode=NewCustomerMode.ONE_CUSTOMER, one_customer_id=1)
    ops, res = plan_customers_sites([], [RemoteSite("s-1", "Branch"), RemoteSite("s-2", "Lab")], snapshot(), cfg,
                                    TempIds(), sites_are_customers=True)
    assert [(op.entity, op.kind) for op in ops] == [("sites", OpKind.LINK), ("sites", OpKind.CREATE)]
    assert res.by_site["s-1"].site_id == 12
    assert ops[1].data.customer_id == 1


def test_one_customer_mode_without_customer_asks_to_choose() -> None:
    cfg = settings(new_customer_mode=NewCustomerMode.ONE_CUSTOMER)
    ops, _ = plan_customers_sites([], [RemoteSite("s-1", "Lab")], snapshot(), cfg, TempIds(), sites_are_customers=True)
    assert ops[0].kind is OpKind.SKIP
    assert "no customer is set" in ops[0].reason


def test_sites_of_vendor_with_customers() -> None:
    sites = [RemoteSite("l-1", "branch", "c-1"), RemoteSite("l-2", "Warehouse", "c-1"), RemoteSite("l-3", "X", "c-9")]
    ops, res = plan_customers_sites([RemoteCustomer("c-1", "Acme")], sites, snapshot(), settings(
        new_customer_mode=NewCustomerMode.REVIEW), TempIds(), sites_are_customers=False)
    site_ops = only(ops, "sites")
    assert [op.kind for op in site_ops] == [OpKind.LINK, OpKind.CREATE, OpKind.SKIP]
    assert res.by_site["l-1"].site_id == 12
    assert site_ops[1].data.customer_id == 1


def test_site_mapping_row_wins() -> None:
    cfg = settings(mappings=[Mapping("l-1", 2, 21, kind="site")])
    ops, res = plan_customers_sites([], [RemoteSite("l-1", "Somewhere", "c-1")], snapshot(), cfg, TempIds(),
                                    sites_are_customers=False)
    assert ops[0].kind is OpKind.LINK
    assert res.by_site["l-1"].customer_id == 2


# Users ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("user", "kind", "target", "reason"), [
    (RemoteUser("u1", "J. Doe", "JANE@acme.test", "c-1"), OpKind.LINK, 100, "matched by e-mail"),
    (RemoteUser("u2", "bob  roe", None, "c-1"), OpKind.LINK, 101, "matched by name"),
    (RemoteUser("u3", "New Person", "new@acme.test", "c-1"), OpKind.CREATE, -1, "no user"),
    (RemoteUser("u4", "Nobody", None, "c-unknown"), OpKind.SKIP, None, "not mapped"),
])
def test_user_matching(user: RemoteUser, kind: OpKind, target: int | None, reason: str) -> None:
    snap = snapshot()
    cfg = settings(new_customer_mode=NewCustomerMode.REVIEW)
    _, res = plan_customers_sites([RemoteCustomer("c-1", "Acme")], [], snap, cfg, TempIds(), sites_are_customers=False)
    ops = plan_users([user], snap, cfg, res, TempIds(), user_index(snap))
    assert (ops[0].kind, ops[0].target_id) == (kind, target)
    assert reason in ops[0].reason


def test_linked_user_updates_changed_email() -> None:
    snap = snapshot()
    snap.refs = {("end_user", "u1"): LocalRef("end_user", "u1", 100)}
    ops = plan_users([RemoteUser("u1", "Jane Doe", "jane.doe@acme.test", "c-1")], snap, settings(),
                     plan_customers_sites([], [], snap, settings(), TempIds(), sites_are_customers=False)[1],
                     TempIds(), user_index(snap))
    assert ops[0].kind is OpKind.UPDATE
    assert ops[0].changes == {"email": ["jane@acme.test", "jane.doe@acme.test"]}


# Assets ---------------------------------------------------------------------------------------------

def plan_devices(devices: list[RemoteDevice], snap: Snapshot | None = None, complete: bool = True,
                 **cfg: object) -> list[Op]:
    snap = snap or snapshot()
    remote = RemoteData(sites=[RemoteSite("s-acme", "Acme")], devices=devices,
                        complete={"assets"} if complete else set())
    plan = build_plan(remote, snap, settings(**cfg), sites_are_customers=True, entities=["customers", "assets"],
                      now=NOW)
    return plan.ops


def asset_ops(ops: list[Op]) -> list[Op]:
    return only(ops, "assets")


@pytest.mark.parametrize(("device_type", "cfg", "kind", "reason"), [
    (DeviceType.PRINTER, {"import_types": ["workstation"]}, OpKind.SKIP, "not selected for import"),
    (DeviceType.PRINTER, {"type_maps": [TypeMap("printer", ignore=True)]}, OpKind.SKIP, "set to 'ignore'"),
    (DeviceType.SERVER, {"type_maps": [TypeMap("server", 8)]}, OpKind.CREATE, "type mapping 'Servers'"),
    (DeviceType.WORKSTATION, {}, OpKind.CREATE, "same-named asset type 'Workstation'"),
    (DeviceType.LAPTOP, {}, OpKind.CREATE, "new asset type 'Laptop'"),
])
def test_asset_type_rules(device_type: DeviceType, cfg: dict[str, object], kind: OpKind, reason: str) -> None:
    ops = plan_devices([dev("d1", device_type=device_type)], **cfg)
    assert asset_ops(ops)[0].kind is kind
    assert reason in asset_ops(ops)[0].reason


def test_new_asset_type_is_created_under_default_group() -> None:
    ops = plan_devices([dev("d1", device_type=DeviceType.LAPTOP), dev("d2", device_type=DeviceType.LAPTOP)],
                       default_group_id=5)
    type_ops = only(ops, "asset_types")
    assert len(type_ops) == 1
    assert type_ops[0].data.group_id == 5
    assert type_ops[0].data.name == "Laptop"
    assert {op.data.set["asset_type_id"] for op in asset_ops(ops)} == {type_ops[0].target_id}


def linked_snapshot(values: dict[str, object], edited: tuple[str, ...] = (), active: bool = True,
                    missing: datetime | None = None) -> Snapshot:
    snap = snapshot()
    snap.assets = {500: LocalAsset(500, "PC", 7, 11, 1, active, dict(values), edited)}
    snap.refs = {("asset", "d1"): LocalRef("asset", "d1", 500, "", missing),
                 ("site", "s-acme"): LocalRef("site", "s-acme", 11), ("customer", "s-acme"): LocalRef("customer",
                                                                                                      "s-acme", 1)}
    return snap


@pytest.mark.parametrize(("policy", "local", "edited", "changes"), [
    (FieldPolicy.ALWAYS, {"os": "Win10"}, ("os",), {"os": ["Win10", "Win11"]}),
    (FieldPolicy.ONLY_EMPTY, {"os": "Win10"}, (), {}),
    (FieldPolicy.ONLY_EMPTY, {}, (), {"os": [None, "Win11"]}),
    (FieldPolicy.NOT_AFTER_LOCAL_EDIT, {"os": "Win10"}, ("os",), {}),
    (FieldPolicy.NOT_AFTER_LOCAL_EDIT, {"os": "Win10"}, (), {"os": ["Win10", "Win11"]}),
])
def test_field_policies(policy: FieldPolicy, local: dict[str, object], edited: tuple[str, ...],
                        changes: dict[str, list[object]]) -> None:
    ops = plan_devices([dev("d1", os_name="Win11")], linked_snapshot(local, edited),
                       field_maps=[FieldMap("os_name", "os", policy)])
    op = asset_ops(ops)[0]
    assert op.changes == changes
    assert op.kind is (OpKind.UPDATE if changes else OpKind.UNCHANGED)


def test_unchanged_device_plans_no_write() -> None:
    ops = plan_devices([dev("d1")], linked_snapshot({}))
    assert [op.kind for op in asset_ops(ops)] == [OpKind.UNCHANGED]


def test_renamed_device_updates_name() -> None:
    op = asset_ops(plan_devices([dev("d1", host="PC-NEW")], linked_snapshot({})))[0]
    assert op.kind is OpKind.UPDATE
    assert op.changes == {"name": ["PC", "PC-NEW"]}


def brief_snapshot(fingerprints: dict[str, str], loads: list[list[int]]) -> Snapshot:
    """Four linked assets known only briefly (as the runner loads them); the loader records what it reads."""
    full = {500 + i: LocalAsset(500 + i, f"PC{i}", 7, 11, 1, values={"os": "Win10"}) for i in range(4)}
    snap = snapshot()
    snap.refs = {("asset", f"d{i}"): LocalRef("asset", f"d{i}", 500 + i, fingerprints.get(f"d{i}", ""))
                 for i in range(4)}
    snap.briefs = {a.id: AssetBrief(a.id, a.name, a.active) for a in full.values()}

    def loader(ids: object) -> list[LocalAsset]:
        wanted = sorted(ids)  # type: ignore[call-overload]
        loads.append(wanted)
        return [full[i] for i in wanted]

    snap.load_assets = loader
    return snap


def test_unchanged_devices_never_read_their_assets_and_changed_ones_are_read_in_one_batch() -> None:
    maps = {"field_maps": [FieldMap("os_name", "os")]}
    loads: list[list[int]] = []
    devices = [dev(f"d{i}", host=f"PC{i}", os_name="Win11") for i in range(3)]  # d3 is gone from the RMM
    first = asset_ops(plan_devices(devices, brief_snapshot({}, loads), guard_percent=100, **maps))
    assert loads == [[500, 501, 502]]
    assert [op.kind for op in first] == [OpKind.UPDATE] * 3 + [OpKind.DEACTIVATE]
    assert first[0].changes == {"os": ["Win10", "Win11"]}
    stored = {op.external_id: op.fingerprint for op in first[:3]}
    loads.clear()
    devices[1] = dev("d1", host="PC1-NEW", os_name="Win11")
    second = asset_ops(plan_devices(devices, brief_snapshot(stored, loads), guard_percent=100, **maps))
    assert loads == [[501]]  # only the renamed device's asset is read; the missing one needs only its brief
    assert [op.kind for op in second] == [OpKind.UNCHANGED, OpKind.UPDATE, OpKind.UNCHANGED, OpKind.DEACTIVATE]
    assert second[1].changes == {"name": ["PC1", "PC1-NEW"], "os": ["Win10", "Win11"]}


def test_guard_counts_briefly_known_assets() -> None:
    snap = brief_snapshot({}, [])
    plan = build_plan(RemoteData(sites=[RemoteSite("s-acme", "Acme")], devices=[], complete={"assets"}), snap,
                      settings(guard_percent=20), sites_are_customers=True, entities=["customers", "assets"],
                      now=NOW)
    assert plan.needs_confirmation
    assert "deactivate or unlink 4 of 4 linked assets" in plan.guard_message


def test_value_conversion_error_is_reported_per_value() -> None:
    op = asset_ops(plan_devices([dev("d1", fields={"warranty": "soon"})],
                                field_maps=[FieldMap("warranty", "warranty")]))[0]
    assert op.kind is OpKind.CREATE
    assert "Field 'Warranty end' expects a date (YYYY-MM-DD); got 'soon'" in op.warnings[0]
    assert "warranty" not in op.data.set["values"]


def test_missing_field_is_created_when_asked_else_warned() -> None:
    remote = RemoteData(sites=[RemoteSite("s-acme", "Acme")], devices=[dev("d1", model="X1")], complete={"assets"})
    asked = build_plan(remote, snapshot(), settings(field_maps=[FieldMap("model", "CFmodel", create_if_missing=True)]),
                       sites_are_customers=True, entities=["customers", "assets"], now=NOW)
    field_ops = only(asked.ops, "fields")
    assert field_ops[0].data == FieldCreate("model", "Model", "custom_field")
    assert asset_ops(asked.ops)[0].data.set["values"] == {"CFmodel": "X1"}
    warned = build_plan(remote, snapshot(), settings(field_maps=[FieldMap("model", "CFmodel")]),
                        sites_are_customers=True, entities=["customers", "assets"], now=NOW)
    assert not only(warned.ops, "fields")
    assert "no field 'CFmodel' exists" in warned.warnings[0]


def test_match_by_serial_links_and_junk_creates() -> None:
    snap = snapshot()
    snap.assets = {600: LocalAsset(600, "OLD", 7, 11, 1, values={"serial_number": "SN-9"}),
                   601: LocalAsset(601, "JUNK", 7, 11, 1, values={"serial_number": "Default string"})}
    ops = asset_ops(plan_devices([dev("d1", host="A", serial_number="sn-9"),
                                  dev("d2", host="B", serial_number="Default string")], snap))
    assert (ops[0].kind, ops[0].target_id) == (OpKind.LINK, 600)
    assert "matched by serial number 'sn-9'" in ops[0].reason
    assert ops[1].kind is OpKind.CREATE


def test_ambiguous_match_goes_to_conflicts() -> None:
    snap = snapshot()
    snap.assets = {600: LocalAsset(600, "A", 7, 11, 1, values={"serial_number": "S"}),
                   601: LocalAsset(601, "B", 7, 21, 2, values={"serial_number": "S"})}
    op = asset_ops(plan_devices([dev("d1", serial_number="S")], snap))[0]
    assert op.kind is OpKind.CONFLICT
    assert op.data.candidates == (600, 601)


def test_child_asset_points_at_parent_external_id() -> None:
    ops = asset_ops(plan_devices([dev("pc"), dev("prn", device_type=DeviceType.PRINTER, parent_external_id="pc")]))
    assert ops[1].data.set["parent_external_id"] == "pc"
    assert ops[0].data.set["parent_external_id"] is None
    off = asset_ops(plan_devices([dev("prn", parent_external_id="pc")], child_assets=False))
    assert off[0].data.set["parent_external_id"] is None


@pytest.mark.parametrize(("default_site", "kind", "reason"), [
    (21, OpKind.CREATE, "default site"),
    (None, OpKind.SKIP, "no default site is set"),
])
def test_default_site_for_unmapped_customer(default_site: int | None, kind: OpKind, reason: str) -> None:
    ops = asset_ops(plan_devices([dev("d1", site="s-unknown")], default_site_id=default_site,
                                 new_customer_mode=NewCustomerMode.REVIEW))
    assert ops[0].kind is kind
    assert reason in ops[0].reason


def test_device_links_to_last_logged_in_user() -> None:
    ops = asset_ops(plan_devices([dev("d1", last_logged_in_user="ACME\\jane")]))
    assert ops[0].data.set["end_user_id"] == 100


# Missing devices, grace period, guard ---------------------------------------------------------------

@pytest.mark.parametrize(("action", "grace", "missing_since", "active", "kind"), [
    (MissingAction.DEACTIVATE, 0, None, True, OpKind.DEACTIVATE),
    (MissingAction.UNLINK, 0, None, True, OpKind.UNLINK),
    (MissingAction.DEACTIVATE, 24, None, True, OpKind.UNCHANGED),  # marks missing, waits
    (MissingAction.DEACTIVATE, 24, NOW - timedelta(hours=2), True, None),  # still waiting, nothing to write
    (MissingAction.DEACTIVATE, 24, NOW - timedelta(hours=25), True, OpKind.DEACTIVATE),
    (MissingAction.NOTHING, 0, None, True, None),
])
def test_missing_devices(action: MissingAction, grace: int, missing_since: datetime | None, active: bool,
                         kind: OpKind | None) -> None:
    snap = linked_snapshot({}, active=active, missing=missing_since)
    ops, _ = plan_missing(set(), snap, settings(missing_action=action, grace_hours=grace), NOW, fetch_complete=True)
    assert [op.kind for op in ops] == ([kind] if kind else [])


def test_incomplete_fetch_deactivates_nothing() -> None:
    ops = plan_devices([], linked_snapshot({}), complete=False)
    assert not [op for op in ops if op.kind in (OpKind.DEACTIVATE, OpKind.UNLINK)]


def test_deleted_device_counts_as_missing() -> None:
    ops = asset_ops(plan_devices([dev("d1", deleted=True)], linked_snapshot({}), guard_percent=100))
    assert [op.kind for op in ops] == [OpKind.DEACTIVATE]


def test_returning_device_is_reactivated() -> None:
    op = asset_ops(plan_devices([dev("d1")], linked_snapshot({}, active=False, missing=NOW - timedelta(days=3))))[0]
    assert op.kind is OpKind.REACTIVATE
    assert op.changes["active"] == [False, True]
    assert op.data.clear_missing


def test_person_deactivated_asset_stays_inactive() -> None:
    op = asset_ops(plan_devices([dev("d1")], linked_snapshot({}, active=False)))[0]
    assert op.kind is OpKind.UNCHANGED


@pytest.mark.parametrize(("linked", "gone", "percent", "trips"), [
    (10, 2, 20, False), (10, 3, 20, True), (10, 10, 100, False), (4, 1, 20, True), (5, 0, 20, False),
])
def test_mass_deactivation_guard(linked: int, gone: int, percent: int, trips: bool) -> None:
    snap = snapshot()
    for i in range(linked):
        snap.assets[i + 1000] = LocalAsset(i + 1000, f"PC{i}", 7, 11, 1)
        snap.refs[("asset", f"d{i}")] = LocalRef("asset", f"d{i}", i + 1000)
    seen = {f"d{i}" for i in range(gone, linked)}
    ops, _ = plan_missing(seen, snap, settings(), NOW, fetch_complete=True)
    assert bool(guard(ops, snap, settings(guard_percent=percent))) is trips
    remote = RemoteData(sites=[RemoteSite("s-acme", "Acme")], devices=[dev(d) for d in sorted(seen)],
                        complete={"assets"})
    plan = build_plan(remote, snap, settings(guard_percent=percent), sites_are_customers=True, entities=["assets"],
                      now=NOW)
    assert plan.needs_confirmation is trips


def test_linked_child_gets_its_linked_parent_and_unknown_parent_is_no_change() -> None:
    snap = linked_snapshot({})
    snap.assets[501] = LocalAsset(501, "SRV", 7, 11, 1)
    snap.refs[("asset", "srv")] = LocalRef("asset", "srv", 501)
    op = asset_ops(plan_devices([dev("d1", parent_external_id="srv"), dev("srv", host="SRV")], snap))[0]
    assert op.changes == {"parent": [None, "srv"]}
    unknown = asset_ops(plan_devices([dev("d1", parent_external_id="nowhere")], linked_snapshot({})))[0]
    assert unknown.kind is OpKind.UNCHANGED


def test_unchanged_record_fingerprint_skips_the_diff_until_record_or_settings_change() -> None:
    first = asset_ops(plan_devices([dev("d1", os_name="Win11")], linked_snapshot({}),
                                   field_maps=[FieldMap("os_name", "os")]))[0]
    snap = linked_snapshot({"os": "edited here"})
    snap.refs[("asset", "d1")] = LocalRef("asset", "d1", 500, first.fingerprint)
    same = asset_ops(plan_devices([dev("d1", os_name="Win11")], snap, field_maps=[FieldMap("os_name", "os")]))[0]
    assert same.kind is OpKind.UNCHANGED
    assert "unchanged in the RMM" in same.reason
    changed = asset_ops(plan_devices([dev("d1", os_name="Win12")], snap, field_maps=[FieldMap("os_name", "os")]))[0]
    assert changed.changes == {"os": ["edited here", "Win12"]}
    new_settings = asset_ops(plan_devices([dev("d1", os_name="Win11")], snap,
                                          field_maps=[FieldMap("os_name", "os", FieldPolicy.ONLY_EMPTY)]))[0]
    assert new_settings.fingerprint != first.fingerprint


def test_device_links_to_user_by_a_mapped_field() -> None:
    ops = asset_ops(plan_devices([dev("d1", fields={"udf.udf2": "jane@acme.test"}, last_logged_in_user="ACME\\bob")],
                                 user_source="udf.udf2"))
    assert ops[0].data.set["end_user_id"] == 100


def test_users_only_run_waits_for_customers_that_are_not_imported_yet() -> None:
    remote = RemoteData(customers=[RemoteCustomer("c-1", "Acme"), RemoteCustomer("c-2", "Brand New")],
                        users=[RemoteUser("u1", "Jane", "jane@acme.test", "c-1"),
                               RemoteUser("u2", "Neo", "neo@new.test", "c-2")])
    plan = build_plan(remote, snapshot(), settings(), sites_are_customers=False, entities=["users"], now=NOW)
    assert [(op.entity, op.kind) for op in plan.ops] == [("users", OpKind.LINK), ("users", OpKind.SKIP)]


def test_equal_customer_site_user_and_device_ids_never_cross() -> None:
    """Every customer id equals some site id, user id and device id (Automate numbers them all 1, 2, 3…)."""
    snap = snapshot()
    snap.refs = {("end_user", "1"): LocalRef("end_user", "1", 100)}
    customers = [RemoteCustomer("1", "Acme"), RemoteCustomer("2", "Remote Two")]
    sites = [RemoteSite("1", "Leeds", customer_external_id="2"), RemoteSite("2", "York", customer_external_id="1")]
    cfg = settings(mappings=[Mapping("1", 2), Mapping("2", 1, 12, kind="site")])
    ops, res = plan_customers_sites(customers, sites, snap, cfg, TempIds(), sites_are_customers=False)
    by_key = {(op.entity, op.external_id): op for op in ops}
    assert by_key[("customers", "1")].target_id == 2  # the customer row for 1
    assert by_key[("customers", "2")].kind is OpKind.CREATE  # no customer row for 2 (only a site row)
    # site 1 belongs to remote customer 2 (new): the customer row for "1" must not apply to it
    assert res.by_site["1"].customer_id == res.by_customer["2"].customer_id
    assert res.by_site["1"].customer_id < 0
    # site 2's own site row wins (Acme / Branch); customer 2's placement is unaffected by it
    assert (res.by_site["2"].customer_id, res.by_site["2"].site_id) == (1, 12)
    users = plan_users([RemoteUser("2", "Zed Zee", "zed@acme.test", site_external_id="1")], snap, cfg, res,
                       TempIds(), user_index(snap))
    assert users[0].kind is OpKind.CREATE  # user 2 is not the linked end_user 1, nor customer/site 2
    assert users[0].data.site_id == res.by_site["1"].site_id


def known_estate(count: int) -> tuple[Snapshot, list[KnownDevice]]:
    """`count` devices linked and unchanged, as the connector's RawCheck yields them (never normalised)."""
    snap = snapshot()
    snap.refs = {("asset", f"d{i}"): LocalRef("asset", f"d{i}", 1000 + i, f"fp{i}") for i in range(count)}
    snap.briefs = {1000 + i: AssetBrief(1000 + i, f"PC{i}", True) for i in range(count)}
    return snap, [KnownDevice(f"d{i}", f"PC{i}", f"fp{i}", 1000 + i) for i in range(count)]


def test_an_unchanged_estate_is_handed_to_the_sink_in_bounded_batches_and_counted_not_kept() -> None:
    snap, devices = known_estate(5 * HAND_EVERY + 7)
    batches: list[int] = []
    remote = RemoteData(sites=[RemoteSite("s-acme", "Acme")], devices=iter(devices), complete={"assets"})
    build_plan(remote, snap, settings(), sites_are_customers=True, entities=["customers", "assets"], now=NOW,
               sink=lambda batch: batches.append(sum(1 for position, _ in batch if position >= 0)))
    device_batches = [n for n in batches if n]
    assert sum(device_batches) == len(devices)
    assert max(device_batches) <= HAND_EVERY  # memory follows the batch, not the estate
    assert len(device_batches) >= 5
    snap, devices = known_estate(5 * HAND_EVERY + 7)
    remote = RemoteData(sites=[RemoteSite("s-acme", "Acme")], devices=iter(devices), complete={"assets"})
    plan = build_plan(remote, snap, settings(), sites_are_customers=True, entities=["customers", "assets"], now=NOW,
                      keep_idle=False)
    assert asset_ops(plan.ops) == []
    assert plan.idle == {"assets": len(devices)}
    assert plan.counts()["assets"]["unchanged"] == len(devices)
