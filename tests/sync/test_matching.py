"""Table tests of the pure matching functions: names, junk values, match index, conflicts."""

from __future__ import annotations

import pytest

from rmmbridge.sync.matching import MatchIndex, is_junk, junk_set, match_asset, normalise_name, normalise_value
from rmmbridge.sync.plan import DEFAULT_JUNK_VALUES

JUNK = junk_set(DEFAULT_JUNK_VALUES)


@pytest.mark.parametrize(("a", "b"), [
    ("Acme Ltd", "acme"),
    ("ACME  Limited", "Acme"),
    ("Acme, Inc.", "acme"),
    ("Acme LLC", "ACME"),
    ("Smith & Sons Ltd.", "smith and sons"),
    ("Globex Corp", "globex corporation"),
    ("  Initech   GmbH ", "Initech"),
])
def test_normalised_names_match(a: str, b: str) -> None:
    assert normalise_name(a) == normalise_name(b)


@pytest.mark.parametrize(("a", "b"), [("Acme", "Acme West"), ("Ltd", "Inc"), ("Acme Co Labs", "Acme Labs")])
def test_different_names_do_not_match(a: str, b: str) -> None:
    assert normalise_name(a) != normalise_name(b)


@pytest.mark.parametrize(("key", "value", "junk"), [
    ("serial_number", "", True),
    ("serial_number", "None", True),
    ("serial_number", "To be filled by O.E.M.", True),
    ("serial_number", "Default string", True),
    ("serial_number", "0", True),
    ("serial_number", "0000000", True),
    ("mac_addresses", "00:00:00:00:00:00", True),
    ("mac_addresses", "00-00-00-00-00-00", True),
    ("mac_addresses", "FF:FF:FF:FF:FF:FF", True),
    ("serial_number", "SN-12345", False),
    ("mac_addresses", "00:1A:2B:3C:4D:5E", False),
    ("name", "PC-01", False),
])
def test_junk_values(key: str, value: str, junk: bool) -> None:
    assert is_junk(key, value, JUNK) is junk


def test_junk_list_is_editable() -> None:
    custom = junk_set(["ABC123"])
    assert is_junk("serial_number", "abc123", custom)
    assert not is_junk("serial_number", "Default string", custom)


def test_mac_normalisation() -> None:
    assert normalise_value("mac_addresses", "00-1A-2B-3C-4D-5E") == normalise_value("mac", "001a.2b3c.4d5e")


def _index() -> MatchIndex:
    index = MatchIndex(("serial_number", "mac_addresses", "name"), JUNK)
    rows = [
        (1, 10, {"serial_number": "SN1", "mac_addresses": "00:1a:2b:3c:4d:5e", "name": "PC-01"}),
        (2, 10, {"serial_number": "DUP", "name": "PC-02"}),
        (3, 20, {"serial_number": "DUP", "name": "PC-02"}),
        (4, 20, {"serial_number": "To be filled by O.E.M.", "name": "PC-04"}),
    ]
    for asset_id, customer_id, values in rows:
        for key, value in values.items():
            index.add(asset_id, customer_id, key, value)
    return index


RULES = [("serial_number", False), ("mac_addresses", False), ("name", True)]


@pytest.mark.parametrize(("wanted", "customer", "asset_id", "reason", "conflict"), [
    ({"serial_number": "sn1"}, 10, 1, "matched by serial number 'sn1'", ()),
    ({"serial_number": "X", "mac_addresses": "00-1A-2B-3C-4D-5E, 11:22:33:44:55:66"}, 10, 1, "matched by MAC", ()),
    ({"serial_number": "DUP"}, 10, None, "matches 2 local assets (#2, #3)", (2, 3)),
    ({"serial_number": "DUP", "name": "PC-02"}, 20, None, "matches 2 local assets", (2, 3)),
    ({"serial_number": "none", "name": "pc-02"}, 20, 3, "matched by hostname 'pc-02' within the customer", ()),
    ({"name": "PC-01"}, 20, None, "", ()),  # same hostname in another customer does not match
    ({"serial_number": "To be filled by O.E.M.", "name": "PC-99"}, 20, None, "", ()),  # junk never matches
    ({}, None, None, "", ()),
])
def test_match_asset_table(wanted: dict[str, str], customer: int | None, asset_id: int | None, reason: str,
                           conflict: tuple[int, ...]) -> None:
    result = match_asset(_index(), RULES, wanted, customer, set())
    assert result.asset_id == asset_id
    assert reason in result.reason
    assert result.conflict_ids == conflict


def test_claimed_assets_are_excluded() -> None:
    result = match_asset(_index(), RULES, {"serial_number": "SN1"}, 10, {1})
    assert result.asset_id is None
    assert not result.is_conflict


@pytest.mark.parametrize(("mac", "why"), [
    ("00:00:00:00:00:00", "all-zero"),
    ("FF-FF-FF-FF-FF-FF", "broadcast"),
    ("02:00:4C:4F:4F:50", "loopback"),
    ("00:05:9A:3C:7A:00", "AnyConnect"),
    ("0A:00:27:00:00:0C", "VirtualBox"),
    ("00:50:56:C0:00:08", "VMware"),
    ("02:42:AC:11:00:02", "Docker"),
    ("01:00:5E:00:00:FB", "multicast"),
    ("06:1B:2C:3D:4E:5F", "locally administered"),
])
def test_known_non_unique_macs_never_identify_a_device(mac: str, why: str) -> None:
    from rmmbridge.sync.matching import why_not_used

    assert is_junk("mac_addresses", mac, junk_set([]))
    assert why in why_not_used("mac_addresses", mac, junk_set([]))
    assert not is_junk("mac_addresses", "3C:52:82:4A:1B:2C", junk_set([]))


def test_a_stronger_identifier_vetoes_a_weaker_match_with_its_reason() -> None:
    index = MatchIndex(("mac_addresses", "name"), junk_set([]))
    index.add(1, 10, "mac_addresses", "3C:52:82:4A:1B:2C")
    index.describe(1, "OLD-PC-01", 10, {"serial_number": "PPW86A3WWT"})
    rules = [("mac_addresses", False)]
    result = match_asset(index, rules, {"mac_addresses": "3c-52-82-4a-1b-2c"}, 10, set(),
                         strong={"serial_number": "QP25YP2NJ3"})
    assert result.is_conflict
    assert result.asset_id is None
    assert "MAC '3c-52-82-4a-1b-2c' matches OLD-PC-01, but serial QP25YP2NJ3 ≠ PPW86A3WWT" in result.reason
    same = match_asset(index, rules, {"mac_addresses": "3C:52:82:4A:1B:2C"}, 10, set(),
                       strong={"serial_number": "ppw86a3wwt"})
    assert same.asset_id == 1
    unknown = match_asset(index, rules, {"mac_addresses": "3C:52:82:4A:1B:2C"}, 10, set(), strong={})
    assert unknown.asset_id == 1  # no serial on one side: nothing to veto with


def test_customer_boundary() -> None:
    index = MatchIndex(("serial_number",), junk_set([]))
    index.add(1, 10, "serial_number", "ABC123")
    index.describe(1, "PC-1", 10, {"serial_number": "ABC123"})
    rules = [("serial_number", False)]
    refused = match_asset(index, rules, {"serial_number": "ABC123"}, 20, set(), allow_moves=False,
                          customer_names={10: "Kestrel Logistics", 20: "Kestrel Insurance"})
    assert refused.is_conflict
    assert "of customer 'Kestrel Logistics', but this device belongs to 'Kestrel Insurance'" in refused.reason
    moved = match_asset(index, rules, {"serial_number": "ABC123"}, 20, set(), allow_moves=True,
                        customer_names={10: "Kestrel Logistics"})
    assert moved.asset_id == 1
    assert moved.moved_from == 10
    assert "moves it from customer 'Kestrel Logistics'" in moved.reason
