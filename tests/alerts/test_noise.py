"""Noise control decisions (windows, flapping, storms) with plain data and hypothesis."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rmmbridge.alerts.decide import EventKind
from rmmbridge.alerts.noise import (
    Disposition,
    NoiseEvent,
    NoisePolicy,
    SuppressReason,
    back_within_flap_window,
    children_to_resolve,
    count_flap_open,
    plan,
    quiet_time_over,
    storm_forms,
    suppression_counts,
)
from rmmbridge.alerts.windows import Target, Window, WindowError, WindowScope, covering, occurrence, validate

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
POLICY = NoisePolicy()


def ev(eid: str, key: str, kind: EventKind, minutes: float, *, site: str = "", device: str = "",
       condition: str = "offline", seq: int = 0) -> NoiseEvent:
    return NoiseEvent(eid, key, kind, T0 + timedelta(minutes=minutes), condition, device or key,
                      Target(customer="c1", site=site, asset=device or key), "Riverside Dental", seq)


def flapping_events(cycles: int, every: float) -> list[NoiseEvent]:
    out = []
    for i in range(cycles):
        out.append(ev(f"o{i}", "cpu", EventKind.TRIGGER, i * every))
        out.append(ev(f"r{i}", "cpu", EventKind.RESOLVE, i * every + every / 2))
    return out


def test_ten_cycles_in_twenty_minutes_make_one_flapping_ticket() -> None:
    result = plan(flapping_events(10, 2), [], POLICY, T0 + timedelta(minutes=21))
    assert len(result.tickets) == 1
    ticket = next(iter(result.tickets.values()))
    assert ticket.occurrences == 10
    assert ticket.flapping
    assert ticket.open  # resolved 1 minute ago: the quiet time has not passed
    assert result.ledger["r9"].suppress_reason is SuppressReason.FLAPPING


def test_flapping_ticket_closes_only_after_the_quiet_time() -> None:
    events = flapping_events(10, 2)
    last_resolve = T0 + timedelta(minutes=19)
    assert next(iter(plan(events, [], POLICY, last_resolve + timedelta(minutes=29)).tickets.values())).open
    assert not next(iter(plan(events, [], POLICY, last_resolve + timedelta(minutes=30)).tickets.values())).open
    # a new open inside the quiet time keeps it the same ticket
    again = [*events, ev("o-late", "cpu", EventKind.TRIGGER, 19 + 10)]
    result = plan(again, [], POLICY, T0 + timedelta(hours=3))
    assert len(result.tickets) == 1
    assert next(iter(result.tickets.values())).occurrences == 11


def test_three_cycles_are_not_flapping_and_a_later_alert_is_a_new_ticket() -> None:
    events = flapping_events(3, 10)
    result = plan(events, [], POLICY, T0 + timedelta(hours=1))
    assert [t.flapping for t in result.tickets.values()] == [False]
    assert not next(iter(result.tickets.values())).open
    later = [*events, ev("o-next-day", "cpu", EventKind.TRIGGER, 60 * 24)]
    assert len(plan(later, [], POLICY, T0 + timedelta(days=2)).tickets) == 2


def outage(devices: int, within_minutes: float) -> list[NoiseEvent]:
    step = within_minutes / devices
    return [ev(f"d{i}", f"dev{i}:offline", EventKind.TRIGGER, i * step, site="s1", device=f"dev{i}")
            for i in range(devices)]


def test_forty_devices_offline_make_one_parent_with_forty_children() -> None:
    result = plan(outage(40, 2), [], POLICY, T0 + timedelta(minutes=3))
    assert len(result.tickets) == 1
    parent = next(iter(result.tickets.values()))
    assert parent.title == "Riverside Dental: 40 devices offline"
    assert len(parent.children) == 40
    assert {e.disposition for e in result.ledger.values()} == {Disposition.CHILD}
    assert len(children_to_resolve(parent)) == 40


def test_ten_devices_are_no_storm_and_resolved_children_are_not_resolved_again() -> None:
    assert len(plan(outage(10, 2), [], POLICY, T0 + timedelta(minutes=3)).tickets) == 10
    events = [*outage(11, 2), ev("back", "dev3:offline", EventKind.RESOLVE, 3, site="s1", device="dev3")]
    parent = next(iter(plan(events, [], POLICY, T0 + timedelta(minutes=4)).tickets.values()))
    assert "dev3:offline" not in children_to_resolve(parent)
    assert len(children_to_resolve(parent)) == 10


def weekly(tz: str, start: time, end: time, days: frozenset[int]) -> Window:
    return Window("Patch night", WindowScope.SITE, "s1", tz, weekdays=days, start_time=start, end_time=end)


def test_weekly_window_keeps_wall_clock_across_dst() -> None:
    window = weekly("Europe/London", time(22), time(6), frozenset({5}))  # Saturday 22:00 → Sunday 06:00
    # 2026-03-28 is the Saturday before the UK clocks go forward (Sunday 01:00 UTC)
    start, end = occurrence(window, datetime(2026, 3, 28, 23, 30, tzinfo=UTC)) or (None, None)
    assert start == datetime(2026, 3, 28, 22, 0, tzinfo=UTC)
    assert end == datetime(2026, 3, 29, 5, 0, tzinfo=UTC)  # 06:00 BST: the window lasts 7 hours
    # a summer Saturday: 22:00 BST is 21:00 UTC
    assert occurrence(window, datetime(2026, 7, 4, 21, 0, tzinfo=UTC)) is not None
    assert occurrence(window, datetime(2026, 7, 4, 20, 59, tzinfo=UTC)) is None
    assert occurrence(window, datetime(2026, 7, 6, 1, 0, tzinfo=UTC)) is None  # Monday early is not in it


def test_one_off_window_and_scope_matching() -> None:
    window = Window("Move", WindowScope.CUSTOMER, "c1", starts=T0, ends=T0 + timedelta(hours=2))
    assert covering([window], Target(customer="c1"), T0 + timedelta(hours=1)) is not None
    assert covering([window], Target(customer="c2"), T0 + timedelta(hours=1)) is None
    assert covering([window], Target(customer="c1"), T0 + timedelta(hours=2)) is None


@pytest.mark.parametrize(("window", "message"), [
    (Window("x", WindowScope.SITE, "s1", "Mars/Olympus", starts=T0, ends=T0), "Unknown time zone"),
    (Window("x", WindowScope.SITE, "s1", starts=T0, ends=T0 - timedelta(hours=1)), "set the end after the start"),
    (Window("x", WindowScope.SITE, "", starts=T0, ends=T0 + timedelta(hours=1)), "needs the site"),
    (weekly("UTC", time(2), time(2), frozenset({1})), "set an end time after the start"),
    (Window("x", WindowScope.SITE, "s1"), "needs a start and an end"),
])
def test_invalid_windows_say_what_to_fix(window: Window, message: str) -> None:
    with pytest.raises(WindowError, match=message):
        validate(window)


def test_alert_in_window_opens_no_ticket_and_one_still_open_at_the_end_does() -> None:
    window = Window("Server move", WindowScope.SITE, "s1", starts=T0, ends=T0 + timedelta(hours=1))
    events = [ev("a1", "web:down", EventKind.TRIGGER, 5, site="s1", device="web"),
              ev("a2", "web:down", EventKind.RESOLVE, 10, site="s1", device="web"),
              ev("b1", "db:down", EventKind.TRIGGER, 20, site="s1", device="db")]
    during = plan(events, [window], POLICY, T0 + timedelta(minutes=59))
    assert during.tickets == {}
    assert all(e.suppress_reason is SuppressReason.MAINTENANCE for e in during.ledger.values())
    after = plan(events, [window], POLICY, T0 + timedelta(minutes=60))
    assert [(t.key, t.after_window, t.opened_at) for t in after.tickets.values()] == [
        ("db:down", "Server move", T0 + timedelta(hours=1))]
    assert suppression_counts(after) == {"maintenance": 3}


# ---- hypothesis: any interleaving of the same events gives the same tickets; no event is lost ----

@st.composite
def streams(draw: st.DrawFn) -> list[NoiseEvent]:
    """Events for a few keys on a few sites, each key alternating trigger/resolve (with repeats) in time."""
    events: list[NoiseEvent] = []
    for k in range(draw(st.integers(1, 14))):
        site = draw(st.sampled_from(["s1", "s2", ""]))
        condition = draw(st.sampled_from(["offline", "disk"]))
        minute = draw(st.integers(0, 30))
        for n in range(draw(st.integers(1, 8))):
            minute += draw(st.integers(0, 40))
            kind = draw(st.sampled_from([EventKind.TRIGGER, EventKind.RESOLVE]))
            events.append(ev(f"k{k}e{n}", f"dev{k}:{condition}", kind, minute, site=site, device=f"dev{k}",
                             condition=condition, seq=n))
    return events


@st.composite
def interleavings(draw: st.DrawFn) -> tuple[list[NoiseEvent], list[NoiseEvent]]:
    events = draw(streams())
    by_key: dict[str, list[NoiseEvent]] = {}
    for event in events:
        by_key.setdefault(event.key, []).append(event)
    queues = [list(v) for v in by_key.values()]
    mixed: list[NoiseEvent] = []
    while queues:  # keep each key's own order, interleave the keys arbitrarily
        i = draw(st.integers(0, len(queues) - 1))
        mixed.append(queues[i].pop(0))
        if not queues[i]:
            queues.pop(i)
    return events, mixed


WINDOWS = [Window("Patch", WindowScope.SITE, "s2", starts=T0 + timedelta(minutes=30),
                  ends=T0 + timedelta(minutes=90))]
SMALL = NoisePolicy(flap_count=2, flap_minutes=60, quiet_minutes=20, storm_count=3, storm_minutes=10)


@settings(max_examples=150, deadline=None)
@given(interleavings())
def test_any_interleaving_gives_the_same_tickets_and_loses_no_event(pair: tuple[list[NoiseEvent], ...]) -> None:
    original, mixed = pair
    now = T0 + timedelta(days=1)
    first = plan(original, WINDOWS, SMALL, now)
    second = plan(mixed, WINDOWS, SMALL, now)
    assert first.summary() == second.summary()
    assert first.ledger == second.ledger
    assert set(first.ledger) == {e.event_id for e in original}
    for event_id, entry in first.ledger.items():
        assert entry.reason, event_id
        if entry.disposition is Disposition.SUPPRESSED:
            assert entry.suppress_reason is not None
        else:
            assert entry.ticket_id in first.tickets
    # every alert that was ever triggered outside a window is on a ticket (its own or a storm's child)
    on_tickets = {t.key for t in first.tickets.values()} | {c for t in first.tickets.values() for c in t.children}
    for event in original:
        entry = first.ledger[event.event_id]
        if event.kind is EventKind.TRIGGER and entry.suppress_reason is None:
            assert event.key in on_tickets


def test_one_event_decisions_the_database_path_takes() -> None:
    """The per-event decisions noise_apply and storms call (plan uses the same ones)."""
    minutes = [T0 + timedelta(minutes=m) for m in (0, 10, 20)]
    third = count_flap_open(minutes[:2], False, minutes[2], POLICY)
    assert (len(third.opens), third.flapping, third.became) == (3, False, False)
    fourth = count_flap_open(third.opens, False, T0 + timedelta(minutes=30), POLICY)
    assert (len(fourth.opens), fourth.flapping, fourth.became) == (4, True, True)
    fifth = count_flap_open(fourth.opens, True, T0 + timedelta(minutes=40), POLICY)
    assert (fifth.flapping, fifth.became) == (True, False)
    late = count_flap_open(fourth.opens, False, T0 + timedelta(minutes=75), POLICY)
    assert late.opens == (T0 + timedelta(minutes=20), T0 + timedelta(minutes=30), T0 + timedelta(minutes=75))

    resolved = T0 + timedelta(minutes=5)
    assert back_within_flap_window([T0], resolved, T0 + timedelta(minutes=30), POLICY)
    assert not back_within_flap_window([T0], None, T0 + timedelta(minutes=30), POLICY)  # still open: not a flap
    assert not back_within_flap_window([T0], resolved, resolved + timedelta(minutes=60), POLICY)
    assert not back_within_flap_window([T0 - timedelta(hours=2)], resolved, T0 + timedelta(minutes=10), POLICY)

    assert not quiet_time_over(resolved, resolved + timedelta(minutes=29, seconds=59), POLICY)
    assert quiet_time_over(resolved, resolved + timedelta(minutes=30), POLICY)
    assert (storm_forms(10, POLICY), storm_forms(11, POLICY)) == (False, True)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 240), max_size=12), st.integers(1, 5), st.integers(1, 90))
def test_a_flap_count_keeps_only_the_window_and_flaps_past_the_threshold(offsets: list[int], count: int,
                                                                       span: int) -> None:
    policy = NoisePolicy(flap_count=count, flap_minutes=span)
    opens: tuple[datetime, ...] = ()
    flapping = False
    became = 0
    for offset in sorted(offsets):
        now = T0 + timedelta(minutes=offset)
        counted = count_flap_open(opens, flapping, now, policy)
        assert counted.opens[-1] == now
        assert all(now - timedelta(minutes=span) < at <= now for at in counted.opens)
        assert counted.flapping == (flapping or len(counted.opens) > count)
        became += counted.became
        opens, flapping = counted.opens, counted.flapping
    assert became == (1 if flapping else 0)  # the note "Flapping: …" is written once
