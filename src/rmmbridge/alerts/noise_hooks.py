"""Noise control's hooks in processing: a maintenance window holds a new alert, flap damping reuses its ticket."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from rmmbridge.alerts import noise_apply, ticket_text
from rmmbridge.alerts.cache import noise_policy
from rmmbridge.alerts.decide import Action, Decision
from rmmbridge.alerts.facts.base import AlertFacts
from rmmbridge.alerts.lookup import Target
from rmmbridge.servicedesk.actions import Actor
from rmmbridge.tickets.actions import do_add_note, do_reopen_ticket
from rmmbridge.tickets.models import Ticket, TicketType


def maintenance_hold(facts: AlertFacts, target: Target | None, now: datetime, *, ticket_type: TicketType,
                     priority: int | None, source: str,
                     assign_to_id: int | None = None) -> tuple[noise_apply.Hold, dict[str, Any]] | None:
    """The maintenance window holding this new alert, and the ticket to open when it ends (None: not held)."""
    if target is None:
        return None
    asset = target.asset
    site_id = target.site.pk if target.site is not None else None
    found = noise_apply.window_for(target.customer.pk, site_id, asset.pk if asset is not None else None,
                                   facts.occurred_at or now)
    if found is None:
        return None
    return found, {
        "summary": ticket_text.summary(facts), "details": ticket_text.details(facts, target),
        "ticket_type": ticket_type.pk, "customer": target.customer.pk, "site": site_id,
        "end_user": target.end_user.pk if target.end_user is not None else None,
        "asset": asset.pk if asset is not None else None, "priority": priority, "source": source,
        "assign_to": assign_to_id,
    }


def open_or_count_flap(facts: AlertFacts, scope: str, now: datetime, actor: Actor, decision: Decision,
                       open_new: Callable[[], Ticket]) -> tuple[Ticket, Decision]:
    """Open the alert's ticket, or (flap damping) reopen and count the one its condition opened lately."""
    policy = noise_policy(facts.integration)
    key = noise_apply.flap_key(scope, facts.device_external_id or facts.hostname, facts.condition or facts.message)
    track = noise_apply.flap_track(key)
    reused = noise_apply.reuse_for_flap(track, now, policy)
    if reused is None:
        ticket = open_new()
    else:
        ticket = reused
        if ticket.closed_at is not None:
            ticket = do_reopen_ticket(actor, ticket, note="The condition is back within the flap window.")
        do_add_note(actor, ticket, ticket_text.occurrence_note(facts), count_occurrence=True)
        decision = Decision(Action.APPEND_NOTE, "the condition is back within the flap window; counted on its ticket",
                            count_occurrence=True)
    if not ticket.alert_key.startswith("storm:"):  # a storm's children are counted by the storm
        noise_apply.count_open(key, ticket, now, policy, track)
    return ticket, decision


def close_or_hold(facts: AlertFacts, state: Any, ticket: Ticket, now: datetime, actor: Actor) -> Decision | None:
    """None: close the ticket as usual. Otherwise a storm parent or flap damping keeps it open, and says why."""
    if ticket.alert_key.startswith("storm:"):  # one child recovered; the parent stays until a person closes it
        if state.resolved_at is not None:
            return Decision(Action.IGNORE, "the child alert is already resolved")
        do_add_note(actor, ticket, f"Child resolved in the RMM: {state.hostname or state.key}")
        return Decision(Action.APPEND_NOTE, "a child of the storm resolved; the parent stays open", mark_resolved=True)
    if state.resolved_at is not None and noise_apply.shared_by_flap(ticket):
        # an earlier alert of a condition whose ticket was reopened by a new one
        return Decision(Action.IGNORE, "the alert is already resolved; its condition's ticket is open again")
    if noise_apply.hold_close(ticket, now) is None:
        noise_apply.note_resolved(ticket, now)
        return None
    do_add_note(actor, ticket, ticket_text.resolve_note(facts, closing=False))
    return Decision(Action.APPEND_NOTE, "resolved while flapping; the ticket closes after the quiet time",
                    mark_resolved=True)
