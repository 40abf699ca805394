"""Lenient, lossless item validation: a bad optional field costs that field (counted), never the record."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, ConfigDict, Field

from rmmbridge.connectors.base import Capability, Connector
from rmmbridge.connectors.credentials import CredentialSpec
from rmmbridge.connectors.errors import ConnectorFatalError, SkippableRecordError, UnsupportedCapabilityError
from rmmbridge.connectors.items import FieldIssues, ItemParser, current_issues, field_list, validate_item, webhook_items
from rmmbridge.connectors.records import AccountInfo, AvailableField


class Chassis(BaseModel):
    serial: str
    model: str | None = None


class Item(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    id: int
    name: str
    ips: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    chassis: Chassis | None = None
    seen: float | str | None = None


def read(raw: Any, issues: FieldIssues | None = None) -> Item:
    return validate_item(Item, raw, "device", vendor="Vendor", id_keys=("id",), issues=issues)


def test_a_good_item_counts_nothing() -> None:
    issues = FieldIssues()
    item = read({"id": 1, "name": "a", "ips": ["10.0.0.1"]}, issues)
    assert item.ips == ["10.0.0.1"]
    assert issues.total == 0
    assert issues.summaries() == []


def test_null_lists_read_as_empty_and_are_counted() -> None:
    issues = FieldIssues()
    raw = {"id": 1, "name": "a", "ips": None, "tags": None}
    item = read(raw, issues)
    assert (item.ips, item.tags) == ([], [])
    assert raw["ips"] is None  # the caller's raw item is untouched (it is flattened into the record's fields)
    assert issues.summary("device") == "1 device had unreadable fields: ips (null), tags (null)"


def test_one_bad_element_nested_field_or_union_costs_only_that() -> None:
    issues = FieldIssues()
    item = read({"id": 2, "name": "b", "tags": ["x", 5, "y", None], "chassis": {"serial": "S1", "model": 9},
                 "seen": {"odd": True}, "extra": [1, 2]}, issues)
    assert item.tags == ["x", "y"]
    assert item.chassis == Chassis(serial="S1")
    assert item.seen is None
    summary = issues.summary("device")
    for label in ("tags (unreadable)", "tags (null)", "chassis.model (unreadable)", "seen (unreadable)"):
        assert label in summary
    assert issues.examples
    assert issues.examples[0].startswith("device 2: ")


def test_a_nested_object_missing_its_required_field_goes_whole() -> None:
    item = read({"id": 3, "name": "c", "chassis": {"model": "M"}})
    assert item.chassis is None


@pytest.mark.parametrize("raw", [{"id": None, "name": "a"}, {"name": "a"}, {"id": 1, "name": None},
                                 {"id": "x", "name": "a", "ips": None}, "not an object"])
def test_an_item_without_id_or_name_is_skipped_naming_it(raw: Any) -> None:
    issues = FieldIssues()
    with pytest.raises(SkippableRecordError, match="Vendor device"):
        read(raw, issues)
    assert issues.total == 0  # a skipped record is counted as skipped, not as a record with dropped fields


def test_counts_per_kind_and_field_across_records() -> None:
    issues = FieldIssues()
    for n in range(3):
        read({"id": n, "name": "a", "ips": None, "tags": None if n == 0 else []}, issues)
    read({"id": 9, "name": "a", "ips": None}, issues)
    validate_item(Item, {"id": 5, "name": "x", "ips": None}, "activity", vendor="V", id_keys=("id",), issues=issues)
    assert issues.summaries() == [
        "4 devices had unreadable fields: ips (null), tags (null) ×1",
        "1 activity had unreadable fields: ips (null)",
    ]
    assert issues.total == 5


class LoopingConnector(Connector):
    """A vendor with its own page → item loop (as the vendors not yet on Connector.stream have)."""

    slug = "looping"
    name = "Looping"
    credentials_model = CredentialSpec
    capabilities = frozenset({Capability.DEVICES})

    def account_info(self) -> AccountInfo:
        return AccountInfo(account_id="x", display_name="x")

    def iter_devices(self) -> Iterator[Any]:
        for raw in ({"id": 1, "name": "a", "ips": None}, {"id": 2, "name": "b"}, {"id": None, "name": "c"}):
            try:
                yield validate_item(Item, raw, "device", vendor=self.name, id_keys=("id",))
            except SkippableRecordError as exc:
                self.skip(exc)


def test_a_vendors_own_loop_counts_on_its_connector_in_any_thread() -> None:
    with httpx.Client() as http:
        connector = LoopingConnector(CredentialSpec(), http)
        with ThreadPoolExecutor(1) as pool:  # the sync reads devices ahead in a thread
            devices = pool.submit(lambda: list(connector.iter_devices())).result()
        assert [d.id for d in devices] == [1, 2]
        assert connector.skipped_records == 1
        assert connector.field_issues.summary("device") == "1 device had unreadable fields: ips (null)"
        assert current_issues() is None  # nothing leaks out of the iterator
        with pytest.raises(UnsupportedCapabilityError):
            connector.iter_sites()  # still raised on the call, not on the first item


def test_a_vendors_item_parser_names_the_vendor_and_the_item_by_its_id_keys() -> None:
    parse = ItemParser("Vendor", ("uid", "id"))
    assert parse(Item, {"id": 4, "name": "pc"}, "device").name == "pc"
    with pytest.raises(SkippableRecordError) as info:
        parse(Item, {"uid": "u-9", "id": 4}, "device")
    assert info.value.message.startswith("Vendor device 'u-9' skipped – name")
    assert parse.id_keys == ("uid", "id")


def test_field_list_keeps_each_path_once_with_its_first_label() -> None:
    fields = field_list([("a", "A"), ("b", "B")], (), [("b", "B again"), ("c", "C")])
    assert fields == [AvailableField(path="a", label="A"), AvailableField(path="b", label="B"),
                      AvailableField(path="c", label="C")]


def test_webhook_items_reads_one_value_or_a_list_and_says_what_was_expected() -> None:
    assert webhook_items(b'{"a": 1}', vendor="V", expected="an alert") == [{"a": 1}]
    assert webhook_items(b"\xef\xbb\xbf[1, 2]", vendor="V", expected="an alert") == [1, 2]
    with pytest.raises(ConnectorFatalError, match=r"^V webhook body is not JSON \(.*\); expected an alert\.$"):
        webhook_items(b"{nope", vendor="V", expected="an alert")
    with pytest.raises(ConnectorFatalError, match="not UTF-8 text; expected an alert"):
        webhook_items(b"\xff\xfe", vendor="V", expected="an alert")
