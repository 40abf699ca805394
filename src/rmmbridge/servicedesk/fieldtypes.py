"""Typed field values: conversion of raw input to a field's data type, with messages that say what to fix."""

from __future__ import annotations

import datetime as dt
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


def _parse_datetime(text: str) -> dt.datetime:
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    parsed = dt.datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def coerce_value(
    label: str, data_type: DataType, value: Any, choices: list[str] | tuple[str, ...] = ()
) -> JsonValue:
    """Convert `value` to the JSON form stored for `data_type`; None or blank means 'no value'.

    Integers are stored as int, decimals as a normalised string, booleans as bool, dates as YYYY-MM-DD,
    date-times as ISO 8601 in UTC, text and choices as str.
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
                return value
            if isinstance(value, float) and value.is_integer():
                return int(value)
            text = str(value).strip().replace(",", "")
            number = Decimal(text)
            if number != number.to_integral_value():
                raise FieldValueError(label, value, data_type)
            return int(number)
        if data_type is DataType.DECIMAL:
            if isinstance(value, bool):
                raise FieldValueError(label, value, data_type)
            number = Decimal(str(value).strip().replace(",", ""))
            if not number.is_finite():
                raise FieldValueError(label, value, data_type)
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
