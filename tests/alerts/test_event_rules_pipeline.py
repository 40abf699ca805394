"""Event rules in the pipeline, against the NinjaOne emulator over HTTP: suppressions recorded, overrides applied."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.alerts.test_ninjaone_atera import asset_of, fast_retries, synced_with_alerting

from rmmbridge.alerts.event_rules import RuleDecision, RuleOutcome
from rmmbridge.alerts.models import AlertEvent, Channel, EventRule
from rmmbridge.alerts.polling import poll_alerts
from rmmbridge.alerts.rule_store import assignee, preview, spec_of
from rmmbridge.connectors.testing.server import RunningEmulator, serve_emulator
from rmmbridge.integrator.exposition import render
from rmmbridge.tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["fast_retries"]


@pytest.fixture
def ninjaone() -> Iterator[RunningEmulator]:
    with serve_emulator("ninjaone", seed=5, customers=3, devices=24, alerts=6) as running:
        yield running


def test_rules_suppress_with_their_reason_and_override_the_priority(ninjaone: RunningEmulator) -> None:
    integration, _ = synced_with_alerting(ninjaone, "ninjaone")
    alerts = ninjaone.state.open_alerts()
    quiet = asset_of(integration, alerts[0].device_id).customer
    ignore = EventRule.objects.create(name="Quiet customer", order=10, integration=integration, customer=quiet,
                                      outcome="ignore")
    EventRule.objects.create(name="Everything else is urgent", order=1, outcome="open_ticket", priority=1)
    result = poll_alerts(integration.pk)
    assert result.ok, result.message
    quiet_ids = {a.id for a in alerts if asset_of(integration, a.device_id).customer_id == quiet.pk}
    others = [a for a in alerts if a.id not in quiet_ids]
    assert quiet_ids
    assert others
    assert not Ticket.objects.filter(alert_key__in=quiet_ids).exists()
    assert {t.priority for t in Ticket.objects.filter(alert_key__in=[a.id for a in others])} == {1}
    assert result.opened == len(others)
    event = AlertEvent.objects.get(channel=Channel.POLL)
    assert "Suppressed by event rule 'Quiet customer'" in event.reason
    assert event.rule_view["customer_id"] is not None
    metrics = render()
    assert 'rmmbridge_event_rule_hits{rule="' in metrics
    # The preview reads what the last events' alerts looked like: this poll's alerts include the quiet customer.
    previewed = preview(spec_of(ignore))
    assert previewed
    assert previewed[0][0] == event.pk


def test_a_note_only_rule_opens_no_ticket_and_says_so(ninjaone: RunningEmulator) -> None:
    integration, _ = synced_with_alerting(ninjaone, "ninjaone")
    EventRule.objects.create(name="Notes only", integration=integration, outcome="note_only")
    result = poll_alerts(integration.pk)
    assert result.ok, result.message
    assert result.opened == 0
    assert not Ticket.objects.exists()
    event = AlertEvent.objects.get(channel=Channel.POLL)
    assert event.suppressed == "note_only"
    assert "only adds notes to an open ticket" in event.reason
    assert 'rmmbridge_alert_suppressions{reason="note_only"} 1' in render()


def test_a_rule_assigns_the_tickets_it_opens_and_a_deactivated_user_leaves_them_unassigned(
        ninjaone: RunningEmulator) -> None:
    from django.contrib.auth import get_user_model

    integration, _ = synced_with_alerting(ninjaone, "ninjaone")
    alerts = ninjaone.state.open_alerts()
    dana = get_user_model().objects.create_user("dana", password="x", is_staff=True)
    first = asset_of(integration, alerts[0].device_id).customer
    EventRule.objects.create(name="First customer to Dana", order=1, integration=integration, customer=first,
                             assign_to=dana)
    result = poll_alerts(integration.pk)
    assert result.ok, result.message
    mine = {a.id for a in alerts if asset_of(integration, a.device_id).customer_id == first.pk}
    assert mine
    assert mine != {a.id for a in alerts}
    assigned = Ticket.objects.filter(alert_key__in=mine)
    assert assigned.count() == len(mine)
    assert {t.assigned_to_id for t in assigned} == {dana.pk}
    assert not Ticket.objects.exclude(alert_key__in=mine).filter(assigned_to__isnull=False).exists()
    # A rule whose user was deactivated since still opens its tickets, unassigned (no alert is lost).
    dana.is_active = False
    dana.save()
    assert assignee(RuleDecision(RuleOutcome.OPEN_TICKET, 1, "r", assign_to_id=dana.pk)) is None
