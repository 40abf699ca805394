"""Storm grouping in the database: many devices of one site with the same condition share one parent ticket."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection

from rmmbridge.alerts.facts.base import AlertFacts
from rmmbridge.alerts.lookup import Target
from rmmbridge.alerts.noise import NoisePolicy, storm_forms
from rmmbridge.alerts.noise_models import StormGroup, StormMember
from rmmbridge.common.kept_cursor import fetch_one
from rmmbridge.common.prepared import PreparedQuery, save_fields, save_row
from rmmbridge.servicedesk.actions import Actor
from rmmbridge.tickets.actions import NOTE_MAX, do_add_note, do_close_ticket, do_open_ticket, do_set_summary
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


_OPEN_STORM = PreparedQuery(
    lambda site_id, condition: StormGroup.objects.select_for_update(of=("self",))
    .filter(site_id=site_id, condition=condition, ticket__isnull=False, ticket__closed_at__isnull=True)
    .select_related("ticket").order_by("pk")[:1],
    int, str)


def active_storm(target: Target, facts: AlertFacts) -> StormGroup | None:
    """The open storm of this condition on the alert's site (its row locked) with its parent ticket, or None."""
    condition = (facts.condition or facts.message)[:255]
    if target.site is None or not condition:
        return None
    return _OPEN_STORM.first(target.site.pk, condition)


def group(facts: AlertFacts, target: Target, state: Any, ticket: Ticket, now: datetime, policy: NoisePolicy,
          actor: Actor, ticket_type: TicketType, source: str, *, storm: StormGroup | None, fresh: bool,
          assigned_to: Any = None) -> Ticket:
    """Record this alert's open; when its site has a storm of the condition, return the parent ticket instead.

    Alerts opened before the storm was seen are moved under the parent (their own tickets close with a note and
    send no resolve, since the alert is still open); `ticket` is the one just opened for this alert. `storm` is
    the open storm as `active_storm` read it in this transaction; `fresh` says the alert's state was created by
    this alert (it has no membership row yet).
    """
    condition = facts.condition or facts.message
    if target.site is None or not condition:
        return ticket
    device = facts.device_external_id or facts.hostname or getattr(state, "key", "")
    # One INSERT for a new alert, else one UPDATE (an INSERT when the alert had no membership yet); a concurrent
    # first insert fails on the one-to-one key and is retried by the caller.
    values = {"site": target.site, "condition": condition[:255], "device": device[:255], "opened_at": now,
              "own_ticket": ticket, "storm": storm}
    if fresh or not StormMember.objects.filter(state=state).update(**values):
        save_row(StormMember(state=state, **values))
    if storm is None and connection.vendor != "sqlite":
        # other workers may have formed the storm since it was read (SQLite writes one transaction at a time)
        storm = active_storm(target, facts)
        if storm is not None:
            StormMember.objects.filter(state=state).update(storm=storm)
    if storm is None:
        return _maybe_form(facts, target, ticket, now, policy, actor, ticket_type, source, condition, assigned_to)
    parent = storm.ticket
    assert parent is not None
    if state.ticket_id != parent.pk:  # a new child was already stored on its storm's parent
        state.ticket = parent
        save_fields(state, ["ticket"])
    _note_child(storm, parent, target, condition, int(state.pk), f"{state.hostname or device} — "
                f"{state.message or condition}", actor)
    if ticket.pk != parent.pk and ticket.closed_at is None:
        do_close_ticket(actor, ticket, note=f"Grouped into the storm ticket #{parent.pk}.")
    return parent


def _maybe_form(facts: AlertFacts, target: Target, ticket: Ticket, now: datetime, policy: NoisePolicy, actor: Actor,
                ticket_type: TicketType, source: str, condition: str, assigned_to: Any) -> Ticket:
    """Open the storm's parent when enough devices of the site reported the condition lately; else `ticket`."""
    assert target.site is not None
    since = now - timedelta(minutes=policy.storm_minutes)
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
    lines = [_attach(child, storm, parent, actor) for child in recent.select_related("state", "own_ticket")]
    do_add_note(actor, parent, children_note(lines), count_occurrence=True, times=len(lines))
    _retitle(storm, parent, target, condition, actor)
    return parent


def _retitle(storm: StormGroup, parent: Ticket, target: Target, condition: str, actor: Actor) -> None:
    row = fetch_one(connection, _SQL_DEVICES, [storm.pk])
    count = int(row[0]) if row else 0
    do_set_summary(actor, parent, storm_title(target, count, condition))


_SQL_DEVICES = f"SELECT COUNT(DISTINCT device) FROM {StormMember._meta.db_table} WHERE storm_id = %s"


def _attach(member: StormMember, storm: StormGroup, parent: Ticket, actor: Actor) -> str:
    """Move an alert opened before its storm was seen under the storm's parent; its line for the parent's note."""
    own = member.own_ticket
    state = member.state
    if state.ticket_id != parent.pk:
        state.ticket = parent
        state.save(update_fields=["ticket"])
    member.storm = storm
    member.save(update_fields=["storm"])
    if own is not None and own.pk != parent.pk and own.closed_at is None:
        do_close_ticket(actor, own, note=f"Grouped into the storm ticket #{parent.pk}.")
    return f"{state.hostname or member.device} — {state.message or member.condition}"


def children_note(lines: list[str]) -> str:
    """The parent's note for children that joined together: 'Child alert: …', or 'N child alerts:' and a line each."""
    text = (f"Child alert: {lines[0]}" if len(lines) == 1 else
            f"{len(lines)} child alerts:\n" + "\n".join(f"- {line}" for line in lines))
    return text[:NOTE_MAX]


# Children of a storm, noted on the parent once per batch -----------------------------------------------


@dataclass
class _Children:
    """The new children of one storm in a batch: their alert states and lines, and how to retitle the parent."""

    storm: StormGroup
    parent: Ticket
    target: Target
    condition: str
    actor: Actor
    lines: list[tuple[int, str]] = field(default_factory=list)


_batch: ContextVar[dict[int, _Children] | None] = ContextVar("storm_children", default=None)


def _note_child(storm: StormGroup, parent: Ticket, target: Target, condition: str, state_id: int, line: str,
                actor: Actor) -> None:
    """Count a new child on its parent: at once, or at the end of the `children_batched` block around it."""
    batch = _batch.get()
    if batch is None:
        do_add_note(actor, parent, children_note([line]), count_occurrence=True)
        _retitle(storm, parent, target, condition, actor)
        return
    entry = batch.setdefault(int(storm.pk), _Children(storm, parent, target, condition, actor))
    entry.lines.append((state_id, line))


@contextmanager
def children_batched() -> Iterator[None]:
    """Inside this block (and its transaction), a storm's new children are noted on the parent together when the
    block ends: one note listing them, the occurrences counted by as many, one new title — instead of a note, a
    count and a title per child. Children whose savepoint rolled back meanwhile are left out."""
    batch: dict[int, _Children] = {}
    token = _batch.set(batch)
    try:
        yield
    finally:
        _batch.reset(token)
    for entry in batch.values():
        kept = set(StormMember.objects.filter(storm=entry.storm, state_id__in=[s for s, _ in entry.lines])
                   .values_list("state_id", flat=True))
        lines = [line for state_id, line in entry.lines if state_id in kept]
        if not lines:
            continue
        do_add_note(entry.actor, entry.parent, children_note(lines), count_occurrence=True, times=len(lines))
        _retitle(entry.storm, entry.parent, entry.target, entry.condition, entry.actor)
