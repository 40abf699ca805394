"""Reading CSV and XLSX files into a header and rows of cell values, with errors that say what to fix."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import zipfile
from dataclasses import dataclass

from charset_normalizer import from_bytes
from python_calamine import CalamineError, CalamineWorkbook

MAX_ROWS = 100_000
MAX_BYTES = 20 * 1024 * 1024
MAX_CELLS = 2_000_000  # rows × columns of the first sheet
MAX_UNCOMPRESSED = 100 * 1024 * 1024  # what a workbook (a zip) may expand to
MAX_CELL_CHARS = 131_072  # characters in one cell (CSV's own field limit)
DELIMITERS = (",", ";", "\t", "|")
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))

Cell = str | int | float | bool | dt.date | dt.datetime | None


class SpreadsheetError(ValueError):
    """The file cannot be read as an asset spreadsheet; the message says what to fix."""


@dataclass(frozen=True)
class Sheet:
    """A header row and data rows, each row with its row number in the spreadsheet (the header is row 1+)."""

    header: list[str]
    rows: list[tuple[int, list[Cell]]]
    encoding: str = ""  # of a CSV file, as detected (shown in the preview)
    decimal_separator: str = "."


def _clean_cell(value: object) -> Cell:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, dt.timedelta):
        return str(value)
    return value  # type: ignore[return-value]


UNDECODABLE = "save it as CSV UTF-8 (Excel: Save as > CSV UTF-8) and upload it again"


def decode_text(data: bytes) -> tuple[str, str]:
    """(text, encoding): a byte-order mark decides, else strict UTF-8, else the charset-normalizer detector.

    Bytes that do not decode in the encoding found are an error naming where they are; nothing is replaced.
    """
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)), "")
    if not encoding:
        try:
            return data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            best = from_bytes(data[:1_000_000]).best()
            if best is None:
                raise SpreadsheetError(f"The CSV file's text encoding cannot be recognised; {UNDECODABLE}.") from None
            encoding = best.encoding
    try:
        return data.decode(encoding), encoding
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SpreadsheetError(
            f"The CSV file looks like {encoding} text but has bytes that are not {encoding} on line {line} "
            f"(byte {exc.start + 1}); {UNDECODABLE}."
        ) from None
    except LookupError:
        raise SpreadsheetError(f"The CSV file's text encoding ({encoding}) is not supported; {UNDECODABLE}.") from None


def _delimiter(text: str) -> str:
    """The standard comma unless the header line proves another delimiter (more columns, same on the next lines)."""
    lines = [line for line in text[:65536].splitlines()[:20] if line.strip()]
    if not lines:
        return ","
    best, best_width = ",", 1
    for delimiter in DELIMITERS:
        try:
            rows = list(csv.reader(io.StringIO("\n".join(lines)), csv.excel, delimiter=delimiter))
        except csv.Error:
            continue
        width = len(rows[0]) if rows else 0
        consistent = sum(1 for row in rows[1:] if len(row) == width) >= (len(rows) - 1) / 2
        if width > best_width and consistent:
            best, best_width = delimiter, width
    return best


def _read_csv(data: bytes) -> tuple[list[list[Cell]], str]:
    text, encoding = decode_text(data)
    rows: list[list[Cell]] = []
    empty: list[Cell] = []  # one shared object for every blank line (a file of newlines stays small)
    filled = 0
    reader = csv.reader(io.StringIO(text, newline=""), csv.excel, delimiter=_delimiter(text))
    try:
        for row in reader:
            if not any(c.strip() for c in row):
                rows.append(empty)
                continue
            filled += 1
            if filled > MAX_ROWS + 1:
                raise SpreadsheetError(f"The spreadsheet has more than {MAX_ROWS:,} rows; at most {MAX_ROWS:,} can "
                                       "be imported at once: split it into smaller files.")
            rows.append([_clean_cell(c) for c in row])
    except csv.Error as exc:
        where = f"line {reader.line_num}"
        if "field larger than field limit" in str(exc):
            raise SpreadsheetError(f"A cell on {where} is longer than {MAX_CELL_CHARS:,} characters; shorten it "
                                   "(or check for a quote that is never closed).") from None
        raise SpreadsheetError(f"The CSV file cannot be read at {where} ({exc}); check its quotes.") from None
    return rows, encoding


def _check_zip(data: bytes) -> None:
    """Refuse a workbook (a zip) that would expand past MAX_UNCOMPRESSED, before it is opened."""
    if not data.startswith(b"PK"):
        return
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError):
        return  # the workbook reader reports it
    if expanded > MAX_UNCOMPRESSED:
        raise SpreadsheetError(
            f"The workbook expands to {expanded // (1024 * 1024):,} MB (at most {MAX_UNCOMPRESSED // (1024 * 1024)} "
            "MB); it is not an ordinary asset list: remove unused sheets and formatting, or save it as CSV."
        )


def _read_xlsx(data: bytes) -> list[list[Cell]]:
    _check_zip(data)
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheet = workbook.get_sheet_by_index(0)
        end = sheet.end  # (last row, last column), 0-based, counted from A1 like to_python(skip_empty_area=False)
        height, width = (end[0] + 1, end[1] + 1) if end else (0, 0)
        if height > MAX_ROWS + 1:
            raise SpreadsheetError(f"The first sheet has {height:,} rows; at most {MAX_ROWS:,} can be imported "
                                   "at once: split it into smaller files.")
        if height * width > MAX_CELLS:
            raise SpreadsheetError(f"The first sheet has {height:,} rows × {width:,} columns; at most "
                                   f"{MAX_CELLS:,} cells can be imported at once: delete unused columns or split it.")
        rows = [[_clean_cell(c) for c in row] for row in sheet.to_python(skip_empty_area=False)]
    except CalamineError as exc:
        raise SpreadsheetError(
            f"The file is not a readable spreadsheet ({exc}); upload .xlsx, .xls, .ods or .csv."
        ) from None
    for number, row in enumerate(rows, start=1):
        for column, cell in enumerate(row, start=1):
            if isinstance(cell, str) and len(cell) > MAX_CELL_CHARS:
                raise SpreadsheetError(f"Cell {column_letter(column)}{number} is longer than {MAX_CELL_CHARS:,} "
                                       "characters; shorten it.")
    return rows


def column_letter(index: int) -> str:
    """Spreadsheet column name of a 1-based index (1 → A, 27 → AA)."""
    letters = ""
    while index > 0:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def read_sheet(filename: str, data: bytes, decimal_separator: str = ".") -> Sheet:
    """Read the first sheet of an .xlsx/.xls/.ods workbook or a .csv file; numbers in text cells are read later
    with `decimal_separator`."""
    if not data:
        raise SpreadsheetError("The file is empty.")
    if len(data) > MAX_BYTES:
        raise SpreadsheetError(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB; split it into smaller files.")
    if decimal_separator not in (".", ","):
        raise SpreadsheetError(f"The decimal separator must be '.' or ','; got {decimal_separator!r}.")
    name = filename.lower()
    encoding = ""
    if name.endswith(".csv") or name.endswith(".txt"):
        rows, encoding = _read_csv(data)
    elif name.endswith((".xlsx", ".xlsm", ".xls", ".ods")):
        rows = _read_xlsx(data)
    else:
        raise SpreadsheetError(f"'{filename}' is not a spreadsheet: upload a .csv, .xlsx, .xls or .ods file.")
    for number, row in enumerate(rows, start=1):
        for column, cell in enumerate(row, start=1):
            if isinstance(cell, str) and "\x00" in cell:  # no database stores it; it means a wrong encoding
                raise SpreadsheetError(f"Cell {column_letter(column)}{number} contains a NUL character (byte 0), "
                                       "which cannot be stored; remove it, or save the file as CSV UTF-8.")
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
        raise SpreadsheetError(f"The spreadsheet has more than {MAX_ROWS:,} rows; at most {MAX_ROWS:,} can be "
                               "imported at once: split it into smaller files.")
    return Sheet(header=header, rows=body, encoding=encoding, decimal_separator=decimal_separator)
