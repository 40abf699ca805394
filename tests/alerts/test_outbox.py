"""The resolve outbox against two Datto RMM emulators over HTTP: vendors are independent, delivered rows are clean."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from rmmbridge.alerts.models import OutboxStatus, ResolveOutbox
from rmmbridge.alerts.outbox import deliver_due
from rmmbridge.common.clock import utcnow
from rmmbridge.connectors.testing.server import RunningEmulator, serve_emulator
from rmmbridge.integrations.models import Integration

pytestmark = pytest.mark.django_db(transaction=True)

SLOW_SECONDS = 1.0


@pytest.fixture
def two_rmms() -> Iterator[tuple[RunningEmulator, RunningEmulator]]:
    with serve_emulator("datto_rmm", devices=3, alerts=0, customers=1) as slow, \
            serve_emulator("datto_rmm", devices=3, alerts=0, customers=1, seed=2) as fast:
        yield slow, fast


def _control(emulator: RunningEmulator, method: str, path: str, **kwargs: Any) -> Any:
    answer = httpx.request(method, f"{emulator.url}/_emulator{path}", timeout=10, **kwargs)
    answer.raise_for_status()
    return answer.json() if answer.content else None


def _alert(emulator: RunningEmulator) -> str:
    device = emulator.state.device_at(0)
    assert device is not None
    return str(_control(emulator, "POST", "/alerts", json={"device_id": device.id, "message": "Disk full"})["alert_id"])


def _integration(emulator: RunningEmulator, name: str) -> Integration:
    integration = Integration(vendor="datto_rmm", name=name)
    integration.set_credentials(dict(emulator.credentials))
    integration.save()
    return integration


def _queue(integration: Integration, external_id: str, **fields: Any) -> ResolveOutbox:
    now = utcnow()
    return ResolveOutbox.objects.create(integration=integration, external_id=external_id,
                                        next_attempt_at=now - timedelta(seconds=1), created_at=now, **fields)


def test_one_slow_vendor_does_not_delay_another_vendors_resolves(
    two_rmms: tuple[RunningEmulator, RunningEmulator],
) -> None:
    slow, fast = two_rmms
    slow_integration, fast_integration = _integration(slow, "Slow RMM"), _integration(fast, "Fast RMM")
    _control(slow, "POST", "/faults", json={"spec": f"slow:POST:/api/v2/alert/*:times=0,delay={SLOW_SECONDS}"})
    slow_rows = [_queue(slow_integration, _alert(slow)) for _ in range(3)]
    fast_row = _queue(fast_integration, _alert(fast))  # queued last: behind all of the slow vendor's rows
    started = utcnow()
    assert deliver_due() == 4
    fast_row.refresh_from_db()
    assert fast_row.status == OutboxStatus.DELIVERED
    assert fast_row.delivered_at is not None
    assert (fast_row.delivered_at - started).total_seconds() < SLOW_SECONDS
    last_slow = max(ResolveOutbox.objects.filter(pk__in=[r.pk for r in slow_rows]).values_list("delivered_at",
                                                                                               flat=True))
    assert (last_slow - started).total_seconds() >= 3 * SLOW_SECONDS  # its own rows still go one by one


def test_a_delivered_row_keeps_no_error_text_of_earlier_attempts(
    two_rmms: tuple[RunningEmulator, RunningEmulator], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RMMBRIDGE_OUTBOX_BACKOFF_SECONDS", "0")
    rmm = two_rmms[0]
    integration = _integration(rmm, "Datto")
    alert_id = _alert(rmm)
    _control(rmm, "POST", "/faults", json={"spec": f"500:POST:/api/v2/alert/{alert_id}/resolve:times=1"})
    row = _queue(integration, alert_id)
    assert deliver_due() == 0
    row.refresh_from_db()
    assert row.status == OutboxStatus.PENDING
    assert "500" in row.last_error or "Unavailable" in row.last_error
    assert deliver_due() == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.DELIVERED, 2)
    assert row.last_error == ""
