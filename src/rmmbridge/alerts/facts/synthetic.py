"""Facts of a synthetic test event (the 'Create test ticket' button of the alerting setup)."""

from __future__ import annotations

from rmmbridge.alerts.decide import EventKind
from rmmbridge.alerts.facts.base import AlertFacts, RejectEvent
from rmmbridge.alerts.models import AlertEvent, EventStatus


def test_facts(event: AlertEvent) -> list[AlertFacts]:
    """One trigger keyed by the event, for the integration that asked for it."""
    integration = event.integration
    if integration is None:
        raise RejectEvent(EventStatus.ERROR, "A test event needs an integration.")
    return [AlertFacts(
        kind=EventKind.TRIGGER,
        key=f"test-{event.pk}",
        integration=integration,
        occurrence_id=f"test-{event.pk}",
        condition="Test alert",
        message=f"Test ticket created from the alerting setup of {integration.name}.",
        summary=f"Test alert from {integration.name}",
    )]
