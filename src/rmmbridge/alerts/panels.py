"""The ticket page panel: the RMM alert behind a ticket and the status of its resolve in the RMM."""

from __future__ import annotations

from django.template.loader import render_to_string

from rmmbridge.alerts.models import AlertState, ResolveOutbox
from rmmbridge.alerts.outbox import can_resolve
from rmmbridge.tickets.models import Ticket


def ticket_alert_panel(ticket: Ticket) -> str | None:
    """HTML for the ticket detail page, or None when no alert is behind the ticket."""
    states = list(AlertState.objects.filter(ticket=ticket).select_related("integration"))
    if not states:
        return None
    outbox = list(ResolveOutbox.objects.filter(ticket=ticket).order_by("-id"))
    rows = [{
        "state": state,
        "can_resolve": state.integration is not None and can_resolve(state.integration),
    } for state in states]
    # Keep refreshing while the ticket is open (a close queues a resolve) or a resolve is still pending.
    refresh = ticket.status != "closed" or any(o.status == "pending" for o in outbox)
    return render_to_string("alerts/_ticket_panel.html",
                            {"rows": rows, "outbox": outbox, "ticket": ticket, "refresh": refresh})
