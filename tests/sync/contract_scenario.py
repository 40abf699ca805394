"""One estate whose plan emits every entity and op kind that carries a payload (for the plan-contract test)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rmmbridge.connectors.records import DeviceType, RemoteCustomer, RemoteDevice, RemoteSite, RemoteUser
from rmmbridge.sync.plan import (
    ENTITIES,
    FieldMap,
    LocalAsset,
    LocalAssetType,
    LocalCustomer,
    LocalField,
    LocalRef,
    LocalSite,
    LocalUser,
    Mapping,
    MatchRule,
    Plan,
    Snapshot,
    SyncSettings,
)
from rmmbridge.sync.planner import RemoteData, build_plan

NOW = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


def contract_snapshot() -> Snapshot:
    snap = Snapshot()
    snap.customers = {1: LocalCustomer(1, "Acme Ltd", 11), 2: LocalCustomer(2, "Globex", 21),
                      3: LocalCustomer(3, "Twin", 31), 4: LocalCustomer(4, "Twin Inc", 41)}
    snap.sites = {11: LocalSite(11, 1, "Main", True), 21: LocalSite(21, 2, "Main", True),
                  31: LocalSite(31, 3, "Main", True), 41: LocalSite(41, 4, "Main", True)}
    snap.users = {100: LocalUser(100, 1, 11, "Jane Doe", "jane@acme.test"),
                  101: LocalUser(101, 1, 11, "Bob Roe", "bob@old.test")}
    snap.asset_types = {7: LocalAssetType(7, "Workstation")}
    snap.fields = {"serial_number": LocalField("serial_number", "Serial number"), "os": LocalField("os", "OS")}
    snap.assets = {
        500: LocalAsset(500, "OLD-NAME", 7, 11, 1, True, {"serial_number": "S500"}),
        501: LocalAsset(501, "GONE", 7, 11, 1, True, {"serial_number": "S501"}),
        502: LocalAsset(502, "BACK", 7, 11, 1, False, {"serial_number": "S502"}),
        503: LocalAsset(503, "SPARE", 7, 11, 1, True, {"serial_number": "S503"}),
        504: LocalAsset(504, "DEAD", 7, 11, 1, True, {"serial_number": "S504"}),
        505: LocalAsset(505, "SAME", 7, 11, 1, True, {"serial_number": "S505"}),
        600: LocalAsset(600, "DUP-A", 7, 11, 1, True, {"serial_number": "DUP"}),
        601: LocalAsset(601, "DUP-B", 7, 11, 1, True, {"serial_number": "DUP"}),
    }
    long_ago = NOW - timedelta(days=3)
    snap.refs = {(r.kind, r.external_id): r for r in [
        LocalRef("asset", "d-upd", 500, "old"), LocalRef("asset", "d-gone", 501, "old"),
        LocalRef("asset", "d-back", 502, "old", long_ago), LocalRef("asset", "d-dead", 504, "old", long_ago),
        LocalRef("asset", "d-same", 505, "old"), LocalRef("end_user", "u-3", 101),
    ]}
    return snap


def contract_settings() -> SyncSettings:
    return SyncSettings(
        mappings=[Mapping("c-2", 2)],
        field_maps=[FieldMap("serial_number", "serial_number"), FieldMap("os_name", "CFplatform",
                                                                         create_if_missing=True)],
        match_rules=[MatchRule("serial_number")],
        grace_hours=24, guard_percent=100,
    )


def device(ext: str, host: str, serial: str, **kw: object) -> RemoteDevice:
    return RemoteDevice(external_id=ext, hostname=host, site_external_id="s-main", customer_external_id="c-1",
                        device_type=kw.pop("device_type", DeviceType.WORKSTATION),  # type: ignore[arg-type]
                        serial_number=serial, **kw)  # type: ignore[arg-type]


def contract_remote() -> RemoteData:
    return RemoteData(
        customers=[RemoteCustomer("c-1", "ACME limited"), RemoteCustomer("c-2", "Other name"),
                   RemoteCustomer("c-3", "Twin"), RemoteCustomer("c-4", "Brand New")],
        sites=[RemoteSite("s-main", "Main", "c-1"), RemoteSite("s-lab", "Lab", "c-1"),
               RemoteSite("s-new", "Head office", "c-4")],
        users=[
            RemoteUser("u-1", "Jane Doe", "jane@acme.test", customer_external_id="c-1", site_external_id="s-main"),
            RemoteUser("u-2", "New Person", "new@acme.test", customer_external_id="c-1", site_external_id="s-main"),
            RemoteUser("u-3", "Bob Roe", "bob@acme.test", customer_external_id="c-1", site_external_id="s-main")],
        devices=[
            device("d-new", "NEW-PC", "SNEW", os_name="Windows 11", device_type=DeviceType.SERVER),
            device("d-child", "CHILD", "SCHILD", parent_external_id="d-upd"),
            device("d-upd", "NEW-NAME", "S500"),
            device("d-link", "SPARE", "S503"),
            device("d-dup", "DUPLICATE", "DUP"),
            device("d-back", "BACK", "S502"),
            device("d-same", "SAME", "S505"),
        ],
        complete=set(ENTITIES),
    )


def contract_plan() -> Plan:
    return build_plan(contract_remote(), contract_snapshot(), contract_settings(), sites_are_customers=False,
                      entities=ENTITIES, now=NOW)
