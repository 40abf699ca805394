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
