"""Pure noise control: maintenance windows, flap damping and storm grouping decide which tickets an event stream makes.

`plan(events, windows, policy, now)` is a function of the set of events (each key's own events keep their order
by time and `seq`), so any interleaving of the same events gives the same tickets, and every event ends in the
ledger as a ticket, a note, a child, a close or a suppression with its reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from rmmbridge.alerts.decide import EventKind
from rmmbridge.alerts.windows import Target, Window, covering


class Disposition(StrEnum):
    """Where one event ended."""

    TICKET = "ticket"
    NOTE = "note"
    CHILD = "child"
    CLOSE = "close"
    SUPPRESSED = "suppressed"


class SuppressReason(StrEnum):
    """Why an event opened no ticket (Prometheus label values)."""

    MAINTENANCE = "maintenance"
    FLAPPING = "flapping"
    NOT_OPEN = "not_open"


@dataclass(frozen=True, slots=True)
class NoisePolicy:
    """Thresholds: flapping is more than `flap_count` opens in `flap_minutes`; a storm more than `storm_count`
    devices with the same condition on one site within `storm_minutes`."""

    flap_count: int = 3
    flap_minutes: int = 60
    quiet_minutes: int = 30
    storm_count: int = 10
    storm_minutes: int = 5

    def problems(self) -> list[str]:
        """What to fix in these settings (empty when they work)."""
        out = []
        for name, value in (("flap count", self.flap_count), ("flap minutes", self.flap_minutes),
                            ("quiet minutes", self.quiet_minutes), ("storm count", self.storm_count),
                            ("storm minutes", self.storm_minutes)):
            if value < 1:
                out.append(f"The {name} must be a whole number of at least 1; got {value}.")
        return out


@dataclass(frozen=True, slots=True)
class NoiseEvent:
    """One alert report as the noise controls see it."""

    event_id: str
    key: str
    kind: EventKind
    at: datetime
    condition: str = ""
    device: str = ""
    target: Target = field(default_factory=Target)
    site_name: str = ""
    #: Order of this key's events that share a timestamp.
    seq: int = 0


@dataclass(slots=True)
class TicketPlan:
    """One ticket the events make: a single alert's ticket (`key`) or a storm parent (`children`)."""

    ticket_id: str
    title: str
    key: str = ""
    occurrences: int = 0
    flapping: bool = False
    open: bool = True
    children: list[str] = field(default_factory=list)
    resolved_children: list[str] = field(default_factory=list)
    opened_at: datetime | None = None
    #: Opened when a maintenance window ended with the alert still open.
    after_window: str = ""


@dataclass(frozen=True, slots=True)
class Entry:
    """Where one event ended and why."""

    disposition: Disposition
    ticket_id: str
    reason: str
    suppress_reason: SuppressReason | None = None


@dataclass(slots=True)
class Plan:
    """The tickets and the ledger (event id → entry)."""

    tickets: dict[str, TicketPlan] = field(default_factory=dict)
    ledger: dict[str, Entry] = field(default_factory=dict)

    def summary(self) -> list[tuple[str, str, int, bool, bool, tuple[str, ...], tuple[str, ...]]]:
        """A comparable view of the tickets."""
        return sorted((t.ticket_id, t.title, t.occurrences, t.flapping, t.open, tuple(sorted(t.children)),
                       tuple(sorted(t.resolved_children))) for t in self.tickets.values())


# One event given the stored state: the decisions the database path (noise_apply, storms) takes, and plan too.


@dataclass(frozen=True, slots=True)
class FlapCount:
    """A condition's opens after one more: those within the flap window, whether it now flaps, and whether this
    open made it flap."""

    opens: tuple[datetime, ...]
    flapping: bool
    became: bool


def count_flap_open(opens: Sequence[datetime], was_flapping: bool, now: datetime, policy: NoisePolicy) -> FlapCount:
    """Record an open at `now`: opens older than the flap window drop out; more than `flap_count` left flaps."""
    span = timedelta(minutes=policy.flap_minutes)
    kept = (*(at for at in opens if at > now - span), now)
    flapping = was_flapping or len(kept) > policy.flap_count
    return FlapCount(kept, flapping, flapping and not was_flapping)


def back_within_flap_window(opens: Sequence[datetime], resolved_at: datetime | None, now: datetime,
                            policy: NoisePolicy) -> bool:
    """A new open reopens and counts the condition's ticket: it resolved in the RMM, and it resolved and opened
    within the flap window. Another alert of the condition while its ticket is open is not a flap."""
    span = timedelta(minutes=policy.flap_minutes)
    if resolved_at is None or now - resolved_at >= span:
        return False
    return any(at > now - span for at in opens)


def quiet_time_over(resolved_at: datetime, now: datetime, policy: NoisePolicy) -> bool:
    """A flapping condition resolved at `resolved_at` has stayed resolved for the quiet time: its ticket closes."""
    return now - resolved_at >= timedelta(minutes=policy.quiet_minutes)


def storm_forms(devices: int, policy: NoisePolicy) -> bool:
    """This many devices of one site with the same condition within the storm window are a storm."""
    return devices > policy.storm_count


def _order(event: NoiseEvent) -> tuple[datetime, str, int, str]:
    return event.at, event.key, event.seq, event.event_id


def plan(events: Iterable[NoiseEvent], windows: Sequence[Window], policy: NoisePolicy, now: datetime) -> Plan:
    """Decide the tickets for a stream of events (any order) as of `now`."""
    result = Plan()
    ordered = sorted(events, key=_order)
    live = _apply_windows(ordered, windows, now, result)
    storms = _storms(live, policy)
    _walk(live, storms, policy, now, result)
    return result


@dataclass(frozen=True, slots=True)
class _Live:
    """An event that reaches ticketing (a real event, or a window end standing in for a still-open alert)."""

    event: NoiseEvent
    window_end_of: str = ""


def _apply_windows(ordered: list[NoiseEvent], windows: Sequence[Window], now: datetime, result: Plan) -> list[_Live]:
    """Record events inside a window as suppressed; an alert still open at the window's end re-enters then."""
    live: list[_Live] = []
    held: dict[str, tuple[NoiseEvent, Window, datetime]] = {}  # key → trigger held, its window and end
    for event in ordered:
        _release(held, event.at, live)
        found = covering(windows, event.target, event.at)
        if found is not None:
            window, end = found
            if event.kind is EventKind.TRIGGER:
                held[event.key] = (event, window, end)
                note = f"raised inside maintenance window {window.name!r} (until {end:%Y-%m-%d %H:%M} UTC)"
            else:
                held.pop(event.key, None)
                note = f"resolved inside maintenance window {window.name!r}"
            result.ledger[event.event_id] = Entry(Disposition.SUPPRESSED, "", note, SuppressReason.MAINTENANCE)
            continue
        if event.key in held:  # the window ended (or the alert moved out of it): the hold is over
            held.pop(event.key)
        live.append(_Live(event))
    _release(held, now, live, inclusive=True)
    live.sort(key=lambda item: _order(item.event))
    return live


def _release(held: dict[str, tuple[NoiseEvent, Window, datetime]], until: datetime, live: list[_Live],
             *, inclusive: bool = False) -> None:
    for key, (trigger, window, end) in list(held.items()):
        if end < until or (inclusive and end <= until):
            held.pop(key)
            stand_in = NoiseEvent(f"{trigger.event_id}@window-end", key, EventKind.TRIGGER, end, trigger.condition,
                                  trigger.device, trigger.target, trigger.site_name, -1)
            live.append(_Live(stand_in, window_end_of=window.name))


def _storms(live: list[_Live], policy: NoisePolicy) -> dict[str, tuple[str, str]]:
    """Trigger event id → (storm ticket id, title) for triggers that are part of a storm."""
    by_group: dict[tuple[str, str], list[NoiseEvent]] = {}
    for item in live:
        event = item.event
        if event.kind is EventKind.TRIGGER and event.target.site and event.condition:
            by_group.setdefault((event.target.site, event.condition), []).append(event)
    span = timedelta(minutes=policy.storm_minutes)
    members: dict[str, tuple[str, str]] = {}
    for (site, condition), triggers in by_group.items():
        start = 0
        while start < len(triggers):
            first = triggers[start].at
            stop = start
            while stop < len(triggers) and triggers[stop].at < first + span:
                stop += 1
            devices = {t.device or t.key for t in triggers[start:stop]}
            if storm_forms(len(devices), policy):
                storm_id = f"storm:{site}:{condition}:{first.isoformat()}"
                name = triggers[start].site_name or f"Site {site}"
                title = f"{name}: {len(devices)} devices {condition}"
                for trigger in triggers[start:stop]:
                    members[trigger.event_id] = (storm_id, title)
                start = stop
            else:
                start += 1
    return members


@dataclass(slots=True)
class _Track:
    """Per-key state while walking the stream."""

    ticket_id: str = ""
    open: bool = False
    parent: str = ""
    opens: list[datetime] = field(default_factory=list)
    resolved_at: datetime | None = None


def _walk(live: list[_Live], storms: dict[str, tuple[str, str]], policy: NoisePolicy, now: datetime,
          result: Plan) -> None:
    tracks: dict[str, _Track] = {}
    quiet = timedelta(minutes=policy.quiet_minutes)
    counter = 0
    for item in live:
        event = item.event
        track = tracks.setdefault(event.key, _Track())
        _settle(track, result, event.at, quiet)
        if event.kind is EventKind.RESOLVE:
            _resolve(event, track, result)
            continue
        storm = storms.get(event.event_id)
        if storm is not None and not track.open:
            storm_id, title = storm
            parent = result.tickets.setdefault(storm_id, TicketPlan(storm_id, title, opened_at=event.at))
            parent.occurrences += 1
            if event.key not in parent.children:
                parent.children.append(event.key)
            if event.key in parent.resolved_children:
                parent.resolved_children.remove(event.key)
            track.parent, track.open, track.ticket_id = storm_id, True, storm_id
            track.opens.append(event.at)
            _record(result, item, Entry(Disposition.CHILD, storm_id, f"part of the storm {title!r}"))
            continue
        back = back_within_flap_window(track.opens, track.resolved_at, event.at, policy)
        counted = count_flap_open(track.opens, False, event.at, policy)
        track.opens = list(counted.opens)
        ticket = result.tickets.get(track.ticket_id) if track.ticket_id else None
        if track.open and ticket is not None:
            ticket.occurrences += 1
            _record(result, item, Entry(Disposition.NOTE, ticket.ticket_id, "the condition happened again; counted"))
            continue
        if back and ticket is not None and not track.parent:
            ticket.occurrences += 1
            ticket.open, track.open = True, True
            if counted.flapping:
                ticket.flapping = True
            reason = (f"flapping: {len(track.opens)} opens within {policy.flap_minutes} min, counted on one ticket"
                      if ticket.flapping else "back within the flap window; reopened and counted on the same ticket")
            _record(result, item, Entry(Disposition.NOTE, ticket.ticket_id, reason))
            continue
        counter += 1
        ticket_id = f"ticket:{event.key}:{counter}"
        result.tickets[ticket_id] = TicketPlan(ticket_id, event.condition or event.key, key=event.key,
                                               occurrences=1, opened_at=event.at, after_window=item.window_end_of)
        track.ticket_id, track.open, track.parent, track.resolved_at = ticket_id, True, "", None
        reason = (f"still open when maintenance window {item.window_end_of!r} ended" if item.window_end_of
                  else "new alert")
        _record(result, item, Entry(Disposition.TICKET, ticket_id, reason))
    for track in tracks.values():
        _settle(track, result, now, quiet, inclusive=True)


def _record(result: Plan, item: _Live, entry: Entry) -> None:
    if not item.window_end_of:  # a window end stands in for an event already recorded as suppressed
        result.ledger[item.event.event_id] = entry


def _resolve(event: NoiseEvent, track: _Track, result: Plan) -> None:
    ticket = result.tickets.get(track.ticket_id) if track.ticket_id else None
    if not track.open or ticket is None:
        result.ledger[event.event_id] = Entry(Disposition.SUPPRESSED, track.ticket_id,
                                              "resolve for an alert with no open ticket", SuppressReason.NOT_OPEN)
        return
    track.open = False
    track.resolved_at = event.at
    if track.parent:
        if event.key not in ticket.resolved_children:
            ticket.resolved_children.append(event.key)
        result.ledger[event.event_id] = Entry(Disposition.CLOSE, ticket.ticket_id, "child resolved in the RMM")
        return
    if ticket.flapping:
        result.ledger[event.event_id] = Entry(
            Disposition.SUPPRESSED, ticket.ticket_id, "flapping: the ticket closes after the quiet time",
            SuppressReason.FLAPPING)
        return
    ticket.open = False
    result.ledger[event.event_id] = Entry(Disposition.CLOSE, ticket.ticket_id, "resolved in the RMM")


def _settle(track: _Track, result: Plan, at: datetime, quiet: timedelta, *, inclusive: bool = False) -> None:
    """Close a flapping ticket whose condition has stayed resolved for the quiet time."""
    ticket = result.tickets.get(track.ticket_id) if track.ticket_id else None
    if ticket is None or track.open or not ticket.flapping or not ticket.open or track.resolved_at is None:
        return
    waited = at - track.resolved_at
    if waited > quiet or (inclusive and waited >= quiet):
        ticket.open = False


def children_to_resolve(parent: TicketPlan) -> list[str]:
    """Closing a storm parent resolves these children's alerts in the RMM (those not resolved there already)."""
    return [key for key in parent.children if key not in parent.resolved_children]


def suppression_counts(result: Plan) -> dict[str, int]:
    """Suppressed events by reason (for metrics)."""
    counts: dict[str, int] = {}
    for entry in result.ledger.values():
        if entry.suppress_reason is not None:
            counts[entry.suppress_reason.value] = counts.get(entry.suppress_reason.value, 0) + 1
    return counts
