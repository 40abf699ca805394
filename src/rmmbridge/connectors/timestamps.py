"""Epoch numbers from vendor payloads as aware UTC datetimes (seconds, or milliseconds when large)."""

from __future__ import annotations

from datetime import UTC, datetime

#: Epoch values at or above this are milliseconds (in seconds it would be the year 5138).
MS_FROM = 1e11


def from_epoch(value: float, *, ms_from: float = MS_FROM) -> datetime | None:
    """Epoch seconds, or milliseconds when ``abs(value) >= ms_from``, as an aware UTC datetime; None when the
    number is out of range for a date."""
    seconds = value / 1000 if abs(value) >= ms_from else value
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
