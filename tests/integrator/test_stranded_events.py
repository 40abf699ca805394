"""The scheduler tick processes alert events whose process died between storing and processing them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rmmbridge.alerts.models import AlertEvent, Channel, EventStatus
from rmmbridge.alerts.processing import STRANDED_AFTER, store_event
from rmmbridge.common.clock import utcnow
from rmmbridge.integrator import tasks
from rmmbridge.tickets.models import Ticket


@pytest.mark.django_db
def test_a_stranded_event_gets_its_ticket_on_the_next_tick_and_a_fresh_one_is_left_to_its_process() -> None:
    from tests.alerts.conftest import make_desk

    integration = make_desk().integration
    stranded = store_event(Channel.TEST, b'{"test": true}', integration=integration, summary="Stranded test alert")
    fresh = store_event(Channel.TEST, b'{"test": true}', integration=integration, summary="Fresh test alert")
    now = utcnow()
    AlertEvent.objects.filter(pk=stranded.pk).update(received_at=now - STRANDED_AFTER - timedelta(seconds=1))

    tasks.tick(now, dispatch=lambda job_id: None)

    stranded.refresh_from_db()
    fresh.refresh_from_db()
    assert stranded.status == EventStatus.PROCESSED, stranded.reason
    assert stranded.ticket_id is not None
    assert Ticket.objects.filter(pk=stranded.ticket_id).exists()
    assert fresh.status == EventStatus.PENDING  # still its own process's to handle
