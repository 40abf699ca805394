"""Pure maintenance-window logic: one-off and weekly recurring windows in a time zone, DST-correct."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class WindowScope(StrEnum):
    """What a maintenance window covers."""

    CUSTOMER = "customer"
    SITE = "site"
    ASSET = "asset"


class WindowError(ValueError):
    """A maintenance window that cannot work; the message says what to fix."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where an alert comes from (ids as strings; empty when unknown)."""

    customer: str = ""
    site: str = ""
    asset: str = ""

    def matches(self, scope: WindowScope, target_id: str) -> bool:
        value = {WindowScope.CUSTOMER: self.customer, WindowScope.SITE: self.site,
                 WindowScope.ASSET: self.asset}[scope]
        return bool(value) and value == target_id


@dataclass(frozen=True, slots=True)
class Window:
    """A maintenance window. One-off: `starts`/`ends` (aware). Weekly: `weekdays` (0 = Monday) and local times.

    Weekly times are wall-clock times in `timezone`: a 22:00–06:00 window stays 22:00–06:00 local across a DST
    change (it lasts 7 or 9 hours that night). `end_time <= start_time` means the window runs past midnight.
    """

    name: str
    scope: WindowScope
    target_id: str
    timezone: str = "UTC"
    starts: datetime | None = None
    ends: datetime | None = None
    weekdays: frozenset[int] = field(default_factory=frozenset)
    start_time: time | None = None
    end_time: time | None = None

    @property
    def recurring(self) -> bool:
        return bool(self.weekdays)

    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise WindowError(f"Unknown time zone {self.timezone!r}; use an IANA name such as 'Europe/London'.") \
                from exc


def validate(window: Window) -> None:
    """Raise WindowError saying what to fix when the window cannot work."""
    window.zone()
    if not window.target_id:
        raise WindowError(f"Window {window.name!r} needs the {window.scope.value} it covers.")
    if window.recurring:
        if window.start_time is None or window.end_time is None:
            raise WindowError(f"Weekly window {window.name!r} needs a start and an end time (HH:MM).")
        if window.start_time == window.end_time:
            raise WindowError(f"Weekly window {window.name!r} starts and ends at {window.start_time:%H:%M}; "
                              "set an end time after the start (an earlier end time runs past midnight).")
        if any(day < 0 or day > 6 for day in window.weekdays):
            raise WindowError(f"Weekly window {window.name!r}: weekdays are 0 (Monday) to 6 (Sunday).")
        return
    if window.starts is None or window.ends is None:
        raise WindowError(f"One-off window {window.name!r} needs a start and an end (date and time), "
                          "or weekdays with times for a weekly window.")
    if window.starts.tzinfo is None or window.ends.tzinfo is None:
        raise WindowError(f"One-off window {window.name!r}: start and end need a time zone.")
    if window.ends <= window.starts:
        raise WindowError(f"One-off window {window.name!r} ends ({window.ends:%Y-%m-%d %H:%M}) before it starts "
                          f"({window.starts:%Y-%m-%d %H:%M}); set the end after the start.")


def _local(day: date, at: time, zone: ZoneInfo) -> datetime:
    """A wall-clock time on a day in UTC; a time skipped by a DST change moves forward by the gap."""
    naive = datetime.combine(day, at)
    aware = naive.replace(tzinfo=zone)
    round_trip = aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    if round_trip != naive:  # inside a spring-forward gap: the first real instant after it
        aware = naive.replace(tzinfo=zone, fold=1)
    return aware.astimezone(UTC)


def occurrence(window: Window, at: datetime) -> tuple[datetime, datetime] | None:
    """The (start, end) in UTC of the window's occurrence that contains `at`, or None."""
    if at.tzinfo is None:
        raise WindowError("The alert time needs a time zone.")
    if not window.recurring:
        if window.starts is None or window.ends is None:
            return None
        return (window.starts, window.ends) if window.starts <= at < window.ends else None
    if window.start_time is None or window.end_time is None:
        return None
    zone = window.zone()
    local_day = at.astimezone(zone).date()
    for offset in (0, -1):  # an occurrence that began yesterday may run past midnight
        day = local_day + timedelta(days=offset)
        if day.weekday() not in window.weekdays:
            continue
        start = _local(day, window.start_time, zone)
        end_day = day if window.end_time > window.start_time else day + timedelta(days=1)
        end = _local(end_day, window.end_time, zone)
        if start <= at < end:
            return start, end
    return None


def covering(windows: Iterable[Window], target: Target, at: datetime) -> tuple[Window, datetime] | None:
    """The window covering this target at `at` with the latest end (an alert waits for all of them), or None."""
    best: tuple[Window, datetime] | None = None
    for window in windows:
        if not target.matches(window.scope, window.target_id):
            continue
        found = occurrence(window, at)
        if found is not None and (best is None or found[1] > best[1]):
            best = (window, found[1])
    return best
