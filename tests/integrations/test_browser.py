"""In a real browser: enable Datto RMM, add an integration through the dialog, press Test credentials."""

from __future__ import annotations

from typing import Any

import pytest

from rmmbridge.integrations.models import Integration


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_add_integration_and_test_credentials(page: Any, datto_creds: dict[str, str]) -> None:
    page.goto("/integrations/")
    page.get_by_role("button", name="Enable Datto RMM").click()
    page.get_by_role("button", name="Add Datto RMM integration").click()
    dialog = page.locator("dialog#add-datto_rmm")
    dialog.locator("input[name='datto_rmm-integration_name']").fill("Browser Datto")
    for key, value in datto_creds.items():
        dialog.locator(f"input[name='datto_rmm-{key}']").fill(value)
    dialog.get_by_role("button", name="Test and save").click()
    page.wait_for_url("**/integrations/*/")
    integration = Integration.objects.get(name="Browser Datto")
    assert page.locator("#integration-facts").get_by_text("OK").is_visible()
    assert datto_creds["api_secret"] not in page.content()

    page.get_by_role("button", name="Test credentials").click()
    result = page.locator("#test-result")
    result.get_by_text("Validation successful").wait_for()
    assert integration.account_name in result.inner_text() or integration.account_name in page.content()

    # A typo in the secret is rejected inline and the stored one kept.
    page.locator("input[name='api_secret']").fill("typo-in-the-secret")
    page.get_by_role("button", name="Test credentials").click()
    result.get_by_text("Validation failed – 401 Unauthorized").wait_for()
    integration.refresh_from_db()
    assert integration.get_credentials()["api_secret"] == datto_creds["api_secret"]
