"""Maintenance windows against the Datto RMM emulator over HTTP: held alerts, tickets at the window's end, pages."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

import pytest

from rmmbridge.alerts.models import AlertState, MaintenanceWindow, NoiseSettings, Suppression
from rmmbridge.alerts.polling import poll_alerts
from rmmbridge.common.clock import utcnow
from rmmbridge.integrator import exposition
from rmmbridge.integrator.tasks import tick
from rmmbridge.tickets.models import Ticket

from . import test_end_to_end as e2e
from .conftest import Desk
from .test_end_to_end import control, raise_alert

pytestmark = pytest.mark.django_db(transaction=True)
emulator = e2e.emulator
world = e2e.world


def site_window(desk: Desk, minutes: int = 30) -> MaintenanceWindow:
    now = utcnow()
    return MaintenanceWindow.objects.create(name="Server move", scope="site", site=desk.site,
                                            starts=now - timedelta(minutes=5), ends=now + timedelta(minutes=minutes))


def test_alert_in_window_opens_no_ticket_and_one_still_open_at_its_end_does(emulator: Any, world: Desk) -> None:
    window = site_window(world)
    held_id = raise_alert(emulator, 0)
    raise_alert(emulator, 5, "Offline")  # device 5 is not on the window's site: its ticket opens at once
    first = poll_alerts(int(world.integration.pk))
    assert first.opened == 1, first.message
    assert Ticket.objects.filter(assets=world.asset).count() == 0
    suppression = Suppression.objects.get()
    assert (suppression.reason, suppression.window) == ("maintenance", window)
    assert "Server move" in suppression.detail
    assert 'rmmbridge_alert_suppressions_total{reason="maintenance"} 1' in exposition.render()
    poll_alerts(int(world.integration.pk))  # still open, still inside the window: nothing new
    assert Ticket.objects.count() == 1
    tick(window.ends - timedelta(seconds=1), dispatch=lambda job_id: None, outbox=False)
    assert Ticket.objects.filter(assets=world.asset).count() == 0
    tick(window.ends + timedelta(seconds=1), dispatch=lambda job_id: None, outbox=False)
    ticket = Ticket.objects.filter(assets=world.asset).get()
    assert "Still open when maintenance window 'Server move' ended" in ticket.details
    state = AlertState.objects.get(ticket=ticket)
    assert state.external_id == held_id
    poll_alerts(int(world.integration.pk))  # the next poll counts nothing twice
    assert Ticket.objects.filter(assets=world.asset).count() == 1


def test_alert_resolved_inside_its_window_never_opens_a_ticket(emulator: Any, world: Desk) -> None:
    window = site_window(world)
    alert_id = raise_alert(emulator, 0)
    poll_alerts(int(world.integration.pk))
    control(emulator, "POST", f"/alerts/{alert_id}/resolve")
    poll_alerts(int(world.integration.pk))
    tick(window.ends + timedelta(minutes=1), dispatch=lambda job_id: None, outbox=False)
    assert Ticket.objects.count() == 0
    assert AlertState.objects.get().resolved_at is not None


def test_weekly_window_covering_now_holds_the_alert(emulator: Any, world: Desk) -> None:
    now = utcnow()
    MaintenanceWindow.objects.create(name="Patch night", scope="customer", customer=world.customer,
                                     timezone="UTC", weekdays=[now.weekday()],
                                     start_time=time(0, 0), end_time=time(23, 59, 59))
    raise_alert(emulator, 0)
    poll_alerts(int(world.integration.pk))
    assert Ticket.objects.count() == 0
    assert Suppression.objects.filter(reason="maintenance").count() == 1


def test_window_pages_create_validate_and_toggle(world: Desk, admin_client: Any) -> None:
    assert admin_client.get("/alerts/windows/").status_code == 200
    bad = admin_client.post("/alerts/windows/new/", {"name": "Move", "scope": "site", "site": world.site.pk,
                                                     "timezone": "UTC", "starts": "2026-05-01T10:00",
                                                     "ends": "2026-05-01T09:00", "enabled": "on"})
    assert bad.status_code == 422
    assert "set the end after the start" in bad.content.decode()
    no_site = admin_client.post("/alerts/windows/new/", {"name": "Move", "scope": "site", "timezone": "UTC",
                                                         "starts": "2026-05-01T10:00", "ends": "2026-05-01T12:00"})
    assert "Choose the site this window covers." in no_site.content.decode()
    zone = admin_client.post("/alerts/windows/new/", {"name": "Nightly", "scope": "customer",
                                                      "customer": world.customer.pk, "timezone": "Europe/Lundon",
                                                      "weekdays": ["5", "6"], "start_time": "22:00",
                                                      "end_time": "06:00"})
    assert "Unknown time zone" in zone.content.decode()
    ok = admin_client.post("/alerts/windows/new/", {"name": "Nightly", "scope": "customer",
                                                    "customer": world.customer.pk, "timezone": "Europe/London",
                                                    "weekdays": ["5", "6"], "start_time": "22:00",
                                                    "end_time": "06:00", "enabled": "on"})
    assert ok.status_code == 302
    saved = MaintenanceWindow.objects.get()
    assert (saved.weekdays, saved.enabled) == ([5, 6], True)
    assert "weekly Sat, Sun 22:00–06:00 Europe/London" in admin_client.get("/alerts/windows/").content.decode()
    row = admin_client.post(f"/alerts/windows/{saved.pk}/toggle/")
    assert ">Off<" in row.content.decode()
    saved.refresh_from_db()
    assert saved.enabled is False


def test_noise_settings_page_saves_and_refuses_zero(world: Desk, admin_client: Any) -> None:
    fields = {"flap_count": "3", "flap_minutes": "60", "quiet_minutes": "30", "storm_count": "10",
              "storm_minutes": "0"}
    bad = admin_client.post("/alerts/noise/", fields)
    assert bad.status_code == 422
    assert "The storm minutes must be a whole number of at least 1; got 0." in bad.content.decode()
    assert admin_client.post("/alerts/noise/", {**fields, "storm_minutes": "5", "storm_count": "25"}).status_code == 302
    assert NoiseSettings.objects.get(integration=None).policy().storm_count == 25


def test_a_held_alert_opens_its_ticket_assigned_to_the_event_rules_user(emulator: Any, world: Desk) -> None:
    from django.contrib.auth import get_user_model

    from rmmbridge.alerts.models import EventRule

    dana = get_user_model().objects.create_user("dana", password="x", is_staff=True)
    EventRule.objects.create(name="Site to Dana", site=world.site, assign_to=dana)
    window = site_window(world)
    raise_alert(emulator, 0)
    poll_alerts(int(world.integration.pk))
    assert not Ticket.objects.filter(assets=world.asset).exists()
    tick(window.ends + timedelta(seconds=1), dispatch=lambda job_id: None, outbox=False)
    assert Ticket.objects.filter(assets=world.asset).get().assigned_to == dana
