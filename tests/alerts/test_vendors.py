"""Per-vendor alerting: Addigy's webhook challenge, ConnectWise Automate's alert e-mails, each vendor's channels."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from rmmbridge.alerts.intake.smtp import SMTPReceiver
from rmmbridge.alerts.models import AlertEvent, AlertState, EmailRule, EventStatus
from rmmbridge.alerts.setup import enable_alerting, vendor_channels
from rmmbridge.connectors.addigy.const import VALIDATION_HEADER
from rmmbridge.connectors.testing.server import RunningEmulator, serve_emulator
from rmmbridge.integrations.actions import do_create_integration
from rmmbridge.integrations.models import ExternalRef, Integration, RefKind
from rmmbridge.servicedesk.actions import Actor, do_create_customer, do_create_end_user
from rmmbridge.servicedesk.models import Asset
from rmmbridge.sync.runner import run_sync
from rmmbridge.tickets.actions import do_create_ticket_type
from rmmbridge.tickets.choices import TicketStatus
from rmmbridge.tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)


def control(emulator: RunningEmulator, path: str, **body: Any) -> Any:
    answer = httpx.post(f"{emulator.url}/_emulator{path}", json=body, timeout=20)
    assert answer.status_code < 300, answer.text
    return answer.json()


# Addigy: the webhook validation challenge ------------------------------------------------------------------


@pytest.fixture
def addigy() -> Iterator[RunningEmulator]:
    with serve_emulator("addigy", devices=4, alerts=0, customers=1) as running:
        yield running


def _addigy_integration(emulator: RunningEmulator) -> Integration:
    integration = do_create_integration(Actor.cli("test"), "addigy", "Addigy", dict(emulator.credentials),
                                        test=False)
    enable_alerting(integration)
    return integration


def test_addigy_challenge_is_echoed_for_the_right_url_only(addigy: RunningEmulator, live_server: Any) -> None:
    integration = _addigy_integration(addigy)
    config = integration.alerting
    url = f"{live_server.url}/hooks/addigy/{config.webhook_token}/"
    answer = control(addigy, "/addigy/webhook-challenge", url=url)
    assert answer == {"status": 200, "validated": True}
    # With the webhook's custom secret header, too; a wrong secret is refused.
    assert control(addigy, "/addigy/webhook-challenge", url=url, secret=config.webhook_secret)["validated"]
    wrong = control(addigy, "/addigy/webhook-challenge", url=url, secret="not-the-secret")
    assert wrong == {"status": 401, "validated": False}
    # A wrong URL token is not answered.
    bad_url = f"{live_server.url}/hooks/addigy/not-a-token/"
    assert control(addigy, "/addigy/webhook-challenge", url=bad_url) == {"status": 404, "validated": False}
    # Nothing was stored: no event, no ticket, no alert state.
    assert (AlertEvent.objects.count(), Ticket.objects.count(), AlertState.objects.count()) == (0, 0, 0)


def test_addigy_challenge_is_answered_before_alerting_is_switched_on(addigy: RunningEmulator,
                                                                     live_server: Any) -> None:
    integration = _addigy_integration(addigy)
    config = integration.alerting
    config.enabled = False
    config.save()
    answer = httpx.post(f"{live_server.url}/hooks/addigy/{config.webhook_token}/", content=b"{}",
                        headers={VALIDATION_HEADER: "tok-123"}, timeout=10)
    assert answer.status_code == 200
    assert answer.headers[VALIDATION_HEADER] == "tok-123"
    assert "tok-123" in answer.text
    assert AlertEvent.objects.count() == 0


def test_the_challenge_header_means_nothing_to_other_vendors(live_server: Any) -> None:
    integration = Integration(vendor="datto_rmm", name="Datto")
    integration.save()
    config = enable_alerting(integration)
    answer = httpx.post(f"{live_server.url}/hooks/datto_rmm/{config.webhook_token}/", content=b"{}",
                        headers={VALIDATION_HEADER: "tok-1"}, timeout=10)
    assert answer.status_code == 401
    assert AlertEvent.objects.count() == 0


# ConnectWise Automate: alert e-mails -------------------------------------------------------------------------


@pytest.fixture
def automate() -> Iterator[RunningEmulator]:
    with serve_emulator("cw_automate", devices=8, alerts=0, customers=2) as running:
        yield running


def test_automate_alert_mail_opens_on_the_synced_asset_and_success_closes(automate: RunningEmulator) -> None:
    actor = Actor.cli("test")
    integration = do_create_integration(actor, "cw_automate", "Automate", dict(automate.credentials), test=False)
    run = run_sync(integration.pk)
    assert run.status == "success", run.errors
    catchall = do_create_end_user(actor, do_create_customer(actor, "Alert Catchall").main_site, "New Alert User")
    sender = automate.state.alert_sender
    enable_alerting(integration, ticket_type=do_create_ticket_type(actor, "Automate alert"), from_address=sender,
                    new_alert_user=catchall)
    rule = EmailRule.objects.get(integration=integration)
    assert (rule.name, rule.from_address, rule.alert_id_pattern) == ("ConnectWise Automate Alerts", sender, "")
    device = next(d for d in automate.state.iter_devices() if ExternalRef.objects.filter(
        integration=integration, kind=RefKind.ASSET, external_id=d.id).exists())
    asset = Asset.objects.get(pk=ExternalRef.objects.get(integration=integration, kind=RefKind.ASSET,
                                                         external_id=device.id).object_id)
    alert_id = control(automate, "/alerts", device_id=device.id, alert_type="online_offline_status")["alert_id"]
    with SMTPReceiver("127.0.0.1", 0) as receiver:
        where = {"smtp_host": "127.0.0.1", "smtp_port": receiver.port, "to": "alerts@desk.example"}
        sent = control(automate, "/send-alert-email", alert_id=alert_id, **where)
        assert " FAILED on " in sent["subject"]
        ticket = Ticket.objects.get()
        assert ticket.assets.get() == asset
        assert ticket.customer == asset.customer
        assert ticket.ticket_type.name == "Automate alert"
        assert ticket.alert_key == f"{device.hostname.lower()} + agent offline"
        # The monitor trips again: a note and a count on the same ticket.
        control(automate, "/send-alert-email", alert_id=alert_id, **where)
        assert Ticket.objects.count() == 1
        ticket.refresh_from_db()
        assert ticket.occurrences == 2
        # The monitor recovers: Automate mails SUCCESS, which closes the ticket.
        control(automate, f"/alerts/{alert_id}/resolve")
        recovered = control(automate, "/send-alert-email", alert_id=alert_id, **where)
        assert " SUCCESS on " in recovered["subject"]
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CLOSED
    assert AlertState.objects.get(ticket=ticket).resolved_at is not None
    assert Ticket.objects.count() == 1


def test_automate_mail_from_another_sender_opens_nothing(automate: RunningEmulator) -> None:
    integration = do_create_integration(Actor.cli("test"), "cw_automate", "Automate", dict(automate.credentials),
                                        test=False)
    enable_alerting(integration, from_address="automate@other.example")
    device = automate.state.device_at(0)
    assert device is not None
    alert_id = control(automate, "/alerts", device_id=device.id, alert_type="perf_resource_usage")["alert_id"]
    with SMTPReceiver("127.0.0.1", 0) as receiver:
        control(automate, "/send-alert-email", alert_id=alert_id, smtp_host="127.0.0.1", smtp_port=receiver.port,
                to="alerts@desk.example")
    event = AlertEvent.objects.get()
    assert event.status == EventStatus.REJECTED
    assert "does not match the from address" in event.reason
    assert Ticket.objects.count() == 0


# Every vendor: channels and resolve on the setup page -----------------------------------------------------------


@pytest.mark.parametrize(("vendor", "channels", "resolves", "rule"), [
    ("datto_rmm", "E-mail, Webhook, Polling", True, True),
    ("ninjaone", "Webhook, Polling", True, False),
    ("atera", "Polling", True, False),
    ("ncentral", "Webhook, Polling", False, False),
    ("addigy", "Webhook, Polling", False, False),
    ("cw_automate", "E-mail, Polling", False, True),
])
def test_setup_page_says_which_channels_apply(admin_client: Any, vendor: str, channels: str, resolves: bool,
                                              rule: bool) -> None:
    integration = Integration(vendor=vendor, name=f"RMM {vendor}")
    integration.save()
    enable_alerting(integration)
    assert ", ".join(vendor_channels(vendor).labels) == channels
    assert EmailRule.objects.filter(integration=integration).exists() is rule
    page = admin_client.get(f"/alerts/integration/{integration.pk}/").content.decode()
    assert f"<strong>{channels}</strong>" in page
    assert ("Closing a ticket resolves the alert in the RMM." in page) is resolves
    assert ("cannot resolve alerts" in page) is not resolves
    assert ("<h2>Webhook</h2>" in page) is ("Webhook" in channels)
