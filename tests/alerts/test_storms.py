"""Storm grouping against the Datto RMM emulator over HTTP: a site outage makes one parent ticket with children."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from rmmbridge.alerts.models import AlertState, OutboxStatus, ResolveOutbox, StormGroup
from rmmbridge.alerts.outbox import deliver_due
from rmmbridge.alerts.polling import poll_alerts
from rmmbridge.common.clock import utcnow
from rmmbridge.connectors.testing.server import RunningEmulator, serve_emulator
from rmmbridge.integrations.models import ExternalRef, RefKind
from rmmbridge.integrator import exposition
from rmmbridge.servicedesk.actions import Actor, AssetInput, do_upsert_asset
from rmmbridge.tickets.actions import do_close_ticket
from rmmbridge.tickets.choices import TicketStatus
from rmmbridge.tickets.models import Ticket

from .conftest import Desk, make_desk
from .test_end_to_end import control

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    with serve_emulator("datto_rmm", devices=45, alerts=0, customers=1) as running:
        yield running


@pytest.fixture
def site_of_40(emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> Desk:
    """40 of the emulator's devices are assets of one site here."""
    monkeypatch.setenv("RMMBRIDGE_OUTBOX_BACKOFF_SECONDS", "0")
    first = emulator.state.device_at(0)
    assert first is not None
    desk = make_desk(device_id=first.id, credentials=dict(emulator.credentials))
    now = utcnow()
    for i in range(1, 40):
        device = emulator.state.device_at(i)
        assert device is not None
        asset, _ = do_upsert_asset(Actor.cli("test"), AssetInput(asset_type=desk.asset.asset_type, site=desk.site,
                                                                 name=device.hostname))
        ExternalRef.objects.create(integration=desk.integration, kind=RefKind.ASSET, external_id=device.id,
                                   object_id=asset.pk, first_seen=now, last_seen=now)
    return desk


def offline(emulator: RunningEmulator, index: int) -> str:
    device = emulator.state.device_at(index)
    assert device is not None
    return str(control(emulator, "POST", "/alerts", json={
        "device_id": device.id, "message": "Device offline", "alert_type": "online_offline_status"})["alert_id"])


def test_forty_devices_offline_make_one_parent_and_closing_it_resolves_all(emulator: RunningEmulator,
                                                                           site_of_40: Desk) -> None:
    alert_ids = [offline(emulator, i) for i in range(40)]
    result = poll_alerts(int(site_of_40.integration.pk))
    assert result.open_alerts == 40, result.message
    storm = StormGroup.objects.get()
    parent = storm.ticket
    assert parent is not None
    assert parent.summary == "Harbourview Dental: 40 devices offline"
    assert AlertState.objects.filter(ticket=parent).count() == 40
    assert Ticket.objects.exclude(pk=parent.pk).filter(status__in=["new", "open"]).count() == 0
    assert storm.members.count() == 40
    text = exposition.render()
    assert "\nrmmbridge_alert_storms_open 1\n" in text
    assert "\nrmmbridge_alert_storms_total 1\n" in text
    poll_alerts(int(site_of_40.integration.pk))  # the next poll adds nothing
    assert Ticket.objects.exclude(pk=parent.pk).filter(closed_at__isnull=True).count() == 0
    do_close_ticket(Actor.cli("tech"), parent, note="ISP fixed the line.")
    assert ResolveOutbox.objects.filter(status=OutboxStatus.PENDING).count() == 40
    for _ in range(20):
        deliver_due()
        if not ResolveOutbox.objects.filter(status=OutboxStatus.PENDING).exists():
            break
    calls = control(emulator, "GET", "/resolve-calls")
    assert sorted(str(c["alert_id"]) for c in calls if c.get("status", 200) < 300) == sorted(alert_ids)
    assert [c for c in calls if c.get("status", 200) == 429] == []  # within the vendor's write limit
    assert all(emulator.state.alerts[a].resolved for a in alert_ids)


def test_ten_devices_offline_stay_single_tickets_and_a_child_resolving_keeps_the_parent(
        emulator: RunningEmulator, site_of_40: Desk, admin_client: Any) -> None:
    ids = [offline(emulator, i) for i in range(10)]
    poll_alerts(int(site_of_40.integration.pk))
    assert (Ticket.objects.count(), StormGroup.objects.count()) == (10, 0)
    ids += [offline(emulator, i) for i in range(10, 12)]
    poll_alerts(int(site_of_40.integration.pk))
    parent = StormGroup.objects.get().ticket
    assert parent is not None
    assert parent.summary == "Harbourview Dental: 12 devices offline"
    assert Ticket.objects.filter(closed_at__isnull=True).get() == parent  # the first ten moved under it
    control(emulator, "POST", f"/alerts/{ids[0]}/resolve")
    poll_alerts(int(site_of_40.integration.pk))
    parent.refresh_from_db()
    assert parent.status != TicketStatus.CLOSED
    assert ResolveOutbox.objects.count() == 0  # grouping closed the children's own tickets without resolving
    page = admin_client.get(f"/tickets/{parent.pk}/").content.decode()  # the parent lists its children …
    assert "Storm: 12 devices · online_offline_status" in page
    assert page.count("<tr data-child=") == 12
    assert "1 resolved in the RMM" in page
    own = Ticket.objects.exclude(pk=parent.pk).order_by("id")
    assert own.count() == 11  # ten on their own, the eleventh opened before the storm was seen
    for child in own:
        assert f'<a href="/tickets/{child.pk}/">#{child.pk}</a>' in page
        child_page = admin_client.get(f"/tickets/{child.pk}/").content.decode()  # … and each links back
        assert f'href="/tickets/{parent.pk}/" data-testid="storm-parent">#{parent.pk} ' in child_page


def test_a_storms_parent_is_assigned_to_the_event_rules_user(emulator: RunningEmulator, site_of_40: Desk) -> None:
    from django.contrib.auth import get_user_model

    from rmmbridge.alerts.models import EventRule

    dana = get_user_model().objects.create_user("dana", password="x", is_staff=True)
    EventRule.objects.create(name="Offline to Dana", condition="offline", assign_to=dana)
    for i in range(12):
        offline(emulator, i)
    poll_alerts(int(site_of_40.integration.pk))
    parent = StormGroup.objects.get().ticket
    assert parent is not None
    assert parent.assigned_to == dana
