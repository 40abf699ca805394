"""Demo step: ticket types and a few hand-made tickets on the sample service desk."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from rmmbridge.servicedesk.actions import Actor
from rmmbridge.servicedesk.models import Asset, Customer
from rmmbridge.tickets.actions import do_add_note, do_change_status, do_create_ticket_type, do_open_ticket
from rmmbridge.tickets.choices import TicketPriority, TicketStatus
from rmmbridge.tickets.models import Ticket, TicketType

TYPES = [("Incident", TicketPriority.MEDIUM), ("RMM Alert", TicketPriority.HIGH),
         ("Service Request", TicketPriority.LOW)]
MARKER = "Printer on reception shows paper jam"


@transaction.atomic
def run(out: Any) -> None:
    """Create the ticket types and sample tickets once; a second run changes nothing."""
    actor = Actor.system("demo")
    for name, priority in TYPES:
        if not TicketType.objects.filter(name__iexact=name).exists():
            do_create_ticket_type(actor, name, default_priority=priority)
    if Ticket.objects.filter(summary=MARKER).exists():
        out.write("Sample tickets already present.")
        return
    customer = Customer.objects.order_by("id").first()
    if customer is None:
        out.write("No customers yet: sample tickets skipped.")
        return
    incident = TicketType.objects.get(name__iexact="Incident")
    request = TicketType.objects.get(name__iexact="Service Request")
    user = customer.users.order_by("id").first()
    asset = Asset.objects.filter(customer=customer, active=True).order_by("id").first()
    first = do_open_ticket(actor, summary=MARKER, details="Reception says the printer has jammed twice today.",
                           ticket_type=incident, customer=customer, site=customer.main_site, end_user=user)
    do_change_status(actor, first, TicketStatus.OPEN, note="Asked reception to check the paper tray.")
    second = do_open_ticket(actor, summary="New starter needs a laptop set up", ticket_type=request,
                            customer=customer, site=customer.main_site, end_user=user,
                            assets=[asset] if asset else ())
    do_add_note(actor, second, "Laptop ordered; waiting for delivery.")
    do_change_status(actor, second, TicketStatus.ON_HOLD, note="Waiting for the supplier.")
    out.write(f"Created ticket types and 2 sample tickets for {customer.name}.")
