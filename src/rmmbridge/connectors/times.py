"""Vendor timestamps → aware UTC datetimes: epoch seconds or milliseconds, and ISO 8601 text (naive read as UTC)."""

from __future__ import annotations

from datetime import UTC, datetime

#: Epoch numbers above this are milliseconds (1e11 s is the year 5138; 1e11 ms is 1973).
MILLISECONDS_ABOVE = 1e11


def from_epoch(value: int | float, *, milliseconds: bool | None = None) -> datetime | None:
    """Epoch seconds or milliseconds → aware UTC; ``milliseconds=None`` decides by size. Out of range → None."""
    if milliseconds is None:
        milliseconds = abs(value) > MILLISECONDS_ABOVE
    try:
        return datetime.fromtimestamp(value / 1000 if milliseconds else value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def from_iso(text: str) -> datetime | None:
    """ISO 8601 text ("2025-01-15T10:30:00Z", "+02:00" offsets; no offset = UTC) → aware datetime; else None."""
    text = text.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
