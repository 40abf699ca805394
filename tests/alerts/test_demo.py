"""The alerts demo step after the sync demo: an emulated alert becomes a ticket; closing it resolves it."""

from __future__ import annotations

import io
from collections.abc import Iterator

import httpx
import pytest

from rmmbridge.alerts import demo
from rmmbridge.alerts.models import AlertingConfig, OutboxStatus, ResolveOutbox
from rmmbridge.servicedesk import demo as servicedesk_demo
from rmmbridge.sync import demo as sync_demo
from rmmbridge.tickets import demo as tickets_demo

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo_world() -> Iterator[None]:
    out = io.StringIO()
    servicedesk_demo.run(out)
    sync_demo.run(out)
    tickets_demo.run(out)
    try:
        yield
    finally:
        sync_demo.stop_all()


def test_demo_step_resolves_an_alert_in_each_emulator_and_runs_twice(demo_world: None) -> None:
    out = io.StringIO()
    demo.run(out)
    text = out.getvalue()
    assert text.count("Delivered and recorded by the emulator") == 2, text
    assert AlertingConfig.objects.filter(enabled=True).count() == 2
    rows = list(ResolveOutbox.objects.all())
    assert [r.status for r in rows] == [OutboxStatus.DELIVERED, OutboxStatus.DELIVERED]
    for emulator in sync_demo.running().values():
        calls = httpx.get(f"{emulator.url}/_emulator/resolve-calls").json()
        assert len(calls) == 1
    again = io.StringIO()
    demo.run(again)
    assert "already shown" in again.getvalue()
    assert ResolveOutbox.objects.count() == 2
