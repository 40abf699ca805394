"""In a real browser: the Datto RMM Alerting page shows the webhook template with Datto's variables."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.alerts.conftest import make_desk

from rmmbridge.connectors.datto_rmm.alerts import RESOLVED_TEMPLATE, WEBHOOK_TEMPLATE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_alerting_page_shows_the_webhook_template(page: Any) -> None:
    from playwright.sync_api import expect

    desk = make_desk()
    page.goto(f"/alerts/integration/{desk.integration.pk}/")
    section = page.get_by_label("Webhook template")
    expect(section).to_be_visible()
    blocks = section.locator("pre code")
    expect(blocks).to_have_count(2)
    assert json.loads(blocks.nth(0).inner_text()) == WEBHOOK_TEMPLATE
    assert json.loads(blocks.nth(1).inner_text()) == RESOLVED_TEMPLATE
    expect(section).to_contain_text("answered 200 and recorded as a test")
