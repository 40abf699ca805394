"""Ticket models: ticket types, tickets and each ticket's action history."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from rmmbridge.servicedesk.models import Asset, AuditSource, Customer, EndUser, Site
from rmmbridge.tickets.choices import ActionKind, TicketPriority, TicketSource, TicketStatus

# Sources that mean a person acted (as opposed to an alert, a sync or the system).
PERSON_SOURCES_VALUES = (AuditSource.UI.value, AuditSource.API.value, AuditSource.CLI.value)


class TicketType(models.Model):
    """A kind of ticket (Incident, RMM Alert…) with the priority new tickets of this type get."""

    name = models.CharField(max_length=200)
    default_priority = models.PositiveSmallIntegerField(choices=TicketPriority.choices, default=TicketPriority.MEDIUM)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="tickettype_name_unique_ci")]

    def __str__(self) -> str:
        return self.name


class Ticket(models.Model):
    """A service-desk ticket, opened by a person or by an RMM alert."""

    summary = models.CharField(max_length=255)
    details = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=TicketStatus.choices, default=TicketStatus.NEW)
    priority = models.PositiveSmallIntegerField(choices=TicketPriority.choices, default=TicketPriority.MEDIUM)
    ticket_type = models.ForeignKey(TicketType, on_delete=models.PROTECT, related_name="tickets")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="tickets")
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets")
    end_user = models.ForeignKey(EndUser, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets")
    assets = models.ManyToManyField(Asset, blank=True, related_name="tickets")
    source = models.CharField(max_length=20, choices=TicketSource.choices, default=TicketSource.MANUAL)
    alert_key = models.CharField(max_length=255, blank=True, db_index=True,
                                 help_text="The alert's consolidation key, when an alert opened this ticket.")
    occurrences = models.PositiveIntegerField(default=1)
    flapping = models.BooleanField(default=False,
                                   help_text="Noise control: the alert's condition flapped; this one ticket counts it.")
    assigned_to = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="assigned_tickets", help_text="The staff user working the ticket.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "-id"]),
            models.Index(fields=["customer", "status"]),
            models.Index(fields=["source", "status"]),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.summary}" if self.pk else self.summary

    @property
    def is_closed(self) -> bool:
        return self.status == TicketStatus.CLOSED

    @property
    def worked_by_person(self) -> bool:
        """True when a person (UI, API or CLI) did anything to this ticket besides creating it."""
        return worked_by_person(self)


class TicketAction(models.Model):
    """One entry of a ticket's history: creation, a note, a status change, a close, a reopen, a repeat."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="actions")
    at = models.DateTimeField(auto_now_add=True)
    kind = models.CharField(max_length=20, choices=ActionKind.choices)
    text = models.TextField(blank=True)
    old_status = models.CharField(max_length=20, choices=TicketStatus.choices, blank=True)
    new_status = models.CharField(max_length=20, choices=TicketStatus.choices, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="ticket_actions")
    actor_label = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=20, choices=AuditSource.choices)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["ticket", "at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on ticket #{self.ticket_id}"

    @property
    def by_person(self) -> bool:
        return self.source in PERSON_SOURCES_VALUES


def worked_by_person(ticket: Ticket) -> bool:
    """True when a person (UI, API or CLI) did anything to `ticket` besides creating it."""
    return (
        TicketAction.objects.filter(ticket_id=ticket.pk, source__in=PERSON_SOURCES_VALUES)
        .exclude(kind=ActionKind.CREATED)
        .exists()
    )
