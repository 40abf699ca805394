"""Two simultaneous closes of one ticket (a person and an alert): exactly one wins, the signal fires once."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections

from rmmbridge.servicedesk.actions import Actor
from rmmbridge.tickets.actions import do_close_ticket
from rmmbridge.tickets.models import Ticket
from rmmbridge.tickets.signals import ticket_closed

from .conftest import Desk

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_closes_close_once(desk: Desk) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks are exercised on PostgreSQL (make pytest-postgres)")
    ticket = desk.open()
    barrier = threading.Barrier(2)
    signals: list[str] = []
    outcomes: dict[str, str] = {}

    def slow_receiver(sender: Any, ticket: Ticket, actor: Actor, **kwargs: Any) -> None:
        signals.append(actor.label)
        time.sleep(0.3)  # hold the row lock while the other close waits for it

    def close(label: str) -> None:
        try:
            stale = Ticket.objects.get(pk=ticket.pk)  # both read "new" before either closes
            barrier.wait()
            do_close_ticket(Actor.cli(label), stale, note=f"closed by {label}")
            outcomes[label] = "closed"
        except ValidationError as exc:
            outcomes[label] = exc.messages[0]
        finally:
            connections.close_all()

    ticket_closed.connect(slow_receiver, sender=Ticket, dispatch_uid="test-concurrency")
    try:
        threads = [threading.Thread(target=close, args=(label,)) for label in ("person", "alert")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(20)
    finally:
        ticket_closed.disconnect(sender=Ticket, dispatch_uid="test-concurrency")
    assert sorted(outcomes.values()) == sorted(["closed", f"Ticket #{ticket.pk} is already closed."])
    assert len(signals) == 1
    assert Ticket.objects.get(pk=ticket.pk).actions.filter(kind="closed").count() == 1
