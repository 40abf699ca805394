"""A group of SMTP events applied in one transaction: one failing event rolls the group back, then each is applied
on its own, so the failure is recorded with that event alone and every other event still becomes its ticket."""

from __future__ import annotations

from typing import Any

import pytest

from rmmbridge.alerts import processing
from rmmbridge.alerts.intake.smtp import _process_batch
from rmmbridge.alerts.models import AlertEvent, AlertState, Channel, EventStatus
from rmmbridge.alerts.processing import store_event
from rmmbridge.tickets.models import Ticket

from .conftest import datto_mail, make_desk


@pytest.mark.django_db(transaction=True)
def test_one_failing_event_in_a_group_costs_only_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    make_desk()
    held = processing.noise_hooks.maintenance_hold

    def fails_for_one_alert(facts: Any, *args: Any, **kwargs: Any) -> Any:
        if facts.key == "g-bad":  # an unexpected error while applying this alert (fault injected)
            raise RuntimeError("disk full while writing the alert")
        return held(facts, *args, **kwargs)

    monkeypatch.setattr(processing.noise_hooks, "maintenance_hold", fails_for_one_alert)
    uids = ["g-1", "g-2", "g-bad", "g-3", "g-4"]
    events = [store_event(Channel.SMTP, datto_mail(uid, reason=f"Check {uid} failed")) for uid in uids]
    outcomes = _process_batch(events)
    by_uid = dict(zip(uids, outcomes, strict=True))
    assert by_uid["g-bad"].status == EventStatus.ERROR
    assert "disk full" in by_uid["g-bad"].reason
    assert all(by_uid[uid].status == EventStatus.PROCESSED for uid in uids if uid != "g-bad")
    stored = {e.alert_key or e.pk: e for e in AlertEvent.objects.all()}
    assert {e.status for e in stored.values()} == {EventStatus.PROCESSED, EventStatus.ERROR}
    assert sorted(Ticket.objects.values_list("alert_key", flat=True)) == ["g-1", "g-2", "g-3", "g-4"]
    assert not AlertState.objects.filter(key="g-bad").exists()  # nothing half-written for the failed alert
    assert AlertState.objects.count() == 4
