"""In a real browser: edit an event rule, test it against the last events (HTMX preview), save it."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from rmmbridge.alerts.models import EventRule
from rmmbridge.alerts.polling import poll_alerts
from rmmbridge.connectors.testing.server import serve_emulator
from rmmbridge.tickets.models import Ticket

from .conftest import make_desk

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_edit_a_rule_and_preview_it(page: Any) -> None:
    from playwright.sync_api import expect

    with serve_emulator("datto_rmm", devices=5, alerts=0, customers=1) as emulator:
        device = emulator.state.device_at(0)
        assert device is not None
        desk = make_desk(device_id=device.id, credentials=dict(emulator.credentials))
        httpx.post(f"{emulator.url}/_emulator/alerts",
                   json={"device_id": device.id, "message": "Disk C: below 10% free"})
        assert poll_alerts(int(desk.integration.pk)).opened == 1
        rule = EventRule.objects.create(name="Printers", text_match="contains", text="toner", outcome="ignore")

        page.goto("/alerts/event-rules/")
        page.get_by_role("link", name="Printers").click()
        page.wait_for_url(re.compile(rf"/alerts/event-rules/{rule.pk}/$"))
        preview = page.locator("#preview")
        page.get_by_role("button", name=re.compile("Test this rule")).click()
        expect(preview).to_contain_text("matches 0 of the last 1 events")

        page.get_by_role("textbox", name="Text:", exact=True).fill("disk c:")
        page.get_by_role("button", name=re.compile("Test this rule")).click()
        expect(preview).to_contain_text("matches 1 of the last 1 events")
        expect(preview).to_contain_text("Disk C")

        page.get_by_role("textbox", name="Text:", exact=True).fill("(")
        page.get_by_label("Message text match:").select_option("regex")
        page.get_by_role("button", name=re.compile("Test this rule")).click()
        expect(preview).to_contain_text("Not a regular expression")

        page.get_by_role("textbox", name="Text:", exact=True).fill(r"below \d+% free")
        page.get_by_role("button", name="Save").click()
        page.wait_for_url(re.compile(r"/alerts/event-rules/$"))
        expect(page.get_by_role("row", name=re.compile("Printers"))).to_contain_text("matches regular expression")
    rule.refresh_from_db()
    assert (rule.text_match, rule.text) == ("regex", r"below \d+% free")
    assert Ticket.objects.count() == 1
