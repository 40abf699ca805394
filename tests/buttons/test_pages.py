"""Device buttons on pages: vendor defaults, the settings page, the asset and ticket pages, an Automate sync."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from tests.servicedesk.factories import AssetFactory

from rmmbridge.buttons.models import DeviceButton
from rmmbridge.common.clock import utcnow
from rmmbridge.connectors.testing.server import RunningEmulator, serve_emulator
from rmmbridge.integrations import actions
from rmmbridge.integrations.models import ExternalRef, Integration
from rmmbridge.servicedesk.actions import Actor
from rmmbridge.servicedesk.models import Asset, AuditEntry
from rmmbridge.sync.runner import run_sync
from rmmbridge.tickets.actions import do_create_ticket_type, do_open_ticket

pytestmark = pytest.mark.django_db

CONTROL = "4da1ae45-1be1-4683-b71e-fed1bfc01788"


def links(page: str) -> dict[str, str]:
    """label → href of each device button, exactly as a browser reads them."""
    found = re.findall(r'<a href="([^"]*)" target="_blank" rel="noopener noreferrer"[^>]*class="[^"]*device-button'
                       r'[^"]*"[^>]*>([^<]*)</a>', page)
    return {html.unescape(label): html.unescape(href) for href, label in found}


def linked_asset(vendor: str, credentials: dict[str, str], external_id: str, **asset: Any) -> tuple[Integration, Asset]:
    integration = Integration(vendor=vendor, name=f"{vendor} one")
    integration.set_credentials(credentials)
    integration.save()
    item = AssetFactory(**asset)
    now = utcnow()
    ExternalRef.objects.create(integration=integration, kind="asset", external_id=external_id, object_id=item.pk,
                               first_seen=now, last_seen=now)
    return integration, item


def test_new_integrations_get_their_vendor_s_defaults(db: Any) -> None:
    automate = Integration.objects.create(vendor="cw_automate", name="Automate")
    ninja = Integration.objects.create(vendor="ninjaone", name="Ninja")
    atera = Integration.objects.create(vendor="atera", name="Atera")
    assert list(automate.device_buttons.values_list("label", flat=True)) == ["Device in Automate", "Control"]
    assert list(ninja.device_buttons.values_list("url_template", flat=True)) == [
        "{base_url}/#/deviceDashboard/{rmm_id}/overview"]
    assert not atera.device_buttons.exists()


def test_asset_page_shows_encoded_buttons_in_a_new_tab(admin_client: Client) -> None:
    integration, item = linked_asset("ninjaone", {"instance_url": "https://eu.ninjarmm.com", "client_id": "c"}, "77",
                                     name="Büro & Lab/2")
    DeviceButton.objects.create(integration=integration, label="Search", position=9,
                                url_template="https://search.example/?q={hostname}&id={rmm_id}")
    page = admin_client.get(f"/assets/{item.pk}/").content.decode()
    assert links(page) == {
        "Device in NinjaOne": "https://eu.ninjarmm.com/#/deviceDashboard/77/overview",
        "Search": "https://search.example/?q=B%C3%BCro%20%26%20Lab%2F2&id=77",
    }
    assert 'href="https://search.example/?q=B%C3%BCro%20%26%20Lab%2F2&amp;id=77"' in page  # HTML-escaped too


def test_a_button_without_its_value_is_shown_unavailable(admin_client: Client) -> None:
    _integration, item = linked_asset("datto_rmm", {"api_url": "https://merlot-api.centrastage.net"}, "uid-1")
    page = admin_client.get(f"/assets/{item.pk}/").content.decode()
    assert links(page) == {}
    assert "Device in Datto RMM (unavailable)" in page
    assert "no value for portalUrl" in page


def test_datto_buttons_use_the_mapped_portal_url(admin_client: Client) -> None:
    from tests.servicedesk.factories import FieldDefinitionFactory

    from rmmbridge.sync.models import FieldMapping

    FieldDefinitionFactory(name="portal_url", label="Portal URL")
    integration, item = linked_asset("datto_rmm", {"api_url": "https://merlot-api.centrastage.net"}, "uid-1",
                                     values={"portal_url": "https://merlot.centrastage.net/csm/search?qs=uid%3Auid-1"})
    FieldMapping.objects.create(integration=integration, source="portalUrl", target="portal_url")
    page = admin_client.get(f"/assets/{item.pk}/").content.decode()
    assert links(page)["Device in Datto RMM"] == "https://merlot.centrastage.net/csm/search?qs=uid%3Auid-1"


def test_settings_page_adds_edits_removes_and_refuses_javascript(admin_client: Client) -> None:
    integration = Integration.objects.create(vendor="cw_automate", name="Automate")
    detail = admin_client.get(f"/integrations/{integration.pk}/").content.decode()
    assert f'href="/integrations/{integration.pk}/buttons/"' in detail
    page = admin_client.get(f"/integrations/{integration.pk}/buttons/").content.decode()
    assert "Device in Automate" in page
    assert CONTROL in page
    refused = admin_client.post(f"/integrations/{integration.pk}/buttons/add/",
                                {"label": "Evil", "url_template": "javascript:alert(1)"}, follow=True)
    assert "Only http:// and https:// links are allowed; &#x27;javascript:&#x27; is not." in refused.content.decode()
    assert not DeviceButton.objects.filter(label="Evil").exists()
    admin_client.post(f"/integrations/{integration.pk}/buttons/add/",
                      {"label": "Docs", "url_template": "https://docs.example/{serial}"})
    docs = DeviceButton.objects.get(label="Docs")
    assert docs.position == 3
    control = DeviceButton.objects.get(label="Control")
    admin_client.post(f"/integrations/{integration.pk}/buttons/{control.pk}/",
                      {"label": "ScreenConnect", "url_template": "javascript:void(0)"})
    control.refresh_from_db()
    assert control.label == "Control"  # the whole edit is refused, nothing stored is lost
    admin_client.post(f"/integrations/{integration.pk}/buttons/{control.pk}/",
                      {"label": "ScreenConnect", "url_template": control.url_template})
    control.refresh_from_db()
    assert control.label == "ScreenConnect"
    admin_client.post(f"/integrations/{integration.pk}/buttons/{control.pk}/delete/")
    assert not DeviceButton.objects.filter(pk=control.pk).exists()
    admin_client.post(f"/integrations/{integration.pk}/buttons/defaults/")
    assert DeviceButton.objects.filter(integration=integration, label="Control").count() == 1
    actions_seen = set(AuditEntry.objects.filter(object_type="devicebutton").values_list("action", "source"))
    assert {("create", "ui"), ("update", "ui"), ("delete", "ui")} <= actions_seen


@pytest.fixture
def automate() -> Iterator[RunningEmulator]:
    with serve_emulator("cw_automate", seed=2, customers=2, devices=6, alerts=0) as emulator:
        yield emulator


@pytest.mark.django_db(transaction=True)
def test_an_asset_synced_from_automate_shows_device_and_control_buttons(automate: RunningEmulator,
                                                                        admin_client: Client) -> None:
    integration = actions.do_create_integration(Actor.cli("t"), "cw_automate", "Automate",
                                                dict(automate.credentials), test=False)
    assert run_sync(integration.pk).status == "success"
    ref = ExternalRef.objects.filter(integration=integration, kind="asset").order_by("id").first()
    assert ref is not None
    server = automate.credentials["server_url"].rstrip("/")
    page = admin_client.get(f"/assets/{ref.object_id}/").content.decode()
    assert links(page) == {
        "Device in Automate": f"{server}/automate/computer/{ref.external_id}",
        "Control": f"{server}/extensions/{CONTROL}/launchproxy.html?i={ref.external_id}",
    }
    asset = Asset.objects.get(pk=ref.object_id)
    ticket_type = do_create_ticket_type(Actor.cli("t"), "RMM Alert")
    ticket = do_open_ticket(Actor.cli("t"), summary="Disk full", ticket_type=ticket_type, customer=asset.customer,
                            assets=[asset], source="poll", alert_key="a-1")
    ticket_page = admin_client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert links(ticket_page)["Control"] == f"{server}/extensions/{CONTROL}/launchproxy.html?i={ref.external_id}"
