"""The one write layer for tickets: every function validates, records history and an audit entry."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F

from rmmbridge.common.clock import utcnow
from rmmbridge.common.prepared import PreparedQuery
from rmmbridge.servicedesk.actions import Actor, record_audit
from rmmbridge.servicedesk.models import Asset, Customer, EndUser, Site
from rmmbridge.tickets.choices import TRANSITIONS, ActionKind, TicketPriority, TicketSource, TicketStatus, allowed_next
from rmmbridge.tickets.models import Ticket, TicketAction, TicketType
from rmmbridge.tickets.signals import ticket_closed

SUMMARY_MAX = 255
NOTE_MAX = 100_000


def _user(actor: Actor) -> Any:
    user = actor.user
    return user if user is not None and getattr(user, "is_authenticated", False) else None


def _record(
    actor: Actor, ticket: Ticket, kind: str, text: str = "", *, old_status: str = "", new_status: str = ""
) -> TicketAction:
    return TicketAction.objects.create(
        ticket=ticket,
        kind=kind,
        text=text,
        old_status=old_status,
        new_status=new_status,
        actor=_user(actor),
        actor_label=actor.label[:200],
        source=actor.source,
    )


def _clean_priority(priority: object) -> int:
    try:
        value = int(priority)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        value = 0
    if value not in TicketPriority.values:
        raise ValidationError(
            f"Priority must be 1 (critical), 2 (high), 3 (medium) or 4 (low); got '{priority}'."
        )
    return value


def _clean_note(note: str, *, required: bool) -> str:
    text = (note or "").strip()
    if required and not text:
        raise ValidationError("The note is empty; write what was done or found.")
    if len(text) > NOTE_MAX:
        raise ValidationError(f"The note is longer than {NOTE_MAX:,} characters; shorten it.")
    return text


def _status_label(status: str) -> str:
    try:
        return str(TicketStatus(status).label)
    except ValueError:
        return status


# Ticket types ------------------------------------------------------------------------------------------


def do_create_ticket_type(actor: Actor, name: str, *, default_priority: int = TicketPriority.MEDIUM) -> TicketType:
    """Create a ticket type; names are unique regardless of case."""
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise ValidationError("Ticket type name is required.")
    if len(cleaned) > 200:
        raise ValidationError("Ticket type name is longer than 200 characters.")
    if TicketType.objects.filter(name__iexact=cleaned).exists():
        raise ValidationError(f"A ticket type named '{cleaned}' already exists.")
    priority = _clean_priority(default_priority)
    ticket_type = TicketType.objects.create(name=cleaned, default_priority=priority)
    record_audit(actor, ticket_type, "create", {"name": [None, cleaned], "default_priority": [None, priority]})
    return ticket_type


def do_update_ticket_type(
    actor: Actor, ticket_type: TicketType, *, default_priority: int | None = None, active: bool | None = None
) -> dict[str, list[object]]:
    """Change a ticket type's default priority or active flag; returns the {field: [old, new]} diff."""
    diff: dict[str, list[object]] = {}
    if default_priority is not None:
        priority = _clean_priority(default_priority)
        if priority != ticket_type.default_priority:
            diff["default_priority"] = [ticket_type.default_priority, priority]
            ticket_type.default_priority = priority
    if active is not None and active != ticket_type.active:
        diff["active"] = [ticket_type.active, active]
        ticket_type.active = active
    if diff:
        ticket_type.save()
        record_audit(actor, ticket_type, "update", diff)
    return diff


# Tickets -----------------------------------------------------------------------------------------------


@transaction.atomic
def do_open_ticket(
    actor: Actor,
    *,
    summary: str,
    details: str = "",
    ticket_type: TicketType,
    customer: Customer,
    site: Site | None = None,
    end_user: EndUser | None = None,
    assets: Iterable[Asset] = (),
    priority: int | None = None,
    source: str = TicketSource.MANUAL,
    alert_key: str = "",
    assigned_to: Any = None,
) -> Ticket:
    """Open a ticket for a customer; site, end user and assets must belong to that customer."""
    errors: list[str] = []
    cleaned = " ".join((summary or "").split())
    if not cleaned:
        errors.append("Summary is required.")
    elif len(cleaned) > SUMMARY_MAX:
        errors.append(f"Summary is longer than {SUMMARY_MAX} characters ({len(cleaned)}); shorten it.")
    if ticket_type is None:
        errors.append("Ticket type is required.")
    elif not ticket_type.active:
        errors.append(f"Ticket type '{ticket_type.name}' is inactive; choose an active type or reactivate it.")
    if customer is None:
        errors.append("Customer is required.")
    else:
        if site is not None and site.customer_id != customer.pk:
            errors.append(f"Site '{site.name}' belongs to another customer than '{customer.name}'.")
        if end_user is not None and end_user.customer_id != customer.pk:
            errors.append(f"User '{end_user.name}' belongs to another customer than '{customer.name}'.")
    asset_list = list(assets)
    if customer is not None:
        foreign = [str(a) for a in asset_list if a.customer_id != customer.pk]
        if foreign:
            errors.append(f"Asset(s) {', '.join(foreign)} belong to another customer than '{customer.name}'.")
    if source not in TicketSource.values:
        errors.append(f"Source must be one of {', '.join(TicketSource.values)}; got '{source}'.")
    key = (alert_key or "").strip()
    if len(key) > 255:
        errors.append("Alert key is longer than 255 characters.")
    chosen_priority: int = TicketPriority.MEDIUM
    if priority is not None:
        try:
            chosen_priority = _clean_priority(priority)
        except ValidationError as exc:
            errors.extend(exc.messages)
    elif ticket_type is not None:
        chosen_priority = ticket_type.default_priority
    if assigned_to is not None and (problem := assignee_problem(assigned_to)):
        errors.append(problem)
    if errors:
        raise ValidationError(errors)
    ticket = Ticket.objects.create(
        summary=cleaned,
        details=details or "",
        ticket_type=ticket_type,
        customer=customer,
        site=site,
        end_user=end_user,
        priority=chosen_priority,
        source=source,
        alert_key=key,
        assigned_to=assigned_to,
    )
    if asset_list:
        through = Ticket.assets.through
        asset_ids = dict.fromkeys(a.pk for a in asset_list)  # once each, in the given order
        through.objects.bulk_create([through(ticket_id=ticket.pk, asset_id=pk) for pk in asset_ids])
    assigned = f" Assigned to {assignee_label(assigned_to)}." if assigned_to is not None else ""
    _record(actor, ticket, ActionKind.CREATED, f"Opened ({TicketSource(source).label}).{assigned}",
            new_status=TicketStatus.NEW)
    record_audit(actor, ticket, "create", {
        "summary": [None, cleaned],
        "customer": [None, customer.name],
        "ticket_type": [None, ticket_type.name],
        "source": [None, source],
        "alert_key": [None, key],
        "assets": [None, [str(a) for a in asset_list]],
        **({"assigned_to": [None, assigned_to.get_username()]} if assigned_to is not None else {}),
    })
    return ticket


def assignee_label(user: Any) -> str:
    """How a user is named in a ticket's history: full name and username."""
    full = (user.get_full_name() or "").strip() if hasattr(user, "get_full_name") else ""
    return f"{full} ({user.get_username()})" if full else str(user.get_username())


def assignee_problem(user: Any) -> str | None:
    """Why `user` cannot be assigned tickets (None when they can): only active staff users work tickets."""
    if not getattr(user, "is_active", False):
        return (f"User '{user.get_username()}' is inactive and cannot be assigned tickets; "
                "choose an active staff user or reactivate them.")
    if not getattr(user, "is_staff", False):
        return (f"User '{user.get_username()}' is not staff and cannot be assigned tickets; "
                "choose a staff user or give them staff status.")
    return None


def active_assignee(user_id: int | None) -> Any:
    """The user with this id when they can be assigned tickets now (active staff), else None."""
    if user_id is None:
        return None
    return get_user_model().objects.filter(pk=user_id, is_active=True, is_staff=True).first()


@transaction.atomic
def do_assign_ticket(actor: Actor, ticket: Ticket, user: Any) -> Ticket:
    """Assign the ticket to an active staff user (None: unassign); the same assignee again records nothing."""
    if user is not None and (problem := assignee_problem(user)):
        raise ValidationError(problem)
    _locked(ticket)
    old_id = Ticket.objects.values_list("assigned_to_id", flat=True).get(pk=ticket.pk)
    new_id = user.pk if user is not None else None
    if old_id == new_id:
        return ticket
    old_name = (get_user_model().objects.filter(pk=old_id).values_list("username", flat=True).first()
                if old_id is not None else None)
    Ticket.objects.filter(pk=ticket.pk).update(assigned_to=user, updated_at=utcnow())
    ticket.assigned_to = user
    text = f"Assigned to {assignee_label(user)}." if user is not None else "Unassigned."
    _record(actor, ticket, ActionKind.ASSIGNED, text)
    record_audit(actor, ticket, "assign",
                 {"assigned_to": [old_name, user.get_username() if user is not None else None]})
    return ticket


#: The ticket row under a lock, compiled once per connection (every ticket action reads it first).
_FOR_UPDATE: PreparedQuery[Ticket] = PreparedQuery(lambda pk: Ticket.objects.select_for_update().filter(pk=pk), int)


def _locked(ticket: Ticket) -> Ticket:
    """Re-read the ticket under a row lock and copy its current state onto the caller's instance.

    Returns the row as read (its summary too): what the action changes next is known without reading it again.
    """
    current = _FOR_UPDATE.first(int(ticket.pk))
    if current is None:
        raise Ticket.DoesNotExist(f"Ticket #{ticket.pk} no longer exists.")
    ticket.status = current.status
    ticket.closed_at = current.closed_at
    ticket.occurrences = current.occurrences
    return current


@transaction.atomic
def do_add_note(actor: Actor, ticket: Ticket, text: str, *, count_occurrence: bool = False,
                times: int = 1) -> TicketAction:
    """Add a note; with count_occurrence the note records `times` repeats of the alert and bumps `occurrences`
    by as many (a storm parent counts a batch of child alerts with one note)."""
    note = _clean_note(text, required=not count_occurrence)
    if times < 1:
        raise ValidationError(f"An occurrence count must be at least 1; got {times}.")
    _locked(ticket)
    if count_occurrence:
        now = utcnow()
        Ticket.objects.filter(pk=ticket.pk).update(occurrences=F("occurrences") + times, updated_at=now)
        ticket.occurrences += times  # the row is locked: its count is the one read under the lock, plus these
        ticket.updated_at = now
        action = _record(actor, ticket, ActionKind.OCCURRENCE, note or "The alert occurred again.")
        record_audit(actor, ticket, "occurrence", {"occurrences": [ticket.occurrences - times, ticket.occurrences]})
        return action
    Ticket.objects.filter(pk=ticket.pk).update(updated_at=utcnow())
    action = _record(actor, ticket, ActionKind.NOTE, note)
    record_audit(actor, ticket, "note", {"note": [None, note[:500]]})
    return action


def _check_transition(ticket: Ticket, status: str) -> None:
    if status not in TicketStatus.values:
        raise ValidationError(f"Unknown status '{status}'; use one of {', '.join(TicketStatus.values)}.")
    if status == ticket.status:
        raise ValidationError(f"Ticket #{ticket.pk} is already {_status_label(status).lower()}.")
    if status not in TRANSITIONS.get(ticket.status, frozenset()):
        allowed = ", ".join(_status_label(s).lower() for s in allowed_next(ticket.status)) or "nothing"
        raise ValidationError(
            f"Ticket #{ticket.pk} cannot go from {_status_label(ticket.status).lower()} to "
            f"{_status_label(status).lower()}; from {_status_label(ticket.status).lower()} it can go to {allowed}."
        )


@transaction.atomic
def do_change_status(actor: Actor, ticket: Ticket, status: str, *, note: str = "") -> TicketAction:
    """Move a ticket along its workflow; closing sends `ticket_closed` inside this transaction."""
    text = _clean_note(note, required=False)
    _locked(ticket)
    _check_transition(ticket, status)
    old = ticket.status
    now = utcnow()
    ticket.status = status
    if status == TicketStatus.CLOSED:
        kind = ActionKind.CLOSED
        ticket.closed_at = now
    elif old == TicketStatus.CLOSED:
        kind = ActionKind.REOPENED
        ticket.closed_at = None
    else:
        kind = ActionKind.STATUS_CHANGE
    ticket.updated_at = now
    ticket.save(update_fields=["status", "closed_at", "updated_at"])
    action = _record(actor, ticket, kind, text, old_status=old, new_status=status)
    changes: dict[str, object] = {"status": [old, status]}
    if text:
        changes["note"] = text[:500]
    record_audit(actor, ticket, {ActionKind.CLOSED: "close", ActionKind.REOPENED: "reopen"}.get(kind, "status"),
                 changes)
    if status == TicketStatus.CLOSED:
        ticket_closed.send(sender=Ticket, ticket=ticket, actor=actor)
    return action


def do_close_ticket(actor: Actor, ticket: Ticket, *, note: str = "") -> Ticket:
    """Close a ticket with an optional note; receivers of `ticket_closed` run inside the same transaction."""
    do_change_status(actor, ticket, TicketStatus.CLOSED, note=note)
    return ticket


@transaction.atomic
def do_reopen_ticket(actor: Actor, ticket: Ticket, *, note: str = "") -> Ticket:
    """Reopen a closed ticket (closed → open)."""
    _locked(ticket)
    if ticket.status != TicketStatus.CLOSED:
        raise ValidationError(
            f"Ticket #{ticket.pk} is {_status_label(ticket.status).lower()}, not closed, so it cannot be reopened."
        )
    do_change_status(actor, ticket, TicketStatus.OPEN, note=note)
    return ticket


@transaction.atomic
def do_set_summary(actor: Actor, ticket: Ticket, summary: str) -> Ticket:
    """Change the ticket's summary (a storm's parent counts its devices); unchanged text records nothing."""
    text = " ".join(summary.split())[:255]
    if not text:
        raise ValidationError("A ticket summary cannot be empty; give it a short description.")
    old = _locked(ticket).summary
    if old == text:
        return ticket
    Ticket.objects.filter(pk=ticket.pk).update(summary=text, updated_at=utcnow())
    ticket.summary = text
    record_audit(actor, ticket, "summary", {"summary": [old, text]})
    return ticket


@transaction.atomic
def do_mark_flapping(actor: Actor, ticket: Ticket, flapping: bool = True) -> Ticket:
    """Set the ticket's flapping mark (noise control: one ticket counts a flapping condition); unchanged: nothing."""
    old = _locked(ticket).flapping
    if old == flapping:
        ticket.flapping = flapping
        return ticket
    Ticket.objects.filter(pk=ticket.pk).update(flapping=flapping, updated_at=utcnow())
    ticket.flapping = flapping
    record_audit(actor, ticket, "flapping", {"flapping": [old, flapping]})
    return ticket
