"""Typed field values: conversion of raw input to a field's data type, with messages that say what to fix."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any


class DataType(StrEnum):
    """The data types a field definition can have."""

    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    CHOICE = "choice"


EXPECTED = {
    DataType.TEXT: "text",
    DataType.INTEGER: "a whole number",
    DataType.DECIMAL: "a decimal number",
    DataType.BOOLEAN: "yes/no (true, false, yes, no, 1, 0)",
    DataType.DATE: "a date (YYYY-MM-DD)",
    DataType.DATETIME: "a date and time (ISO 8601, e.g. 2026-01-31T14:05:00Z)",
    DataType.CHOICE: "one of the field's choices",
}

_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}
MAX_TEXT = 4000
MAX_NUMBER_TEXT = 100  # characters of numeric text looked at; longer text is refused before it is parsed
MAX_NUMBER_DIGITS = 40  # digits before (and after) the decimal point a stored number may have
DECIMAL_SEPARATORS = (".", ",")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?")

JsonValue = str | int | bool | None


class FieldValueError(ValueError):
    """A value does not fit its field's type; the message names field, value and expected type."""

    def __init__(self, field_label: str, value: Any, data_type: DataType, extra: str = "") -> None:
        shown = repr(value) if not isinstance(value, str) else f"'{value[:80]}'"
        message = f"Field '{field_label}' expects {EXPECTED[data_type]}{extra}; got {shown}."
        super().__init__(message)
        self.field_label = field_label
        self.value = value
        self.data_type = data_type


class NumberFormatError(ValueError):
    """Numeric text that does not read as a number with the chosen decimal separator."""


def normalize_number_text(text: str, decimal_separator: str = ".") -> str:
    """Numeric text in plain form (`.` decimal point, no grouping) read with `decimal_separator`.

    The other separator (or a space) is accepted only as a thousands separator in groups of three
    (`1.234,5` with `,`; `1,234.5` with `.`); anything else raises NumberFormatError saying why.
    """
    if decimal_separator not in DECIMAL_SEPARATORS:
        raise NumberFormatError(f"the decimal separator must be '.' or ','; got {decimal_separator!r}")
    text = text.strip().replace("\u00a0", " ").replace("\u202f", " ")
    if len(text) > MAX_NUMBER_TEXT:
        raise NumberFormatError(f"longer than {MAX_NUMBER_TEXT} characters")
    group = "," if decimal_separator == "." else "."
    sign = ""
    if text[:1] in "+-":
        sign, text = text[0], text[1:].lstrip()
    if group in text or " " in text:
        whole, _, fraction = text.partition(decimal_separator)
        if not re.fullmatch(r"\d{1,3}(?:[" + re.escape(group) + r" ]\d{3})+", whole) or (
                group in fraction or " " in fraction):
            other = "','" if decimal_separator == "." else "'.'"
            raise NumberFormatError(
                f"'{sign}{text}' does not read as a number with '{decimal_separator}' as decimal separator "
                f"(if {other} is the decimal separator, choose it for this import)")
        text = whole.replace(group, "").replace(" ", "") + (("." + fraction) if fraction or decimal_separator in
                                                             text else "")
    elif decimal_separator == ",":
        if text.count(",") > 1:
            raise NumberFormatError(f"'{sign}{text}' has more than one decimal separator ','")
        text = text.replace(",", ".")
    if not _PLAIN_NUMBER.fullmatch(text):
        raise NumberFormatError(f"'{sign}{text}' is not a number")
    return sign + text


def _bounded_decimal(text: str, decimal_separator: str = ".") -> Decimal:
    """Parse numeric text after capping its length and exponent (so `1e999999999` is refused at once)."""
    number = Decimal(normalize_number_text(text, decimal_separator))
    if not number.is_finite():
        raise NumberFormatError("not a finite number")
    if number and (number.adjusted() >= MAX_NUMBER_DIGITS or number.adjusted() < -MAX_NUMBER_DIGITS):
        raise NumberFormatError(f"more than {MAX_NUMBER_DIGITS} digits")
    return number


def _number(label: str, value: Any, data_type: DataType, decimal_separator: str) -> Decimal:
    text = repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, float | int):
        decimal_separator = "."  # a typed number from a workbook or an API is never locale text
    try:
        return _bounded_decimal(text, decimal_separator)
    except NumberFormatError as exc:
        plain = str(exc).endswith("is not a number")  # the message already says what was expected
        raise FieldValueError(label, value if plain else text[:80], data_type, "" if plain else f" ({exc})") from None


def _parse_datetime(text: str) -> dt.datetime:
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    parsed = dt.datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def coerce_value(
    label: str, data_type: DataType, value: Any, choices: list[str] | tuple[str, ...] = (),
    decimal_separator: str = ".",
) -> JsonValue:
    """Convert `value` to the JSON form stored for `data_type`; None or blank means 'no value'.

    Integers are stored as int, decimals as a normalised string, booleans as bool, dates as YYYY-MM-DD,
    date-times as ISO 8601 in UTC, text and choices as str. Numeric text is read with `decimal_separator`
    and capped in length and digits before it is parsed.
    """
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    try:
        if data_type is DataType.TEXT:
            text = str(value).strip()
            if len(text) > MAX_TEXT:
                raise FieldValueError(label, value, data_type, f" of at most {MAX_TEXT} characters")
            return text
        if data_type is DataType.INTEGER:
            if isinstance(value, bool):
                raise FieldValueError(label, value, data_type)
            if isinstance(value, int):
                if abs(value) >= 10 ** MAX_NUMBER_DIGITS:
                    raise FieldValueError(label, value, data_type, f" of at most {MAX_NUMBER_DIGITS} digits")
                return value
            if isinstance(value, float) and value.is_integer() and abs(value) < 10 ** MAX_NUMBER_DIGITS:
                return int(value)
            number = _number(label, value, data_type, decimal_separator)
            if number != number.to_integral_value():
                raise FieldValueError(label, value, data_type)
            return int(number)
        if data_type is DataType.DECIMAL:
            if isinstance(value, bool):
                raise FieldValueError(label, value, data_type)
            number = _number(label, value, data_type, decimal_separator)
            return format(number.normalize(), "f")
        if data_type is DataType.BOOLEAN:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise FieldValueError(label, value, data_type)
        if data_type is DataType.DATE:
            if isinstance(value, dt.datetime):
                return value.date().isoformat()
            if isinstance(value, dt.date):
                return value.isoformat()
            text = str(value).strip()
            if "T" in text or " " in text:
                return _parse_datetime(text.replace(" ", "T", 1)).date().isoformat()
            return dt.date.fromisoformat(text).isoformat()
        if data_type is DataType.DATETIME:
            if isinstance(value, dt.datetime):
                stamp = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
                return stamp.astimezone(dt.UTC).isoformat()
            if isinstance(value, dt.date):
                return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC).isoformat()
            return _parse_datetime(str(value).strip()).isoformat()
        if data_type is DataType.CHOICE:
            text = str(value).strip()
            for choice in choices:
                if choice.lower() == text.lower():
                    return choice
            listed = ", ".join(choices) if choices else "none defined"
            raise FieldValueError(label, value, data_type, f" ({listed})")
    except (InvalidOperation, ValueError, TypeError) as exc:
        if isinstance(exc, FieldValueError):
            raise
        raise FieldValueError(label, value, data_type) from None
    raise FieldValueError(label, value, data_type)
