"""The health page in a real browser: an open problem with its evidence and a link that leads to the fix."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.browser


def test_health_page_shows_the_problem_and_links_to_the_fix(page: Any, settings: Any) -> None:
    from rmmbridge.integrations.models import Integration
    from rmmbridge.integrator.integration_health import evaluate_and_notify

    settings.HEALTH_WEBHOOK_URL, settings.EMAIL_HOST = "", ""
    integration = Integration.objects.create(vendor="datto_rmm", name="Browser RMM", status="needs_reauth",
                                             last_error="401: the API key was revoked")
    evaluate_and_notify()
    page.goto("/ops/health/")
    row = page.locator("table.problems tbody tr")
    assert row.count() == 1
    assert "Browser RMM: the RMM rejected the credentials" in row.inner_text()
    assert "401: the API key was revoked" in row.inner_text()
    row.locator("text=Fix it").click()
    page.wait_for_url(f"**/integrations/{integration.pk}/")
