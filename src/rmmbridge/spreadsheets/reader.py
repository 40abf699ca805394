"""Reading CSV and XLSX files into a header and rows of cell values, with errors that say what to fix."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

from python_calamine import CalamineError, CalamineWorkbook

MAX_ROWS = 100_000
MAX_BYTES = 20 * 1024 * 1024

Cell = str | int | float | bool | dt.date | dt.datetime | None


class SpreadsheetError(ValueError):
    """The file cannot be read as an asset spreadsheet; the message says what to fix."""


@dataclass(frozen=True)
class Sheet:
    """A header row and data rows, each row with its row number in the spreadsheet (the header is row 1+)."""

    header: list[str]
    rows: list[tuple[int, list[Cell]]]


def _clean_cell(value: object) -> Cell:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, dt.timedelta):
        return str(value)
    return value  # type: ignore[return-value]


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise SpreadsheetError("The CSV file is neither UTF-8 nor Windows-1252 text; save it as CSV UTF-8 and try again.")


def _read_csv(data: bytes) -> list[list[Cell]]:
    text = _decode(data)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return [[_clean_cell(c) for c in row] for row in csv.reader(io.StringIO(text), dialect)]


def _read_xlsx(data: bytes) -> list[list[Cell]]:
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheet = workbook.get_sheet_by_index(0)
        return [[_clean_cell(c) for c in row] for row in sheet.to_python(skip_empty_area=False)]
    except CalamineError as exc:
        raise SpreadsheetError(
            f"The file is not a readable spreadsheet ({exc}); upload .xlsx, .xls, .ods or .csv."
        ) from None


def read_sheet(filename: str, data: bytes) -> Sheet:
    """Read the first sheet of an .xlsx/.xls/.ods workbook or a .csv file."""
    if not data:
        raise SpreadsheetError("The file is empty.")
    if len(data) > MAX_BYTES:
        raise SpreadsheetError(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB; split it into smaller files.")
    name = filename.lower()
    if name.endswith(".csv") or name.endswith(".txt"):
        rows = _read_csv(data)
    elif name.endswith((".xlsx", ".xlsm", ".xls", ".ods")):
        rows = _read_xlsx(data)
    else:
        raise SpreadsheetError(f"'{filename}' is not a spreadsheet: upload a .csv, .xlsx, .xls or .ods file.")
    start = 0
    while start < len(rows) and all(c in (None, "") for c in rows[start]):
        start += 1
    if start == len(rows):
        raise SpreadsheetError("The spreadsheet has no header row.")
    header = ["" if c is None else str(c).strip() for c in rows[start]]
    while header and header[-1] == "":
        header.pop()
    if not header:
        raise SpreadsheetError("The header row is empty: the first row must name the columns.")
    seen: dict[str, int] = {}
    for index, title in enumerate(header, start=1):
        if not title:
            raise SpreadsheetError(f"Column {index} has no title in the header row.")
        key = title.lower()
        if key in seen:
            raise SpreadsheetError(f"Column '{title}' appears twice (columns {seen[key]} and {index}).")
        seen[key] = index
    width = len(header)
    body = [
        (number, row[:width] + [None] * (width - len(row)))
        for number, row in enumerate(rows[start + 1 :], start=start + 2)
        if any(c not in (None, "") for c in row[:width])
    ]
    if len(body) > MAX_ROWS:
        raise SpreadsheetError(f"The spreadsheet has {len(body)} rows; at most {MAX_ROWS} can be imported at once.")
    return Sheet(header=header, rows=body)
