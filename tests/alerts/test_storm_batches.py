"""Storm children that arrive in one batch (the SMTP receiver's group) are noted on the parent once, counted each."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from rmmbridge.alerts.intake.smtp import _process_batch
from rmmbridge.alerts.models import AlertState, Channel, EventStatus, NoiseSettings, StormGroup, StormMember
from rmmbridge.alerts.processing import process_event, store_event
from rmmbridge.integrations.models import ExternalRef, RefKind
from rmmbridge.servicedesk.actions import Actor, AssetInput, do_upsert_asset
from rmmbridge.tickets.models import Ticket, TicketAction

from .conftest import Desk, make_desk

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)


def _body(device: str, uid: str) -> bytes:
    return json.dumps({"alertUID": uid, "deviceUID": device, "deviceHostname": device.upper(),
                       "alertType": "online_offline_status", "alertMessage": "Device offline", "priority": "High",
                       "state": "triggered"}).encode()


def _site_of(count: int) -> Desk:
    desk = make_desk(device_id="dev-0")
    NoiseSettings.objects.create(storm_count=3, storm_minutes=5)
    for d in range(1, count):
        asset, _ = do_upsert_asset(Actor.cli("test"), AssetInput(asset_type=desk.asset.asset_type, site=desk.site,
                                                                 name=f"DEV-{d}"))
        ExternalRef.objects.create(integration=desk.integration, kind=RefKind.ASSET, external_id=f"dev-{d}",
                                   object_id=asset.pk, first_seen=T0, last_seen=T0)
    return desk


def test_children_that_join_together_get_one_note_listing_them_and_each_counts_an_occurrence() -> None:
    with freeze_time(T0) as clock:
        desk = _site_of(12)
        for d in range(5):  # four devices form the storm (more than 3), the fifth joins it on its own
            clock.move_to(T0 + timedelta(seconds=d))
            process_event(store_event(Channel.WEBHOOK, _body(f"dev-{d}", f"off-{d}"), integration=desk.integration))
        storm = StormGroup.objects.get()
        parent = storm.ticket
        assert parent is not None
        formed = [a.text for a in TicketAction.objects.filter(ticket=parent, kind="occurrence").order_by("id")]
        # the storm forms at the fourth device: one note lists the four, then the fifth joins on its own
        assert formed[0].splitlines()[0] == "4 child alerts:"
        assert sorted(formed[0].splitlines()[1:]) == [f"- DEV-{d} — Device offline" for d in range(4)]
        assert formed[1:] == ["Child alert: DEV-4 — Device offline"]
        assert parent.occurrences == 1 + 5  # its own opening, then each child
        before_notes = len(formed)
        before_occurrences = parent.occurrences
        clock.move_to(T0 + timedelta(seconds=30))
        batch = [store_event(Channel.WEBHOOK, _body(f"dev-{d}", f"off-{d}"), integration=desk.integration)
                 for d in range(5, 12)]
        outcomes = _process_batch(batch)
    assert [o.status for o in outcomes] == [EventStatus.PROCESSED] * 7
    parent.refresh_from_db()
    new_notes = list(TicketAction.objects.filter(ticket=parent, kind="occurrence").order_by("id"))[before_notes:]
    assert len(new_notes) == 1, [n.text for n in new_notes]
    lines = new_notes[0].text.splitlines()
    assert lines[0] == "7 child alerts:"
    assert sorted(lines[1:]) == sorted(f"- DEV-{d} — Device offline" for d in range(5, 12))
    assert parent.occurrences == before_occurrences + 7
    assert parent.summary == "Harbourview Dental: 12 devices offline"
    assert StormMember.objects.filter(storm=storm).count() == 12
    assert AlertState.objects.filter(ticket=parent).count() == 12
    assert Ticket.objects.exclude(pk=parent.pk).filter(closed_at__isnull=True).count() == 0
