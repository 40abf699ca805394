"""Apply noise control in the database: hold alerts raised in a maintenance window, open them when it ends."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction

from rmmbridge.alerts.cache import enabled_windows
from rmmbridge.alerts.noise import (
    NoisePolicy,
    SuppressReason,
    back_within_flap_window,
    count_flap_open,
    quiet_time_over,
)
from rmmbridge.alerts.noise_models import AlertNoise, FlapTrack, MaintenanceWindow, Suppression
from rmmbridge.alerts.windows import Target, covering
from rmmbridge.common.clock import utcnow
from rmmbridge.common.prepared import PreparedQuery
from rmmbridge.servicedesk.actions import Actor
from rmmbridge.servicedesk.models import Asset, AuditSource, Customer, EndUser, Site
from rmmbridge.tickets.actions import active_assignee, do_add_note, do_close_ticket, do_mark_flapping, do_open_ticket
from rmmbridge.tickets.models import Ticket, TicketType

logger = logging.getLogger(__name__)

#: Acts for the RMM (a close from it sends no resolve back): "RMM alert via noise control".
NOISE_ACTOR = Actor(AuditSource.ALERT, None, "RMM alert via noise control")


@dataclass(frozen=True)
class Hold:
    """An alert held by a maintenance window: why, and until when."""

    window: MaintenanceWindow
    until: datetime
    reason: str


def window_for(customer_id: int | None, site_id: int | None, asset_id: int | None, at: datetime) -> Hold | None:
    """The enabled maintenance window covering this customer / site / asset at `at` (latest end), or None."""
    rows = {str(w.pk): w for w in enabled_windows()}
    if not rows:
        return None
    windows = [w.as_window() for w in rows.values()]
    by_name = {id(window): row for window, row in zip(windows, rows.values(), strict=True)}
    target = Target(customer=str(customer_id or ""), site=str(site_id or ""), asset=str(asset_id or ""))
    found = covering(windows, target, at)
    if found is None:
        return None
    window, end = found
    row = by_name[id(window)]
    return Hold(row, end, f"Raised inside maintenance window '{row.name}' (until {end:%Y-%m-%d %H:%M} UTC); "
                          "no ticket. It opens one then if the alert is still open.")


def hold(state: Any, event_id: int | None, found: Hold, ticket: dict[str, Any], now: datetime) -> None:
    """Record the suppression and remember the ticket to open when the window ends (state is saved)."""
    noise, _ = AlertNoise.objects.get_or_create(state=state)
    noise.held_by = found.window
    noise.held_until = found.until
    noise.held_ticket = ticket
    noise.save()
    Suppression.objects.create(event_id=event_id, alert_key=state.key[:255], reason=SuppressReason.MAINTENANCE.value,
                               detail=found.reason, window=found.window, at=now)


def release_held(now: datetime | None = None) -> int:
    """Open the tickets of alerts still open when their maintenance window ended; returns how many opened."""
    now = now or utcnow()
    opened = 0
    due = AlertNoise.objects.filter(held_until__lte=now).select_related("state", "state__ticket", "held_by")
    for noise in list(due):
        try:
            with transaction.atomic():
                opened += _release(noise, now)
        except Exception:
            logger.exception("Opening the held alert %s failed; trying again next tick", noise.state.key)
    return opened


def _release(noise: AlertNoise, now: datetime) -> int:
    state = noise.state
    data = noise.held_ticket or {}
    name = noise.held_by.name if noise.held_by is not None else "a maintenance window"
    still_open = state.resolved_at is None and (state.ticket is None or state.ticket.closed_at is not None)
    again = window_for(data.get("customer"), data.get("site"), data.get("asset"), now)
    if still_open and again is not None:  # a following window covers it: wait for that one
        noise.held_by, noise.held_until = again.window, again.until
        noise.save(update_fields=["held_by", "held_until"])
        return 0
    noise.held_by, noise.held_until, noise.held_ticket = None, None, {}
    noise.save(update_fields=["held_by", "held_until", "held_ticket"])
    if not still_open or not data.get("customer"):
        return 0
    ticket = do_open_ticket(
        NOISE_ACTOR,
        summary=data.get("summary") or state.key,
        details=f"{data.get('details', '')}\n\nStill open when maintenance window '{name}' ended "
                f"({now:%Y-%m-%d %H:%M} UTC).".strip(),
        ticket_type=TicketType.objects.get(pk=data["ticket_type"]),
        customer=Customer.objects.get(pk=data["customer"]),
        site=Site.objects.filter(pk=data.get("site") or 0).first(),
        end_user=EndUser.objects.filter(pk=data.get("end_user") or 0).first(),
        assets=list(Asset.objects.filter(pk=data.get("asset") or 0)) if data.get("asset") else (),
        priority=data.get("priority"),
        source=data.get("source") or "poll",
        alert_key=state.key,
        assigned_to=active_assignee(data.get("assign_to")),
    )
    state.ticket = ticket
    state.occurrences = max(state.occurrences, 1)
    state.closed_here = False
    state.save(update_fields=["ticket", "occurrences", "closed_here"])
    return 1


def flap_key(scope: str, device: str, condition: str) -> str:
    """The condition's identity across RMM alert ids ('' when the device or condition is unknown)."""
    if not device or not condition:
        return ""
    return f"{scope}:{device}:{' '.join(condition.lower().split())}"[:255]


_FLAP_TRACK = PreparedQuery(
    lambda key: FlapTrack.objects.select_for_update(of=("self",)).select_related("ticket").filter(flap_key=key)
    .order_by("pk")[:1],
    str)


def flap_track(key: str) -> FlapTrack | None:
    """The condition's flap track with its ticket, the row locked (None: the condition has none yet)."""
    if not key:
        return None
    return _FLAP_TRACK.first(key)


def reuse_for_flap(track: FlapTrack | None, now: datetime, policy: NoisePolicy) -> Ticket | None:
    """The ticket this condition opened within the flap window (to reopen and count), or None for a new ticket."""
    if track is None or track.ticket is None:
        return None
    if not back_within_flap_window(track.open_times(), track.resolved_at, now, policy):
        return None
    return track.ticket


def note_resolved(ticket: Ticket, now: datetime) -> None:
    """The RMM resolved the condition and its ticket closes: a new open within the flap window reopens it."""
    FlapTrack.objects.filter(ticket=ticket).update(resolved_at=now)


def count_open(key: str, ticket: Ticket, now: datetime, policy: NoisePolicy,
               track: FlapTrack | None) -> FlapTrack | None:
    """Record an open of the condition on its ticket (`track`: its flap track as `flap_track` read it in this
    transaction, None for a new one); marks the track flapping when it crossed the threshold."""
    if not key:
        return None
    if track is None:  # a concurrent first insert fails on the unique key and is retried by the caller
        track = FlapTrack(flap_key=key, ticket=ticket)
    counted = count_flap_open(track.open_times(), track.flapping, now, policy)
    track.opens = [t.isoformat() for t in counted.opens]
    track.ticket = ticket
    track.resolved_at = None
    track.flapping = counted.flapping
    track.save()
    if counted.flapping:
        do_mark_flapping(NOISE_ACTOR, ticket)
    if counted.became:
        do_add_note(NOISE_ACTOR, ticket,
                    f"Flapping: opened {len(counted.opens)} times within {policy.flap_minutes} minutes. This ticket "
                    "counts every further open and closes once the condition stayed resolved for "
                    f"{policy.quiet_minutes} minutes.")
    return track


def shared_by_flap(ticket: Ticket) -> bool:
    """The ticket is a condition's flap-damped ticket (reopened for a new alert of the same condition)."""
    return FlapTrack.objects.filter(ticket=ticket).exists()


def hold_close(ticket: Ticket, now: datetime) -> FlapTrack | None:
    """A flapping condition resolved: keep its ticket open (returns the track) until the quiet time passed."""
    track = FlapTrack.objects.filter(ticket=ticket, flapping=True).first()
    if track is None:
        return None
    track.resolved_at = now
    track.save(update_fields=["resolved_at"])
    Suppression.objects.create(alert_key=track.flap_key, reason=SuppressReason.FLAPPING.value, at=now,
                               detail="Resolved while flapping; the ticket closes after the quiet time.")
    return track


def settle_flapping(now: datetime | None = None) -> int:
    """Close the tickets of flapping conditions that stayed resolved for the quiet time; returns how many."""
    from rmmbridge.alerts.noise_models import policy_for

    now = now or utcnow()
    closed = 0
    for track in FlapTrack.objects.filter(flapping=True, resolved_at__isnull=False).select_related("ticket"):
        if track.ticket is not None and track.ticket.closed_at is not None:
            continue
        ticket = track.ticket
        integration_id = track.flap_key.split(":", 1)[0]
        from rmmbridge.integrations.models import Integration

        integration = Integration.objects.filter(pk=int(integration_id)).first() if integration_id.isdigit() else None
        policy = policy_for(integration)
        assert track.resolved_at is not None
        if not quiet_time_over(track.resolved_at, now, policy):
            continue
        with transaction.atomic():
            track.flapping, track.opens, track.resolved_at = False, [], None
            track.save(update_fields=["flapping", "opens", "resolved_at"])
            if ticket is not None and ticket.closed_at is None:
                do_close_ticket(NOISE_ACTOR, ticket,
                                note=f"The flapping condition stayed resolved for {policy.quiet_minutes} minutes.")
                closed += 1
    return closed
