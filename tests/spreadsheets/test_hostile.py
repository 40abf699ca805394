"""Hostile and unusual spreadsheets: quoting, decimal separators, encodings, duplicates, huge numbers and cells,
workbooks that expand too far; every one either imports right or is refused with a message, never a traceback."""

from __future__ import annotations

import contextlib
import csv
import io
import zipfile
from typing import Any

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rmmbridge.servicedesk.actions import (
    Actor,
    do_create_asset_group,
    do_create_asset_type,
    do_create_customer,
    do_create_field_definition,
)
from rmmbridge.servicedesk.fieldtypes import DataType, FieldValueError, coerce_value
from rmmbridge.servicedesk.models import Asset, FieldKind
from rmmbridge.spreadsheets import reader
from rmmbridge.spreadsheets.apply import apply_sheet
from rmmbridge.spreadsheets.models import ImportStatus, SpreadsheetImport
from rmmbridge.spreadsheets.plan import build_plan
from rmmbridge.spreadsheets.reader import SpreadsheetError, read_sheet

ACTOR = Actor.system("test")
HEADER = ["Customer", "Asset Type", "Asset Tag", "Name", "Serial number", "$CFprice", "$CFcount"]


@pytest.fixture
def desk(db: Any) -> None:
    group = do_create_asset_group(ACTOR, "Computers")
    monitor = do_create_asset_type(ACTOR, "Monitor", group)
    do_create_field_definition(ACTOR, "serial_number", label="Serial number", asset_types=[monitor])
    do_create_field_definition(ACTOR, "price", label="Price", kind=FieldKind.CUSTOM_FIELD, data_type="decimal")
    do_create_field_definition(ACTOR, "count", label="Count", kind=FieldKind.CUSTOM_FIELD, data_type="integer")
    do_create_customer(ACTOR, "Acme", main_site_name="HQ")


def csv_data(rows: list[list[str]], *, delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return out.getvalue().encode(encoding)


def plan_of(data: bytes, name: str = "a.csv", separator: str = ".") -> Any:
    return build_plan(read_sheet(name, data, separator))


def test_doubled_quotes_round_trip_and_keep_every_column(desk: None) -> None:
    name = 'Dell 24" Monitor, rev "A"'
    data = b'Customer,Asset Type,Asset Tag,Name,Serial number\nAcme,Monitor,M-1,"Dell 24"" Monitor, rev ""A""",SN-9\n'
    plan = plan_of(data)
    assert plan.rows[0].action == "create", plan.rows[0].errors
    assert plan.rows[0].changes["name"] == [None, name]
    assert plan.rows[0].changes["serial_number"] == [None, "SN-9"]
    # the same file with semicolons: the header proves the delimiter, the quoting stays standard
    semi = csv_data([HEADER[:5], ["Acme", "Monitor", "M-1", name, "SN-9"]], delimiter=";")
    assert plan_of(semi).rows[0].changes["name"] == [None, name]


@pytest.mark.parametrize(("separator", "text", "stored"), [
    (",", "1.234,5", "1234.5"), (",", "12,5", "12.5"), (".", "1,234.5", "1234.5"), (".", "12.5", "12.5"),
    (",", "1 234,5", "1234.5"),
])
def test_decimal_separator_is_explicit(desk: None, separator: str, text: str, stored: str) -> None:
    plan = plan_of(csv_data([HEADER, ["Acme", "Monitor", "M-1", "N", "", text, ""]]), separator=separator)
    assert plan.rows[0].action == "create", plan.rows[0].errors
    assert plan.rows[0].changes["CFprice"] == [None, stored]
    assert plan.decimal_separator == separator


@pytest.mark.parametrize(("separator", "text"), [(".", "12,5"), (".", "1.234,5"), (",", "1,234.5"), (",", "1,2,3")])
def test_a_number_that_does_not_fit_the_separator_is_an_error_naming_the_cell(desk: None, separator: str,
                                                                              text: str) -> None:
    plan = plan_of(csv_data([HEADER, ["Acme", "Monitor", "M-1", "N", "", text, ""]]), separator=separator)
    assert plan.rows[0].action == "error"
    assert any(e.startswith("Cell F2 ('$CFprice')") for e in plan.rows[0].errors), plan.rows[0].errors


def test_shift_jis_and_utf16_files_decode_and_show_their_encoding(desk: None, admin_client: Any) -> None:
    rows = [HEADER[:4], ["Acme", "Monitor", "M-1", "経理部のモニター（東京）"],
            ["Acme", "Monitor", "M-2", "営業部のモニター"]]
    sjis = plan_of(csv_data(rows, encoding="shift_jis"))
    assert sjis.encoding.replace("_", "").lower() in {"shiftjis", "cp932", "shiftjis2004", "shiftjisx0213"}
    assert sjis.rows[0].changes["name"] == [None, "経理部のモニター（東京）"]
    utf16 = plan_of(csv_data(rows, encoding="utf-16"))
    assert utf16.encoding == "utf-16"
    assert [r.changes["name"][1] for r in utf16.rows] == [rows[1][3], rows[2][3]]

    upload = SimpleUploadedFile("jp.csv", csv_data(rows, encoding="shift_jis"))
    page = admin_client.post("/imports/spreadsheet/", {"file": upload}, follow=True).content.decode()
    assert "data-encoding>" in page
    assert sjis.encoding in page
    assert "経理部のモニター（東京）" in page


def test_a_nul_character_is_an_error_naming_the_cell(desk: None) -> None:
    """Found by the fuzz test on PostgreSQL: a NUL in a cell reached a query and gave a DataError."""
    with pytest.raises(SpreadsheetError, match="Cell C2 contains a NUL character"):
        plan_of(csv_data([HEADER[:4], ["Acme", "Monitor", "M\x00-1", "N"]]))


def test_undecodable_bytes_are_an_error(desk: None) -> None:
    with pytest.raises(SpreadsheetError, match="CSV UTF-8"):
        read_sheet("a.csv", b"\xef\xbb\xbfName\nok\n\xff\xfe\xfa bad\n")  # UTF-8 by its mark, then not UTF-8
    with pytest.raises(SpreadsheetError, match="CSV UTF-8"):
        read_sheet("a.csv", bytes(range(256)) * 8)


def test_duplicate_rows_are_flagged_and_imported_once(desk: None, admin_client: Any) -> None:
    rows = [HEADER[:4], ["Acme", "Monitor", "", "Same name"], ["Acme", "Monitor", "", "same NAME"],
            ["Acme", "Monitor", "T-1", "A"], ["Acme", "Monitor", "t-1", "B"]]
    plan = plan_of(csv_data(rows))
    assert [r.action for r in plan.rows] == ["create", "error", "create", "error"]
    assert [r.duplicate_of for r in plan.rows] == [None, 2, None, 4]
    assert "Row 3 repeats row 2" in plan.rows[1].errors[0]
    assert plan.as_json()["duplicates"] == 2
    _plan, result = apply_sheet(read_sheet("a.csv", csv_data(rows)), ACTOR)
    assert result.created == 2
    assert Asset.objects.filter(name__iexact="same name").count() == 1
    upload = SimpleUploadedFile("dup.csv", csv_data(rows))
    page = admin_client.post("/imports/spreadsheet/", {"file": upload}, follow=True).content.decode()
    assert 'data-duplicate-of="2"' in page
    assert "<strong data-duplicates>2</strong>" in page


@pytest.mark.timeout(20)
@pytest.mark.parametrize("text", ["1e999999999", "1e1000000", "9" * 5000, "1" + "0" * 60, "-1e-999999", "NaN",
                                  "Infinity", "1_000"])
def test_huge_numbers_are_refused_quickly_everywhere(desk: None, text: str) -> None:
    for data_type in (DataType.DECIMAL, DataType.INTEGER):
        with pytest.raises(FieldValueError):
            coerce_value("Price", data_type, text)  # the path of field mappings (sync) and every write
    plan = plan_of(csv_data([HEADER, ["Acme", "Monitor", "M-1", "N", "", text, text]]))
    assert plan.rows[0].action == "error"
    assert len(plan.rows[0].errors) == 2
    for value in (float("inf"), float("nan"), 1e300):
        with pytest.raises(FieldValueError):
            coerce_value("Count", DataType.INTEGER, value)


def test_a_cell_over_the_limit_is_an_error_not_a_traceback(desk: None, admin_client: Any) -> None:
    data = csv_data([HEADER[:4], ["Acme", "Monitor", "M-1", "x" * 131_073]])
    with pytest.raises(SpreadsheetError, match="longer than 131,072 characters"):
        read_sheet("a.csv", data)
    upload = SimpleUploadedFile("long.csv", data)
    response = admin_client.post("/imports/spreadsheet/", {"file": upload}, follow=True)
    assert response.status_code == 200
    assert SpreadsheetImport.objects.get().status == ImportStatus.REJECTED
    assert "longer than 131,072 characters" in response.content.decode()


def test_a_zip_bomb_is_refused_before_it_expands(desk: None, admin_client: Any) -> None:
    book = openpyxl.Workbook()
    book.active.append(HEADER[:4])
    normal = io.BytesIO()
    book.save(normal)
    bomb = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(normal.getvalue())) as source, \
            zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info, source.read(info))
        with target.open("xl/media/padding.bin", "w") as padding:
            chunk = b" " * (1024 * 1024)
            for _ in range(reader.MAX_UNCOMPRESSED // len(chunk) + 1):
                padding.write(chunk)
    assert len(bomb.getvalue()) < 1024 * 1024
    with pytest.raises(SpreadsheetError, match="expands to"):
        read_sheet("bomb.xlsx", bomb.getvalue())
    response = admin_client.post("/imports/spreadsheet/", {"file": SimpleUploadedFile("bomb.xlsx", bomb.getvalue())},
                                 follow=True)
    record = SpreadsheetImport.objects.get()
    assert record.status == ImportStatus.REJECTED
    assert record.preview == {}
    assert "expands to" in response.content.decode()


def test_row_and_cell_caps_of_a_workbook(desk: None, monkeypatch: pytest.MonkeyPatch) -> None:
    book = openpyxl.Workbook()
    book.active.append(HEADER[:4])
    for index in range(30):
        book.active.append(["Acme", "Monitor", f"M-{index}", f"N{index}"])
    out = io.BytesIO()
    book.save(out)
    assert len(read_sheet("a.xlsx", out.getvalue()).rows) == 30
    monkeypatch.setattr(reader, "MAX_ROWS", 10)
    with pytest.raises(SpreadsheetError, match="31 rows; at most 10"):
        read_sheet("a.xlsx", out.getvalue())
    with pytest.raises(SpreadsheetError, match="more than 10 rows"):
        read_sheet("a.csv", csv_data([HEADER[:4]] + [["Acme", "Monitor", f"M-{i}", "N"] for i in range(30)]))
    monkeypatch.setattr(reader, "MAX_ROWS", 100)
    monkeypatch.setattr(reader, "MAX_CELLS", 50)
    with pytest.raises(SpreadsheetError, match="at most 50 cells"):
        read_sheet("a.xlsx", out.getvalue())


CELL = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["Acme", "Monitor", "1,5", "1.234,5", "1e999999999", '"', '""', "=1+1", "\x00", "\ud7ff",
                     "9" * 200, "-", "1e", "T-1"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.lists(CELL, min_size=1, max_size=8), min_size=0, max_size=8),
    delimiter=st.sampled_from([",", ";", "\t"]),
    encoding=st.sampled_from(["utf-8", "utf-16", "cp1252", "shift_jis"]),
    separator=st.sampled_from([".", ","]),
    noise=st.binary(max_size=20),
)
def test_fuzz_generated_spreadsheets_never_crash(desk: None, rows: list[list[str]], delimiter: str, encoding: str,
                                                 separator: str, noise: bytes) -> None:
    data = csv_data([HEADER, *rows], delimiter=delimiter, encoding="utf-8")
    with contextlib.suppress(UnicodeEncodeError):
        data = csv_data([HEADER, *rows], delimiter=delimiter, encoding=encoding)
    messages: list[str] = []
    for candidate in (data, data + noise, noise + data):
        try:
            sheet = read_sheet("fuzz.csv", candidate, separator)
        except SpreadsheetError as exc:
            messages.append(str(exc))
            continue
        plan = build_plan(sheet)
        assert len(plan.rows) == len(sheet.rows)
        for row in plan.rows:
            assert row.action in {"create", "update", "unchanged", "error"}
    assert all(messages)  # a refused file always says why
