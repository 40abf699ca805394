"""Flap damping against the Datto RMM emulator over HTTP under a frozen clock: one ticket for a flapping monitor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.urls import reverse
from freezegun import freeze_time

from rmmbridge.alerts.models import FlapTrack, Suppression
from rmmbridge.alerts.polling import poll_alerts
from rmmbridge.integrator import exposition
from rmmbridge.integrator.tasks import release_maintenance
from rmmbridge.tickets.choices import TicketStatus
from rmmbridge.tickets.models import Ticket

from . import test_end_to_end as e2e
from .test_end_to_end import control

pytestmark = pytest.mark.django_db(transaction=True)
emulator = e2e.emulator
world = e2e.world
T0 = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)


def cycle(emulator: Any, world: Any, frozen: Any, at: datetime) -> None:
    frozen.move_to(at)
    device = emulator.state.device_at(0)
    alert_id = str(control(emulator, "POST", "/alerts", json={
        "device_id": device.id, "message": "CPU above 95%", "alert_type": "perf_resource_usage"})["alert_id"])
    poll_alerts(int(world.integration.pk))
    frozen.move_to(at + timedelta(minutes=1))
    control(emulator, "POST", f"/alerts/{alert_id}/resolve")
    poll_alerts(int(world.integration.pk))


def test_ten_open_resolve_cycles_in_twenty_minutes_make_one_ticket(emulator: Any, world: Any,
                                                                   admin_client: Any) -> None:
    reverse("tickets:ticket_list")  # load the URLconf (and the API's pydantic schemas) before the clock is frozen
    with freeze_time(T0, tick=True) as frozen:
        for n in range(10):
            cycle(emulator, world, frozen, T0 + timedelta(minutes=2 * n))
        ticket = Ticket.objects.get()
        assert ticket.occurrences == 10
        assert ticket.flapping
        page = admin_client.get(f"/tickets/{ticket.pk}/").content.decode()
        assert "Flapping: 10 occurrences on this one ticket" in page
        listing = admin_client.get("/tickets/", {"status": "all"}).content.decode()
        assert "flapping ×10" in listing
        api = admin_client.get(f"/api/v1/tickets/{ticket.pk}/").json()
        assert (api["flapping"], api["occurrences"]) == (True, 10)
        assert ticket.status != TicketStatus.CLOSED  # flapping: held open through the quiet time
        assert ticket.actions.filter(text__startswith="Flapping: opened 4 times within 60 minutes").count() == 1
        assert FlapTrack.objects.get().flapping
        assert Suppression.objects.filter(reason="flapping").count() == 7  # the resolves after it started flapping
        text = exposition.render()
        assert 'rmmbridge_alert_suppressions_total{reason="flapping"} 7' in text
        assert "\nrmmbridge_alerts_flapping 1\n" in text
        last_resolve = T0 + timedelta(minutes=19)
        release_maintenance(last_resolve + timedelta(minutes=29))
        ticket.refresh_from_db()
        assert ticket.status != TicketStatus.CLOSED
        release_maintenance(last_resolve + timedelta(minutes=30, seconds=5))
        ticket.refresh_from_db()
        assert ticket.status == TicketStatus.CLOSED
        assert ticket.actions.filter(text__contains="stayed resolved for 30 minutes").exists()


def test_a_condition_back_after_the_flap_window_opens_a_new_ticket(emulator: Any, world: Any) -> None:
    with freeze_time(T0, tick=True) as frozen:
        cycle(emulator, world, frozen, T0)
        cycle(emulator, world, frozen, T0 + timedelta(minutes=90))
        assert Ticket.objects.count() == 2
        assert all(t.status == TicketStatus.CLOSED for t in Ticket.objects.all())
        assert not any(t.flapping for t in Ticket.objects.all())
