"""In a real browser: ticket list → open the alert ticket → close it → the status and the RMM resolve are shown."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from rmmbridge.alerts.outbox import deliver_due
from rmmbridge.alerts.polling import poll_alerts
from rmmbridge.connectors.testing.server import serve_emulator
from rmmbridge.tickets.models import Ticket

from .conftest import make_desk

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_close_alert_ticket_resolves_in_the_rmm(page: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from playwright.sync_api import expect

    monkeypatch.setenv("RMMBRIDGE_OUTBOX_BACKOFF_SECONDS", "0")
    with serve_emulator("datto_rmm", devices=5, alerts=0, customers=1) as emulator:
        device = emulator.state.device_at(0)
        assert device is not None
        desk = make_desk(device_id=device.id, credentials=dict(emulator.credentials))
        alert_id = httpx.post(f"{emulator.url}/_emulator/alerts",
                              json={"device_id": device.id, "message": "Disk C: below 10% free"}).json()["alert_id"]
        assert poll_alerts(int(desk.integration.pk)).opened == 1
        ticket = Ticket.objects.get()

        page.goto("/tickets/")
        row = page.locator(f"tr[data-ticket='{ticket.pk}']")
        expect(row).to_contain_text(alert_id)
        row.get_by_role("link", name=re.compile("Disk C")).click()
        page.wait_for_url(re.compile(rf"/tickets/{ticket.pk}/$"))
        panel = page.get_by_test_id("rmm-alert")
        expect(panel).to_contain_text(alert_id)
        expect(panel).to_contain_text("Open in the RMM")

        page.get_by_label("Closing note").fill("Freed 20 GB")
        page.get_by_role("button", name="Close ticket").click()
        expect(page.get_by_test_id("ticket-status")).to_have_text("Closed")
        expect(panel).to_contain_text("Closed here")  # the panel refreshes itself (HTMX)
        expect(panel.locator(".resolve-status")).to_contain_text("Pending")

        assert deliver_due() == 1
        expect(panel.locator(".resolve-status")).to_contain_text("Delivered")
        calls = httpx.get(f"{emulator.url}/_emulator/resolve-calls").json()
        assert [c["alert_id"] for c in calls] == [alert_id]
