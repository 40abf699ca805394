"""Spreadsheet asset import: reading CSV/XLSX, $CF columns, preview without writes, apply, errors."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.core.management import call_command

from rmmbridge.servicedesk.actions import (
    Actor,
    AssetInput,
    do_create_asset_group,
    do_create_asset_type,
    do_create_customer,
    do_create_end_user,
    do_create_field_definition,
    do_upsert_asset,
)
from rmmbridge.servicedesk.models import Asset, AuditEntry, FieldKind
from rmmbridge.spreadsheets.apply import apply_sheet
from rmmbridge.spreadsheets.models import ImportStatus, SpreadsheetImport
from rmmbridge.spreadsheets.plan import build_plan
from rmmbridge.spreadsheets.reader import SpreadsheetError, read_sheet
from rmmbridge.spreadsheets.sample import sample_columns

ACTOR = Actor.system("test")


@pytest.fixture
def desk(db: Any) -> dict[str, Any]:
    group = do_create_asset_group(ACTOR, "Computers")
    workstation = do_create_asset_type(ACTOR, "Workstation", group)
    do_create_asset_type(ACTOR, "Printer", group)
    do_create_field_definition(ACTOR, "serial_number", label="Serial number", asset_types=[workstation])
    do_create_field_definition(ACTOR, "3rdparty", label="Third party", kind=FieldKind.CUSTOM_FIELD)
    do_create_field_definition(ACTOR, "warranty_end", label="Warranty end", kind=FieldKind.CUSTOM_FIELD,
                               data_type="date")
    customer = do_create_customer(ACTOR, "Harbourview Dental Ltd", main_site_name="Harbour Street")
    user = do_create_end_user(ACTOR, customer.main_site, "Alex Morgan", email="alex@harbourview.example")
    return {"customer": customer, "workstation": workstation, "user": user}


def csv_bytes(rows: list[list[str]]) -> bytes:
    return "\n".join(",".join(r) for r in rows).encode("utf-8")


HEADER = ["Customer", "Site", "Asset Type", "Asset Tag", "Name", "User", "Serial number", "$CF3rdparty",
          "$CFwarranty_end"]


def test_csv_preview_writes_nothing_and_apply_creates(desk: dict[str, Any]) -> None:
    data = csv_bytes([
        HEADER,
        ["Harbourview Dental Ltd", "", "Workstation", "AT-1", "HD-WS01", "alex@harbourview.example", "SN1",
         "Contoso", "2027-03-31"],
        ["Harbourview Dental Ltd", "Harbour Street", "printer", "AT-2", "HD-PR01", "", "", "", ""],
    ])
    sheet = read_sheet("assets.csv", data)
    audit_before = AuditEntry.objects.count()
    plan = build_plan(sheet)
    assert plan.counts == {"create": 2, "update": 0, "unchanged": 0, "error": 0}
    assert Asset.objects.count() == 0
    assert AuditEntry.objects.count() == audit_before

    _, result = apply_sheet(sheet, ACTOR)
    assert (result.created, result.updated, result.errors) == (2, 0, [])
    ws = Asset.objects.get(asset_tag="AT-1")
    assert ws.values == {"serial_number": "SN1", "CF3rdparty": "Contoso", "CFwarranty_end": "2027-03-31"}
    assert ws.end_user == desk["user"]
    assert ws.site == desk["customer"].main_site
    assert Asset.objects.get(asset_tag="AT-2").asset_type.name == "Printer"

    again = build_plan(read_sheet("assets.csv", data))
    assert again.counts == {"create": 0, "update": 0, "unchanged": 2, "error": 0}
    assert {r.reason for r in again.rows} == {"matched by asset tag 'AT-1'", "matched by asset tag 'AT-2'"}


def test_xlsx_update_by_name_with_typed_cells(desk: dict[str, Any]) -> None:
    do_upsert_asset(ACTOR, AssetInput(asset_type=desk["workstation"], site=desk["customer"].main_site, name="HD-WS09",
                                      values={"serial_number": "OLD"}))
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Customer", "Asset Type", "Name", "Serial number", "$CFwarranty_end"])
    import datetime as dt

    sheet.append(["harbourview dental ltd", "Workstation", "HD-WS09", 123456, dt.date(2028, 1, 2)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    plan, result = apply_sheet(read_sheet("a.xlsx", buffer.getvalue()), ACTOR)
    assert plan.rows[0].action == "update"
    assert plan.rows[0].reason == "matched by name 'HD-WS09' within customer 'Harbourview Dental Ltd'"
    assert plan.rows[0].changes["serial_number"] == ["OLD", "123456"]
    assert result.updated == 1
    asset = Asset.objects.get(name="HD-WS09")
    assert asset.values["serial_number"] == "123456"
    assert asset.values["CFwarranty_end"] == "2028-01-02"


def test_row_errors_name_row_column_and_fix(desk: dict[str, Any]) -> None:
    data = csv_bytes([
        HEADER,
        ["Nobody Inc", "", "Workstation", "AT-9", "X", "", "", "", ""],
        ["Harbourview Dental Ltd", "Basement", "Toaster", "AT-10", "Y", "ghost@example.com", "", "", "soon"],
        ["Harbourview Dental Ltd", "", "Workstation", "", "", "", "", "", ""],
        ["Harbourview Dental Ltd", "", "Workstation", "AT-11", "OK-1", "", "", "", ""],
    ])
    plan, result = apply_sheet(read_sheet("bad.csv", data), ACTOR)
    errors = {r.row: r.errors for r in plan.rows}
    assert errors[2] == ["Customer 'Nobody Inc' does not exist; import or create it first."]
    assert "Customer 'Harbourview Dental Ltd' has no site 'Basement'." in errors[3]
    assert "Asset type 'Toaster' does not exist (Settings > Asset types)." in errors[3]
    assert "Field 'Warranty end' expects a date (YYYY-MM-DD); got 'soon'." in errors[3]
    assert any("ghost@example.com" in e for e in errors[3])
    assert errors[4] == ["A row needs an Asset Tag or a Name."]
    assert result.created == 1
    assert Asset.objects.filter(asset_tag="AT-11").exists()
    assert [e["row"] for e in result.errors] == [2, 3, 4]


def test_unknown_columns_are_reported_not_silently_dropped(desk: dict[str, Any]) -> None:
    sheet = read_sheet("x.csv", csv_bytes([["Customer", "Asset Type", "Name", "Colour", "$CFmissing"],
                                           ["Harbourview Dental Ltd", "Workstation", "A", "red", "x"]]))
    plan = build_plan(sheet)
    assert any("Column 'Colour' is ignored" in w for w in plan.warnings)
    assert any("no custom field 'missing'" in w for w in plan.warnings)


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("a.csv", b"", "The file is empty."),
        ("a.pdf", b"%PDF", "is not a spreadsheet"),
        ("a.xlsx", b"not really a workbook", "not a readable spreadsheet"),
        ("a.csv", b"Name,Name\nx,y", "Column 'Name' appears twice"),
        ("a.csv", b"Name,,Site\nx,y,z", "Column 2 has no title"),
        ("a.csv", b"\n\n", "no header row"),
    ],
)
def test_unreadable_files_say_what_to_fix(name: str, data: bytes, message: str) -> None:
    with pytest.raises(SpreadsheetError, match=message):
        read_sheet(name, data)


def test_windows_1252_csv_and_semicolons(desk: dict[str, Any]) -> None:
    data = "Customer;Asset Type;Name;$CF3rdparty\nHarbourview Dental Ltd;Workstation;WS-É;Café\n".encode("cp1252")
    plan = build_plan(read_sheet("a.csv", data))
    assert plan.rows[0].action == "create"
    assert plan.rows[0].changes["CF3rdparty"] == [None, "Café"]


def test_sample_has_custom_fields_as_cf_columns(desk: dict[str, Any]) -> None:
    columns = sample_columns()
    assert columns[:3] == ["Customer", "Site", "Asset Type"]
    assert "$CF3rdparty" in columns
    assert "Serial number" in columns


def test_pages_upload_preview_apply(admin_client: Any, desk: dict[str, Any]) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("assets.csv", csv_bytes([HEADER[:5], ["Harbourview Dental Ltd", "", "Workstation",
                                                                      "AT-5", "HD-WS05"]]))
    response = admin_client.post("/imports/spreadsheet/", {"file": upload})
    record = SpreadsheetImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/imports/spreadsheet/{record.pk}/"
    page = admin_client.get(response["Location"]).content.decode()
    assert 'data-count="create">1<' in page
    assert not Asset.objects.exists()
    admin_client.post(f"/imports/spreadsheet/{record.pk}/apply/")
    assert Asset.objects.filter(asset_tag="AT-5").exists()
    record.refresh_from_db()
    assert record.status == ImportStatus.APPLIED
    second = admin_client.post(f"/imports/spreadsheet/{record.pk}/apply/", follow=True).content.decode()
    assert "upload the file again" in second
    assert Asset.objects.count() == 1
    sample = admin_client.get("/imports/spreadsheet/sample.xlsx")
    assert openpyxl.load_workbook(io.BytesIO(sample.content)).active["A1"].value == "Customer"


def test_rejected_file_is_kept_with_its_reason(admin_client: Any, desk: dict[str, Any]) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = admin_client.post("/imports/spreadsheet/", {"file": SimpleUploadedFile("x.docx", b"PK..")}, follow=True)
    assert "is not a spreadsheet" in response.content.decode()
    assert SpreadsheetImport.objects.get().status == ImportStatus.REJECTED


def test_cli_preview_then_apply(desk: dict[str, Any], tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "assets.csv"
    path.write_bytes(csv_bytes([HEADER[:5], ["Harbourview Dental Ltd", "", "Workstation", "AT-7", "HD-WS07"]]))
    call_command("import_assets", str(path), "--json")
    preview = json.loads(capsys.readouterr().out)
    assert preview["plan"]["counts"]["create"] == 1
    assert not Asset.objects.exists()
    call_command("import_assets", str(path), "--apply", "--json")
    applied = json.loads(capsys.readouterr().out)
    assert applied["result"]["created"] == 1
    assert Asset.objects.get(asset_tag="AT-7").name == "HD-WS07"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_browser_upload_preview_apply(page: Any, tmp_path: Path) -> None:
    customer = do_create_customer(ACTOR, "Kestrel Logistics Inc")
    do_create_asset_type(ACTOR, "Laptop", do_create_asset_group(ACTOR, "Computers"))
    path = tmp_path / "laptops.csv"
    path.write_bytes(csv_bytes([["Customer", "Asset Type", "Asset Tag", "Name"],
                                ["Kestrel Logistics Inc", "Laptop", "KL-1", "KL-LT01"],
                                ["Kestrel Logistics Inc", "Toaster", "KL-2", "KL-XX"]]))
    page.goto("/imports/spreadsheet/")
    page.set_input_files("input[type=file]", str(path))
    page.click("button:has-text('Preview')")
    page.wait_for_selector("#counts")
    assert page.inner_text("[data-count=create]") == "1"
    assert page.inner_text("[data-count=error]") == "1"
    from playwright.sync_api import expect

    page.select_option("select[name=action]", "error")
    expect(page.locator("#rows tr[data-action=create]")).to_have_count(0)  # waits for the swap (the error row
    page.wait_for_selector("#rows tr[data-action=error]")                # was already shown before it)
    page.click("#apply")
    page.wait_for_selector("text=Imported: 1 created")
    assert Asset.objects.filter(customer=customer, name="KL-LT01").exists()


def test_cli_is_listed_in_help() -> None:
    out = subprocess.run([sys.executable, "-m", "rmmbridge", "--help"], capture_output=True, text=True, check=True)
    assert "import_assets" in out.stdout


def test_imports_page_links_to_the_spreadsheet_import(admin_client: Any) -> None:
    page = admin_client.get("/sync/").content.decode()
    assert 'href="/imports/spreadsheet/"' in page
