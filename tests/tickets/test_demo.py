"""The tickets demo step: ticket types and sample tickets, safe to run twice."""

from __future__ import annotations

import io
from typing import Any

from rmmbridge.servicedesk import demo as servicedesk_demo
from rmmbridge.tickets import demo
from rmmbridge.tickets.models import Ticket, TicketType


def test_demo_step_runs_twice(db: Any) -> None:
    out = io.StringIO()
    servicedesk_demo.run(out)
    demo.run(out)
    assert sorted(TicketType.objects.values_list("name", flat=True)) == ["Incident", "RMM Alert", "Service Request"]
    assert sorted(Ticket.objects.values_list("status", flat=True)) == ["on_hold", "open"]
    demo.run(out)
    assert Ticket.objects.count() == 2
    assert "Sample tickets already present." in out.getvalue()
