"""Alerting pages (setup, rules, upload, events) and the `alerts` / `mail` CLI."""

from __future__ import annotations

from email.message import EmailMessage
from io import StringIO
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from rmmbridge.alerts.models import AlertingConfig, EmailRule, ResolveOutbox
from rmmbridge.integrations.panels import panel_links
from rmmbridge.tickets.models import Ticket

from .conftest import DATTO_FROM, Desk, datto_mail

pytestmark = pytest.mark.django_db


def test_setup_panel_is_registered(desk: Desk) -> None:
    assert ("Alerting", f"/alerts/integration/{desk.integration.pk}/") in panel_links(desk.integration.pk)


def test_alerting_setup_page_and_test_ticket(desk: Desk, admin_client: Any) -> None:
    page = admin_client.get(f"/alerts/integration/{desk.integration.pk}/")
    assert page.status_code == 200
    body = page.content.decode()
    config = desk.integration.alerting
    assert config.webhook_token in body
    assert config.webhook_secret not in body  # never shown back…
    assert config.webhook_secret not in config.webhook_secret_encrypted  # …and encrypted at rest
    assert "Datto RMM Alerts" in body
    regenerated = admin_client.post(f"/alerts/integration/{desk.integration.pk}/webhook-secret/")
    config.refresh_from_db()
    assert regenerated.status_code == 200  # shown once on the answer page itself…
    assert f"<pre id=\"webhook-secret\" data-secret>{config.webhook_secret}</pre>" in regenerated.content.decode()
    assert regenerated["Cache-Control"] == "no-store"
    for cookie in regenerated.cookies.values():  # …never in the messages cookie (or any other)
        assert config.webhook_secret not in cookie.value
    assert config.webhook_secret not in admin_client.get(f"/alerts/integration/{desk.integration.pk}/").content.decode()
    answer = admin_client.post(f"/alerts/integration/{desk.integration.pk}/test-ticket/", follow=True)
    ticket = Ticket.objects.get()
    assert f"Test ticket #{ticket.pk} created" in answer.content.decode()
    assert ticket.customer == desk.other_customer  # no device: the New Alert User


def test_switching_alerting_on_in_the_page_creates_the_rule(desk: Desk, admin_client: Any) -> None:
    from rmmbridge.integrations.models import Integration

    other = Integration.objects.create(vendor="cw_automate", name="Automate")
    url = f"/alerts/integration/{other.pk}/"
    assert admin_client.get(url).status_code == 200
    answer = admin_client.post(url, {"enabled": "on", "ticket_type": desk.ticket_type.pk,
                                     "new_alert_user": desk.alert_user.pk, "from_address": "alerts@automate.example",
                                     "close_behaviour": "close", "webhook_auth": "secret",
                                     "resolved_lookback_hours": 24})
    assert answer.status_code == 302, answer.content.decode()[:2000]
    assert AlertingConfig.objects.get(integration=other).enabled
    rule = EmailRule.objects.get(integration=other)
    assert (rule.name, rule.from_address) == ("ConnectWise Automate Alerts", "alerts@automate.example")


def test_rule_form_rejects_a_broken_pattern(desk: Desk, admin_client: Any) -> None:
    rule = EmailRule.objects.get(integration=desk.integration)
    answer = admin_client.post(f"/alerts/rules/{rule.pk}/", {
        "name": rule.name, "order": 10, "enabled": "on", "from_match": "exact", "from_address": "x@y",
        "subject_pattern": "Alert{(", "alert_id_pattern": "", "action": "open", "markers": "[]",
    })
    assert answer.status_code == 200
    assert "not a valid regular expression" in answer.content.decode()
    assert admin_client.get("/alerts/rules/").status_code == 200


def test_eml_upload(desk: Desk, admin_client: Any) -> None:
    upload = SimpleUploadedFile("alert.eml", datto_mail("up-1"), content_type="message/rfc822")
    answer = admin_client.post("/alerts/upload/", {"eml": upload})
    assert answer.status_code == 200
    ticket = Ticket.objects.get()
    assert f"#{ticket.pk}" in answer.content.decode()
    too_small = admin_client.post("/alerts/upload/", {})
    assert "This field is required" in too_small.content.decode()


def test_event_detail_shows_raw(desk: Desk, admin_client: Any) -> None:
    from rmmbridge.alerts.processing import ingest_email

    outcome = ingest_email(datto_mail("ev-1", sender="mallory@evil.example"))
    page = admin_client.get(f"/alerts/events/{outcome.event_id}/")
    assert page.status_code == 200
    assert "mallory@evil.example" in page.content.decode()


def test_cli_poll_unknown_and_disabled(desk: Desk) -> None:
    with pytest.raises(CommandError, match="No integration 'nope'"):
        call_command("alerts", "poll", "nope")
    config = desk.integration.alerting
    config.enabled = False
    config.save()
    with pytest.raises(CommandError, match="Alerting is off"):
        call_command("alerts", "poll", desk.integration.name, "--json", stdout=StringIO())


def test_cli_deliver_reports_pending(desk: Desk) -> None:
    from rmmbridge.alerts.processing import ingest_email
    from rmmbridge.servicedesk.actions import Actor
    from rmmbridge.tickets.actions import do_close_ticket

    ticket = Ticket.objects.get(pk=ingest_email(datto_mail("cli-1")).ticket_id)
    do_close_ticket(Actor.cli("t"), ticket)
    out = StringIO()
    call_command("alerts", "deliver", stdout=out)  # no credentials stored: fails and stays queued
    assert "Delivered 0 resolve(s); 1 still pending." in out.getvalue()
    row = ResolveOutbox.objects.get()
    assert row.attempts == 1
    assert row.last_error


def test_cli_ingest_missing_and_empty_file(tmp_path: Any) -> None:
    with pytest.raises(CommandError, match="No such file"):
        call_command("mail", "ingest", str(tmp_path / "missing.eml"))
    empty = tmp_path / "empty.eml"
    empty.write_bytes(b"")
    with pytest.raises(CommandError, match="empty"):
        call_command("mail", "ingest", str(empty))


def test_cli_enable(desk: Desk) -> None:
    from rmmbridge.integrations.models import Integration

    other = Integration.objects.create(vendor="cw_automate", name="Automate")
    out = StringIO()
    call_command("alerts", "enable", "Automate", "--from-address", "n@ninja.example", stdout=out)
    assert "Alerting on for Automate" in out.getvalue()
    assert "Channels: E-mail, Polling; closing a ticket cannot resolve the alert in the RMM." in out.getvalue()
    assert EmailRule.objects.filter(integration=other, from_address="n@ninja.example").exists()


def test_events_stored_but_not_processed_are_picked_up(desk: Desk) -> None:
    from rmmbridge.alerts.models import AlertEvent, Channel, EventStatus
    from rmmbridge.alerts.processing import store_event

    event = store_event(Channel.SMTP, datto_mail("crash-1"))  # as if the process died right after storing
    out = StringIO()
    call_command("alerts", "process-pending", stdout=out)
    assert "Processed 1 pending event(s)." in out.getvalue()
    event.refresh_from_db()
    assert event.status == EventStatus.PROCESSED
    assert Ticket.objects.get().pk == event.ticket_id
    call_command("alerts", "process-pending", stdout=out)
    assert Ticket.objects.count() == 1
    assert AlertEvent.objects.count() == 1


def test_rotate_keys_keeps_alert_secrets_readable(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    from cryptography.fernet import Fernet

    from rmmbridge.alerts.models import Mailbox

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv("RMMBRIDGE_ENCRYPTION_KEYS", old)
    config = AlertingConfig.objects.get(integration=desk.integration)
    secret = config.regenerate_webhook_secret()
    config.save()
    mailbox = Mailbox(name="alerts", host="imap.example", user="u")
    mailbox.set_password("pw-1")
    mailbox.save()
    monkeypatch.setenv("RMMBRIDGE_ENCRYPTION_KEYS", f"{new},{old}")
    out = StringIO()
    call_command("alerts", "rotate-keys", stdout=out)
    assert "Re-encrypted 2 alerting secret(s)" in out.getvalue()
    monkeypatch.setenv("RMMBRIDGE_ENCRYPTION_KEYS", new)  # the old key is gone: still readable
    config.refresh_from_db()
    mailbox.refresh_from_db()
    assert config.webhook_secret == secret
    assert mailbox.get_password() == "pw-1"
    monkeypatch.setenv("RMMBRIDGE_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    with pytest.raises(CommandError, match="cannot be decrypted"):
        call_command("alerts", "rotate-keys", stdout=out)


def test_vendor_that_cannot_resolve_is_shown_so(db: Any, admin_client: Any) -> None:
    from rmmbridge.alerts.models import OutboxStatus
    from rmmbridge.alerts.outbox import deliver_due
    from rmmbridge.alerts.processing import ingest_email
    from rmmbridge.connectors.cw_automate import const
    from rmmbridge.servicedesk.actions import Actor
    from rmmbridge.tickets.actions import do_close_ticket

    from .conftest import make_desk

    desk = make_desk(vendor=const.SLUG, name="Automate")
    page = admin_client.get(f"/alerts/integration/{desk.integration.pk}/").content.decode()
    assert "cannot resolve alerts" in page
    mail = EmailMessage()
    mail["From"] = DATTO_FROM
    mail["Subject"] = "Agent Offline FAILED on Harbourview Dental\\HD-WS01 at Main for LastContact result 15 min."
    mail.set_content("Agent has not checked in.")
    ticket = Ticket.objects.get(pk=ingest_email(mail.as_bytes()).ticket_id)
    assert ticket.assets.get() == desk.asset
    do_close_ticket(Actor.cli("tech"), ticket)
    row = ResolveOutbox.objects.get()
    assert row.status == OutboxStatus.UNSUPPORTED
    assert "resolve the alert in the RMM" in row.last_error
    assert deliver_due() == 0
    assert ResolveOutbox.objects.get().attempts == 0
    detail = admin_client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "Not supported by" in detail


def test_integration_rotate_keys_also_rotates_alert_secrets(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    from cryptography.fernet import Fernet

    from rmmbridge.alerts.models import Mailbox
    from rmmbridge.integrations.models import Integration

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv("RMMBRIDGE_ENCRYPTION_KEYS", old)
    integration = Integration.objects.get(pk=desk.integration.pk)
    integration.set_credentials({"api_url": "https://example.invalid", "api_key": "k", "api_secret": "s-1"})
    integration.save()
    config = AlertingConfig.objects.get(integration=desk.integration)
    secret = config.regenerate_webhook_secret()
    config.save()
    mailbox = Mailbox(name="alerts", host="imap.example", user="u")
    mailbox.set_password("pw-1")
    mailbox.save()
    before = (AlertingConfig.objects.get(pk=config.pk).webhook_secret_encrypted,
              Mailbox.objects.get(pk=mailbox.pk).password_encrypted)
    # Two keys (MultiFernet): the new one first encrypts, the old one still decrypts.
    monkeypatch.setenv("RMMBRIDGE_ENCRYPTION_KEYS", f"{new},{old}")
    out = StringIO()
    call_command("integration", "rotate-keys", stdout=out)
    assert "Re-encrypted 2 alerting secret(s)" in out.getvalue()
    assert "1 integration(s)" in out.getvalue()
    after = (AlertingConfig.objects.get(pk=config.pk).webhook_secret_encrypted,
             Mailbox.objects.get(pk=mailbox.pk).password_encrypted)
    assert after[0] != before[0]
    assert after[1] != before[1]
    monkeypatch.setenv("RMMBRIDGE_ENCRYPTION_KEYS", new)  # the old key is gone: everything still readable
    assert AlertingConfig.objects.get(pk=config.pk).webhook_secret == secret
    assert Mailbox.objects.get(pk=mailbox.pk).get_password() == "pw-1"
    assert Integration.objects.get(pk=integration.pk).get_credentials()["api_secret"] == "s-1"


def test_integration_rotate_keys_changes_nothing_when_an_alert_secret_is_unreadable(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cryptography.fernet import Fernet

    from rmmbridge.alerts.models import Mailbox
    from rmmbridge.integrations.models import Integration

    lost, old, new = (Fernet.generate_key().decode() for _ in range(3))
    monkeypatch.setenv("RMMBRIDGE_ENCRYPTION_KEYS", old)
    integration = Integration.objects.get(pk=desk.integration.pk)
    integration.set_credentials({"api_url": "https://example.invalid", "api_key": "k", "api_secret": "s-1"})
    integration.save()
    config = AlertingConfig.objects.get(integration=desk.integration)
    config.regenerate_webhook_secret()
    config.save()
    monkeypatch.setenv("RMMBRIDGE_ENCRYPTION_KEYS", lost)
    mailbox = Mailbox(name="alerts", host="imap.example", user="u")
    mailbox.set_password("pw-1")
    mailbox.save()
    credentials_before = Integration.objects.get(pk=integration.pk).credentials_encrypted
    monkeypatch.setenv("RMMBRIDGE_ENCRYPTION_KEYS", f"{new},{old}")
    with pytest.raises(CommandError, match="mailbox 'alerts' cannot be decrypted"):
        call_command("integration", "rotate-keys", stdout=StringIO())
    assert Integration.objects.get(pk=integration.pk).credentials_encrypted == credentials_before


@pytest.mark.django_db
def test_alerting_page_offers_only_the_vendors_channels(admin_client: Any) -> None:
    from rmmbridge.alerts.setup import vendor_channels
    from rmmbridge.connectors.testing.server import serve_emulator
    from rmmbridge.integrations import actions as integration_actions
    from rmmbridge.servicedesk.actions import Actor as DeskActor

    channels = vendor_channels("atera")
    assert channels.poll
    assert not channels.email
    assert not channels.webhook
    with serve_emulator("atera", seed=3, customers=1, devices=2, alerts=0) as emulator:
        integration = integration_actions.do_create_integration(DeskActor.cli("test"), "atera", "Atera channels",
                                                                dict(emulator.credentials), test=False)
    html = admin_client.get(f"/alerts/integration/{integration.pk}/").content.decode()
    assert 'name="from_address"' not in html
    assert 'name="webhook_auth"' not in html
    assert "E-mail rules" not in html
    assert 'name="new_alert_user"' in html
    assert 'data-search="users"' in html


@pytest.mark.django_db
def test_event_list_folds_repeated_polls_and_lists_their_alerts(admin_client: Any) -> None:
    import json
    from datetime import timedelta

    from django.utils import timezone

    from rmmbridge.alerts.models import AlertEvent

    start = timezone.now() - timedelta(hours=1)
    payload = json.dumps({"open": [{"hostname": "KL-WS01", "message": "Disk C: 95% full"},
                                   {"hostname": "KL-SRV", "message": "CPU high"}], "resolved": []}).encode()
    for minute in range(3):
        AlertEvent.objects.create(channel="poll", received_at=start + timedelta(minutes=minute), raw=payload,
                                  summary="Poll: 2 open, 0 resolved", status="processed",
                                  reason="2 ignored (already has an open ticket ×2)")
    AlertEvent.objects.create(channel="webhook", received_at=start + timedelta(minutes=4), raw=b"{}",
                              summary="Webhook", status="processed", reason="Ticket opened: new alert")
    AlertEvent.objects.create(channel="poll", received_at=start + timedelta(minutes=5), raw=payload,
                              summary="Poll: 2 open, 0 resolved", status="processed",
                              reason="2 ignored (already has an open ticket ×2)")
    html = admin_client.get("/alerts/").content.decode()
    assert html.count('class="poll-group"') == 2  # the webhook event splits the run of polls
    assert 'data-polls="3"' in html
    assert "3 polls since" in html
    assert "KL-WS01: Disk C: 95% full" in html
    assert "2 alerts in the newest poll" in html
