"""Storm grouping in the database: many devices of one site with the same condition share one parent ticket."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from rmmbridge.alerts.facts.base import AlertFacts
from rmmbridge.alerts.lookup import Target
from rmmbridge.alerts.noise import NoisePolicy, storm_forms
from rmmbridge.alerts.noise_models import StormGroup, StormMember
from rmmbridge.servicedesk.actions import Actor
from rmmbridge.tickets.actions import do_add_note, do_close_ticket, do_open_ticket, do_set_summary
from rmmbridge.tickets.models import Ticket, TicketType


def condition_label(condition: str) -> str:
    """'online_offline_status' → 'offline'; other conditions as the RMM names them."""
    text = " ".join(condition.replace("_", " ").split())
    return "offline" if "offline" in text.lower() else text


def storm_title(target: Target, devices: int, condition: str) -> str:
    """'Riverside Dental: 37 devices offline' (the site's name too when it is not the customer's main site)."""
    place = target.customer.name
    if target.site is not None and not target.site.is_main:
        place = f"{place} / {target.site.name}"
    return f"{place}: {devices} devices {condition_label(condition)}"[:255]


def active_parent(target: Target, facts: AlertFacts) -> Ticket | None:
    """The open parent ticket of a storm of this condition on the alert's site (a new child opens no ticket)."""
    condition = (facts.condition or facts.message)[:255]
    if target.site is None or not condition:
        return None
    storm = StormGroup.objects.filter(site=target.site, condition=condition, ticket__closed_at__isnull=True,
                                      ticket__isnull=False).select_related("ticket").first()
    return storm.ticket if storm is not None else None


def group(facts: AlertFacts, target: Target, state: Any, ticket: Ticket, now: datetime, policy: NoisePolicy,
          actor: Actor, ticket_type: TicketType, source: str, *, assigned_to: Any = None) -> Ticket:
    """Record this alert's open; when its site has a storm of the condition, return the parent ticket instead.

    Alerts opened before the storm was seen are moved under the parent (their own tickets close with a note and
    send no resolve, since the alert is still open); `ticket` is the one just opened for this alert.
    """
    condition = facts.condition or facts.message
    if target.site is None or not condition:
        return ticket
    device = facts.device_external_id or facts.hostname or getattr(state, "key", "")
    # One UPDATE, and an INSERT only for an alert seen for the first time (update_or_create would add a locking
    # read and two savepoints; a concurrent first insert fails on the one-to-one key and is retried by the caller).
    values = {"site": target.site, "condition": condition[:255], "device": device[:255], "opened_at": now,
              "own_ticket": ticket, "storm": None}
    if StormMember.objects.filter(state=state).update(**values):
        member = StormMember.objects.get(state=state)
    else:
        member = StormMember.objects.create(state=state, **values)
    since = now - timedelta(minutes=policy.storm_minutes)
    storm = (StormGroup.objects.select_for_update(of=("self",)).filter(site=target.site, condition=condition[:255],
                                                            ticket__closed_at__isnull=True)
             .select_related("ticket").first())
    if storm is None:
        recent = StormMember.objects.filter(site=target.site, condition=condition[:255], opened_at__gte=since,
                                            storm__isnull=True)
        if not storm_forms(recent.values("device").distinct().count(), policy):
            return ticket
        parent = do_open_ticket(actor, summary=storm_title(target, 0, condition), details=(
            f"More than {policy.storm_count} devices of this site reported '{condition}' within "
            f"{policy.storm_minutes} minutes. Their alerts are children of this ticket; closing it resolves "
            "them in the RMM."), ticket_type=ticket_type, customer=target.customer, site=target.site,
            source=source, alert_key=f"storm:{target.site.pk}:{condition}"[:255], assigned_to=assigned_to)
        storm = StormGroup.objects.create(integration=facts.integration, site=target.site,
                                          condition=condition[:255], started_at=now, ticket=parent)
        members = list(recent.select_related("state", "own_ticket"))
    else:
        members = [member]
    assert storm.ticket is not None
    parent = storm.ticket
    for child in members:
        _attach(child, storm, parent, actor)
    count = StormMember.objects.filter(storm=storm).values("device").distinct().count()
    do_set_summary(actor, parent, storm_title(target, count, condition))
    return parent


def _attach(member: StormMember, storm: StormGroup, parent: Ticket, actor: Actor) -> None:
    own = member.own_ticket
    state = member.state
    if state.ticket_id != parent.pk:  # a new child was already stored on its storm's parent
        state.ticket = parent
        state.save(update_fields=["ticket"])
    member.storm = storm
    member.save(update_fields=["storm"])
    do_add_note(actor, parent, f"Child alert: {state.hostname or member.device} — {state.message or member.condition}",
                count_occurrence=True)
    if own is not None and own.pk != parent.pk and own.closed_at is None:
        do_close_ticket(actor, own, note=f"Grouped into the storm ticket #{parent.pk}.")
