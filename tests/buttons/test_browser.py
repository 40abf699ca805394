"""In a real browser: clicking a device button on an asset page opens the device's RMM page in a new tab."""

from __future__ import annotations

from typing import Any

import pytest

from rmmbridge.common.clock import utcnow
from rmmbridge.integrations.models import ExternalRef, Integration

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_clicking_device_in_automate_opens_the_computer_in_a_new_tab(page: Any, live_server: Any) -> None:
    from tests.servicedesk.factories import AssetFactory

    integration = Integration(vendor="cw_automate", name="Automate")
    integration.set_credentials({"server_url": live_server.url, "username": "u", "password": "p", "client_id": "c"})
    integration.save()
    asset = AssetFactory(name="HD WS/01")
    now = utcnow()
    ExternalRef.objects.create(integration=integration, kind="asset", external_id="4711", object_id=asset.pk,
                               first_seen=now, last_seen=now)
    page.goto(f"/assets/{asset.pk}/")
    button = page.get_by_role("button", name="Device in Automate")
    assert button.get_attribute("target") == "_blank"
    assert button.get_attribute("rel") == "noopener noreferrer"
    with page.context.expect_page() as opened:
        button.click()
    tab = opened.value
    tab.wait_for_load_state()
    assert tab.url.startswith(f"{live_server.url}/automate/computer/4711")
    assert tab.evaluate("window.opener") is None  # rel=noopener: the RMM page cannot script this one
    assert page.url.endswith(f"/assets/{asset.pk}/")  # the asset stays open in its own tab
