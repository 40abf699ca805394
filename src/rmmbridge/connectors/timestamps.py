"""Timestamps from vendor payloads as aware datetimes: epoch numbers (seconds, or milliseconds when large), ISO 8601."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

#: Epoch values at or above this are milliseconds (in seconds it would be the year 5138).
MS_FROM = 1e11


def from_epoch(value: float, *, ms_from: float = MS_FROM, milliseconds: bool | None = None) -> datetime | None:
    """Epoch seconds, or milliseconds when ``abs(value) >= ms_from`` (or ``milliseconds`` says so), as an aware UTC
    datetime; None when the number is out of range for a date."""
    if milliseconds is None:
        milliseconds = abs(value) >= ms_from
    seconds = value / 1000 if milliseconds else value
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def from_iso(text: str, *, tz: tzinfo = UTC) -> datetime | None:
    """An ISO 8601 date-time (`Z`/`z` for UTC) as an aware datetime, keeping its offset; one without an offset is
    read in ``tz``; None when unreadable."""
    text = text.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz)
