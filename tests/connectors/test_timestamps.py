"""Epoch numbers: seconds, milliseconds when large, None when out of range."""

from __future__ import annotations

from datetime import UTC, datetime

from rmmbridge.connectors.timestamps import MS_FROM, from_epoch


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
