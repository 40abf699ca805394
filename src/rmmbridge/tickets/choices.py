"""Ticket choices: status with its workflow, priority, source and action kinds."""

from __future__ import annotations

from django.db import models


class TicketStatus(models.TextChoices):
    NEW = "new", "New"
    OPEN = "open", "Open"
    ON_HOLD = "on_hold", "On hold"
    CLOSED = "closed", "Closed"


# Workflow new → open → on hold → closed. A ticket may be closed from any open state, put back to open
# from on hold, and reopened (closed → open). Nothing goes back to "new".
TRANSITIONS: dict[str, frozenset[str]] = {
    TicketStatus.NEW: frozenset({TicketStatus.OPEN, TicketStatus.ON_HOLD, TicketStatus.CLOSED}),
    TicketStatus.OPEN: frozenset({TicketStatus.ON_HOLD, TicketStatus.CLOSED}),
    TicketStatus.ON_HOLD: frozenset({TicketStatus.OPEN, TicketStatus.CLOSED}),
    TicketStatus.CLOSED: frozenset({TicketStatus.OPEN}),
}

OPEN_STATUSES = frozenset({TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.ON_HOLD})


def allowed_next(status: str) -> list[str]:
    """The statuses a ticket in `status` may move to, in workflow order."""
    targets = TRANSITIONS.get(status, frozenset())
    return [value for value in TicketStatus.values if value in targets]


class TicketPriority(models.IntegerChoices):
    CRITICAL = 1, "1 - Critical"
    HIGH = 2, "2 - High"
    MEDIUM = 3, "3 - Medium"
    LOW = 4, "4 - Low"


class TicketSource(models.TextChoices):
    EMAIL = "email", "E-mail"
    WEBHOOK = "webhook", "Webhook"
    POLL = "poll", "Poll"
    MANUAL = "manual", "Manual"


class ActionKind(models.TextChoices):
    CREATED = "created", "Created"
    NOTE = "note", "Note"
    STATUS_CHANGE = "status_change", "Status change"
    CLOSED = "closed", "Closed"
    REOPENED = "reopened", "Reopened"
    OCCURRENCE = "occurrence", "Occurrence"
    ASSIGNED = "assigned", "Assigned"
