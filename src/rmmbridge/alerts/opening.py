"""What a new alert's ticket is made of (actor, ticket type, priority, source, texts) and opening it."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from rmmbridge.alerts import ticket_text
from rmmbridge.alerts.event_rules import RuleDecision
from rmmbridge.alerts.facts.base import AlertFacts
from rmmbridge.alerts.lookup import Target
from rmmbridge.alerts.models import AlertingConfig, Channel
from rmmbridge.alerts.rule_store import assignee
from rmmbridge.servicedesk.actions import Actor
from rmmbridge.servicedesk.models import AuditSource
from rmmbridge.tickets.actions import do_create_ticket_type, do_open_ticket
from rmmbridge.tickets.choices import TicketSource
from rmmbridge.tickets.models import Ticket, TicketType

DEFAULT_TICKET_TYPE = "RMM Alert"

#: Vendor severity labels → ticket priority; any other label keeps the ticket type's default priority (the label
#: itself stays on the alert and in the ticket details). Atera says "Warning", NinjaOne "NONE" for none at all.
SEVERITY_PRIORITY = {
    "critical": 1, "high": 2, "major": 2, "moderate": 3, "medium": 3, "warning": 3, "minor": 4, "low": 4,
    "information": 4, "informational": 4, "none": 4,
}
SOURCE_FOR_CHANNEL = {
    Channel.EMAIL: TicketSource.EMAIL, Channel.SMTP: TicketSource.EMAIL, Channel.IMAP: TicketSource.EMAIL,
    Channel.WEBHOOK: TicketSource.WEBHOOK, Channel.POLL: TicketSource.POLL, Channel.TEST: TicketSource.MANUAL,
}
CHANNEL_WORDS = {"email": "e-mail", "smtp": "e-mail", "imap": "e-mail", "webhook": "webhook", "poll": "polling",
                 "test": "a test from the alerting setup"}


def alert_actor(channel: str) -> Actor:
    """Who acted on a ticket for an alert, as the ticket history reads it: 'RMM alert via polling'."""
    return Actor(AuditSource.ALERT, None, f"RMM alert via {CHANNEL_WORDS.get(channel, channel)}")


def ticket_source(channel: str) -> str:
    """The ticket source of an alert that came in on this channel."""
    return str(SOURCE_FOR_CHANNEL.get(Channel(channel), TicketSource.MANUAL))


def default_ticket_type() -> TicketType:
    existing = TicketType.objects.filter(name__iexact=DEFAULT_TICKET_TYPE).first()
    if existing is not None:
        return existing
    return do_create_ticket_type(Actor.system("alerts"), DEFAULT_TICKET_TYPE)


def ticket_type_for(facts: AlertFacts, config: AlertingConfig | None,
                    ruling: RuleDecision | None = None) -> TicketType:
    """The event rule's ticket type, else the alert's (e-mail rule), else the integration's, else the default."""
    if ruling is not None and ruling.ticket_type_id is not None:
        chosen = TicketType.objects.filter(pk=ruling.ticket_type_id).first()
        if chosen is not None:
            return chosen
    return facts.ticket_type or (config.ticket_type if config is not None else None) or default_ticket_type()


def priority_for(facts: AlertFacts, ruling: RuleDecision | None = None) -> int | None:
    """The event rule's priority, else the one the alert's severity maps to."""
    if ruling is not None and ruling.priority is not None:
        return ruling.priority
    return SEVERITY_PRIORITY.get(facts.severity.strip().lower()) if facts.severity else None


def with_rule(reason: str, ruling: RuleDecision) -> str:
    """A decision's reason with the event rule that shaped it."""
    return f"{reason} ({ruling.reason})" if ruling.rule_id is not None else reason


def open_ticket(facts: AlertFacts, target: Target, config: AlertingConfig | None, channel: str, actor: Actor,
                ruling: RuleDecision | None = None) -> Ticket:
    """Open the alert's own ticket on its target (a validation problem becomes a ValueError saying what)."""
    try:
        return do_open_ticket(
            actor,
            summary=ticket_text.summary(facts),
            details=ticket_text.details(facts, target),
            ticket_type=ticket_type_for(facts, config, ruling),
            customer=target.customer,
            site=target.site,
            end_user=target.end_user,
            assets=[target.asset] if target.asset is not None else (),
            priority=priority_for(facts, ruling),
            source=ticket_source(channel),
            alert_key=facts.key,
            assigned_to=assignee(ruling),
        )
    except ValidationError as exc:
        raise ValueError("; ".join(exc.messages)) from exc
