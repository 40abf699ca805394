"""Noise control in the database: any interleaving of the same alert events gives the same tickets, none is lost.

The pure `alerts.noise.plan` is proven order-independent in test_noise.py; this proves the path alerts really
take. Each example stores Datto RMM webhook bodies and runs them through `processing.process_event` against the
real database under a frozen clock: a flapping monitor, a site outage (storm), an asset in a maintenance window
and a plain alert, interleaved in an order hypothesis picks (each alert's own events keep their order), then
the window ends, the quiet time passes and a person closes the storm parent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import transaction
from freezegun import freeze_time
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from rmmbridge.alerts.models import (
    AlertEvent,
    AlertState,
    Channel,
    EventStatus,
    FlapTrack,
    MaintenanceWindow,
    NoiseSettings,
    ResolveOutbox,
    StormGroup,
    StormMember,
    Suppression,
)
from rmmbridge.alerts.processing import process_event, store_event
from rmmbridge.integrations.models import ExternalRef, RefKind
from rmmbridge.integrator.tick import release_maintenance
from rmmbridge.servicedesk.actions import Actor, AssetInput, do_upsert_asset
from rmmbridge.tickets.actions import do_close_ticket
from rmmbridge.tickets.models import Ticket

from .conftest import make_desk

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
STEP = timedelta(seconds=5)  # one event every 5 s: a whole run stays inside the 5-minute storm window
STORM_COUNT = 3  # a storm is more than 3 devices of the site offline (kept small so examples stay quick)


@dataclass(frozen=True)
class Event:
    """One webhook body to send: which alert, its state, and the device it is on."""

    uid: str
    state: str
    device: str
    alert_type: str
    message: str

    @property
    def stream(self) -> str:
        """The events whose order is fixed: one device's events (flap cycles share the device)."""
        return self.device

    def body(self) -> bytes:
        return json.dumps({"alertUID": self.uid, "deviceUID": self.device, "deviceHostname": self.device.upper(),
                           "alertType": self.alert_type, "alertMessage": self.message, "priority": "High",
                           "state": self.state}).encode()


@dataclass(frozen=True)
class Scenario:
    flap_cycles: int
    storm_devices: int
    storm_resolves: int
    window_resolves: bool
    plain_resolves: bool

    def streams(self) -> list[list[Event]]:
        flap = [Event(f"flap-{i}", state, "dev-flap", "perf_resource_usage", "CPU above 95%")
                for i in range(self.flap_cycles) for state in ("triggered", "resolved")]
        out = [flap] if flap else []
        for d in range(self.storm_devices):
            events = [Event(f"off-{d}", "triggered", f"dev-s{d}", "online_offline_status", "Device offline")]
            if d < self.storm_resolves:
                events.append(Event(f"off-{d}", "resolved", f"dev-s{d}", "online_offline_status", "Device offline"))
            out.append(events)
        window = [Event("win-1", "triggered", "dev-win", "perf_disk_usage", "Disk C: below 10% free")]
        if self.window_resolves:
            window.append(Event("win-1", "resolved", "dev-win", "perf_disk_usage", "Disk C: below 10% free"))
        out.append(window)
        plain = [Event("plain-1", "triggered", "dev-plain", "antivirus", "Antivirus definitions out of date")]
        if self.plain_resolves:
            plain.append(Event("plain-1", "resolved", "dev-plain", "antivirus", "Antivirus definitions out of date"))
        out.append(plain)
        return out


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    storm_devices = draw(st.integers(0, STORM_COUNT + 3))
    return Scenario(flap_cycles=draw(st.integers(1, 6)), storm_devices=storm_devices,
                    storm_resolves=draw(st.integers(0, storm_devices)), window_resolves=draw(st.booleans()),
                    plain_resolves=draw(st.booleans()))


@st.composite
def interleaving(draw: st.DrawFn, streams: list[list[Event]]) -> list[Event]:
    """A merge of the streams in an order hypothesis picks; each stream keeps its own order."""
    pending = [list(s) for s in streams if s]
    out: list[Event] = []
    while pending:
        index = draw(st.integers(0, len(pending) - 1))
        out.append(pending[index].pop(0))
        if not pending[index]:
            pending.pop(index)
    return out


def _world() -> tuple[Any, MaintenanceWindow]:
    """The desk: every device an asset of one site; the window covers 'dev-win' from before T0 for 30 minutes."""
    desk = make_desk(device_id="dev-flap")
    NoiseSettings.objects.create(flap_count=3, flap_minutes=60, quiet_minutes=30, storm_count=STORM_COUNT,
                                 storm_minutes=5)
    assets = {}
    devices = ["dev-win", "dev-plain"] + [f"dev-s{d}" for d in range(STORM_COUNT + 3)]
    for device in devices:
        asset, _ = do_upsert_asset(Actor.cli("test"), AssetInput(asset_type=desk.asset.asset_type, site=desk.site,
                                                                 name=device.upper()))
        ExternalRef.objects.create(integration=desk.integration, kind=RefKind.ASSET, external_id=device,
                                   object_id=asset.pk, first_seen=T0, last_seen=T0)
        assets[device] = asset
    window = MaintenanceWindow.objects.create(name="Disk swap", scope="asset", asset=assets["dev-win"],
                                              starts=T0 - timedelta(minutes=5), ends=T0 + timedelta(minutes=30))
    return desk, window


def _tickets() -> list[tuple[Any, ...]]:
    """A comparable view of every ticket: what it is, open or closed, occurrences, flapping mark, children.

    A storm child's own ticket (opened before the storm was seen, closed by the grouping or by its resolve) is
    shown only as such: which devices opened one depends on the arrival order, how many (the storm threshold plus
    one) does not.
    """
    flapping = {t.ticket_id: t.flapping for t in FlapTrack.objects.all()}
    parents = set(StormGroup.objects.values_list("ticket_id", flat=True))
    own = set(StormMember.objects.filter(storm__isnull=False).values_list("own_ticket_id", flat=True)) - parents
    view = []
    for ticket in Ticket.objects.all():
        grouped = ticket.pk in own
        children = sorted(m.device for m in StormMember.objects.filter(storm__ticket=ticket))
        resolved = sorted(m.device for m in StormMember.objects.filter(storm__ticket=ticket,
                                                                         state__resolved_at__isnull=False))
        view.append(("a storm child's own ticket", ticket.closed_at is not None) if grouped else
                    (ticket.summary, ticket.closed_at is not None, ticket.occurrences,
                     flapping.get(ticket.pk, False), tuple(children), tuple(resolved)))
    return sorted(view, key=repr)


def _where_each_event_ended() -> list[str]:
    """Every event: its ticket, or the recorded reason no ticket came of it (fails the test when neither)."""
    suppressed_keys = {s.alert_key for s in Suppression.objects.all()}
    lost = []
    for event in AlertEvent.objects.order_by("id"):
        if event.status != EventStatus.PROCESSED:
            lost.append(f"event {event.pk} ({event.summary}) ended {event.status}: {event.reason}")
        elif event.ticket_id is None and not event.reason:
            lost.append(f"event {event.pk} ({event.summary}) has neither a ticket nor a reason")
        elif event.ticket_id is None and not (event.suppressed or event.alert_key in suppressed_keys
                                              or event.reason.startswith("Ignored: ")):
            lost.append(f"event {event.pk} ({event.summary}) opened nothing and says only {event.reason!r}")
    return lost


def _run(order: list[Event]) -> dict[str, Any]:
    """Feed the events in this order through processing, then let the window end and the quiet time pass."""
    with freeze_time(T0) as clock:
        desk, window = _world()
        for n, event in enumerate(order):
            clock.move_to(T0 + n * STEP)
            stored = store_event(Channel.WEBHOOK, event.body(), integration=desk.integration)
            process_event(stored)
        after_batch = _tickets()
        lost = _where_each_event_ended()
        end = max(window.ends, T0 + len(order) * STEP) + timedelta(minutes=31)  # past the window and quiet time
        clock.move_to(end)
        release_maintenance(end)
        settled = _tickets()
        maintenance = Suppression.objects.filter(reason="maintenance").count()
        storm = StormGroup.objects.select_related("ticket").first()
        queued = 0
        if storm is not None and storm.ticket is not None:
            do_close_ticket(Actor.cli("tech"), storm.ticket, note="The line is back.")
            queued = ResolveOutbox.objects.filter(ticket=storm.ticket).count()
        return {"after_batch": after_batch, "settled": settled, "lost": lost, "maintenance": maintenance,
                "resolves_queued_by_closing_the_parent": queued,
                "states": AlertState.objects.count()}


def _in_rolled_back_transaction(order: list[Event]) -> dict[str, Any]:
    with transaction.atomic():
        result = _run(order)
        transaction.set_rollback(True)
    return result


@settings(max_examples=15, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_interleaving_of_the_same_events_gives_the_same_tickets_and_loses_none(data: st.DataObject) -> None:
    scenario = data.draw(scenarios(), label="scenario")
    streams = scenario.streams()
    one_by_one = [event for stream in streams for event in stream]  # each alert's events in a row
    shuffled = data.draw(interleaving(streams), label="interleaving")
    baseline = _in_rolled_back_transaction(one_by_one)
    other = _in_rolled_back_transaction(shuffled)
    assert baseline["lost"] == []
    assert other["lost"] == []
    assert other == baseline
    _expected(scenario, baseline)


def _expected(scenario: Scenario, result: dict[str, Any]) -> None:
    """What the controls promise, independent of the order: the numbers behind the tickets."""
    after = result["after_batch"]
    storm = scenario.storm_devices > STORM_COUNT
    parents = [t for t in after if len(t) > 2 and t[4]]
    assert len(parents) == (1 if storm else 0)
    if storm:
        assert parents[0][0] == f"Harbourview Dental: {scenario.storm_devices} devices offline"
        assert len(parents[0][4]) == scenario.storm_devices
        assert len(parents[0][5]) == scenario.storm_resolves
        assert sum(1 for t in after if t[0] == "a storm child's own ticket") == STORM_COUNT + 1
        assert result["resolves_queued_by_closing_the_parent"] == scenario.storm_devices - scenario.storm_resolves
    flap = [t for t in after if len(t) > 2 and "CPU above 95%" in t[0]]
    assert len(flap) == 1, after  # one ticket however often the monitor flaps
    assert flap[0][2] == scenario.flap_cycles
    assert flap[0][3] is (scenario.flap_cycles > 3)
    assert result["maintenance"] >= 1
    window_tickets = [t for t in result["settled"] if len(t) > 2 and "Disk C" in t[0]]
    assert len(window_tickets) == (0 if scenario.window_resolves else 1)
