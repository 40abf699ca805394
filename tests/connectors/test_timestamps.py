"""Vendor timestamps: epoch seconds or milliseconds, ISO 8601 with or without an offset, None when unreadable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from rmmbridge.connectors.timestamps import MS_FROM, from_epoch, from_iso


def test_seconds_and_milliseconds_read_as_the_same_moment() -> None:
    moment = datetime(2026, 11, 20, 14, 3, 11, tzinfo=UTC)
    assert from_epoch(moment.timestamp()) == moment
    assert from_epoch(moment.timestamp() * 1000) == moment
    assert from_epoch(1763650931.5) == datetime.fromtimestamp(1763650931.5, tz=UTC)


def test_the_millisecond_threshold_is_the_callers() -> None:
    assert from_epoch(MS_FROM - 1) == datetime.fromtimestamp(MS_FROM - 1, tz=UTC)
    assert from_epoch(20_000_000_000, ms_from=10_000_000_000) == datetime.fromtimestamp(20_000_000, tz=UTC)
    assert from_epoch(1_000, ms_from=0) == datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)


def test_a_number_out_of_range_gives_none() -> None:
    assert from_epoch(1e30, ms_from=float("inf")) is None
    assert from_epoch(float("nan")) is None


def test_iso_keeps_its_offset_and_reads_a_naive_value_in_the_given_zone() -> None:
    assert from_iso(" 2026-11-20T14:03:11Z ") == datetime(2026, 11, 20, 14, 3, 11, tzinfo=UTC)
    assert from_iso("2026-11-20T14:03:11z") == datetime(2026, 11, 20, 14, 3, 11, tzinfo=UTC)
    offset = from_iso("2026-11-20T14:03:11-05:00")
    assert offset is not None
    assert offset.utcoffset() == timedelta(hours=-5)
    assert offset == datetime(2026, 11, 20, 19, 3, 11, tzinfo=UTC)
    assert from_iso("2026-11-20T14:03:11") == datetime(2026, 11, 20, 14, 3, 11, tzinfo=UTC)
    in_ny = from_iso("2026-07-01T12:00:00", tz=ZoneInfo("America/New_York"))
    assert in_ny == datetime(2026, 7, 1, 12, tzinfo=timezone(timedelta(hours=-4)))
    assert from_iso("soon") is None
    assert from_iso("") is None
