"""The sample spreadsheet: the standard columns, every asset field and every custom field as $CF<name>."""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from rmmbridge.servicedesk.models import FieldDefinition, FieldKind
from rmmbridge.spreadsheets.plan import FIXED_COLUMNS


def sample_columns() -> list[str]:
    """Column titles of the sample sheet, in order."""
    columns = list(FIXED_COLUMNS.values())
    for definition in FieldDefinition.objects.order_by("kind", "label"):
        columns.append(f"$CF{definition.name}" if definition.kind == FieldKind.CUSTOM_FIELD else definition.label)
    return columns


def sample_workbook() -> bytes:
    """An .xlsx file with the header row and one example row."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Assets"
    columns = sample_columns()
    sheet.append(columns)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    example = {"Customer": "Example Customer Ltd", "Site": "Main", "Asset Type": "Workstation",
               "Asset Tag": "AT-0001", "Name": "EXAMPLE-WS01", "User": "someone@example.com", "Active": "yes"}
    sheet.append([example.get(column, "") for column in columns])
    for index, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(12, len(column) + 2)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
