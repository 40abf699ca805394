"""Shared timestamp readers: epoch seconds or milliseconds by size or by unit, ISO text with or without offset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from rmmbridge.connectors.timestamps import from_epoch, from_iso

NOON = datetime(2024, 7, 16, 12, 0, tzinfo=UTC)


def test_epoch_unit_is_decided_by_size_unless_stated() -> None:
    assert from_epoch(1721131200) == NOON
    assert from_epoch(1721131200000) == NOON
    assert from_epoch(1721131200000, milliseconds=True) == NOON
    assert from_epoch(1721131200, milliseconds=True) == datetime(1970, 1, 20, 22, 5, 31, 200000, tzinfo=UTC)
    assert from_epoch(10**20, milliseconds=False) is None  # out of range: None, not an exception


def test_iso_text_is_aware() -> None:
    assert from_iso("2024-07-16T12:00:00Z") == NOON
    assert from_iso(" 2024-07-16T12:00:00z ") == NOON
    assert from_iso("2024-07-16T12:00:00") == NOON  # no offset: UTC
    plus_two = from_iso("2024-07-16T14:00:00+02:00")
    assert plus_two == NOON
    assert plus_two is not None
    assert plus_two.utcoffset() == timedelta(hours=2)
    assert from_iso("soon") is None
    assert from_iso("2024-07-16T07:00:00-05:00") == NOON.astimezone(timezone(timedelta(hours=-5)))
