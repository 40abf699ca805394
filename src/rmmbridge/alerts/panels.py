"""The ticket page panels: the RMM alert behind a ticket and its resolve in the RMM; a storm's parent and children."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string

from rmmbridge.alerts.models import AlertState, OutboxStatus, ResolveOutbox, StormGroup, StormMember
from rmmbridge.alerts.outbox import can_resolve
from rmmbridge.tickets.choices import TicketStatus
from rmmbridge.tickets.models import Ticket


def ticket_alert_panel(ticket: Ticket) -> str | None:
    """HTML for the ticket detail page, or None when no alert is behind the ticket."""
    states = list(AlertState.objects.filter(ticket=ticket).select_related("integration"))
    if not states:
        return None
    outbox = list(ResolveOutbox.objects.filter(ticket=ticket).order_by("-id"))
    if StormGroup.objects.filter(ticket=ticket).exists():  # the storm panel lists the children; keep the resolves
        if not outbox:
            return None
        states = []
    rows = [{
        "state": state,
        "can_resolve": state.integration is not None and can_resolve(state.integration),
    } for state in states]
    # Keep refreshing while the ticket is open (a close queues a resolve) or a resolve is still pending.
    refresh = ticket.status != TicketStatus.CLOSED or any(o.status == OutboxStatus.PENDING for o in outbox)
    return render_to_string("alerts/_ticket_panel.html",
                            {"rows": rows, "outbox": outbox, "ticket": ticket, "refresh": refresh})


def ticket_storm_panel(ticket: Ticket) -> str | None:
    """HTML for the ticket page: a storm parent's child alerts (with their own tickets), or a child's parent."""
    storm = StormGroup.objects.filter(ticket=ticket).select_related("site").first()
    if storm is not None:
        members = list(StormMember.objects.filter(storm=storm).select_related("state", "own_ticket")
                       .order_by("device", "id"))
        children: list[dict[str, Any]] = [
            {"member": m, "state": m.state,
             "own": m.own_ticket if m.own_ticket is not None and m.own_ticket.pk != ticket.pk else None}
            for m in members]
        resolved = sum(1 for m in members if m.state.resolved_at is not None)
        return render_to_string("alerts/_storm_panel.html", {"storm": storm, "children": children,
                                                            "resolved": resolved, "ticket": ticket})
    parents = (StormMember.objects.filter(own_ticket=ticket, storm__ticket__isnull=False)
               .exclude(storm__ticket=ticket).select_related("storm__ticket"))
    parent = next((m.storm.ticket for m in parents if m.storm is not None), None)
    if parent is None:
        return None
    return render_to_string("alerts/_storm_panel.html", {"parent": parent, "ticket": ticket})
