"""E-mail → ticket pipeline on the real database: rules, consolidation, duplicates, spoofing, closure, outbox."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction

from rmmbridge.alerts.models import AlertEvent, AlertState, EmailRule, EventStatus, OutboxStatus, ResolveOutbox
from rmmbridge.alerts.processing import ingest_email
from rmmbridge.servicedesk.actions import Actor
from rmmbridge.tickets.actions import do_add_note, do_close_ticket
from rmmbridge.tickets.choices import TicketStatus
from rmmbridge.tickets.models import Ticket

from .conftest import DATTO_FROM, Desk, datto_mail

pytestmark = pytest.mark.django_db


def test_enabling_alerting_creates_the_datto_rule(desk: Desk) -> None:
    rule = EmailRule.objects.get(integration=desk.integration)
    assert rule.name == "Datto RMM Alerts"
    assert rule.from_address == DATTO_FROM
    assert "Alert" in rule.subject_pattern


def test_alert_mail_opens_one_ticket_on_the_right_asset(desk: Desk) -> None:
    outcome = ingest_email(datto_mail("uid-1"))
    assert outcome.status == EventStatus.PROCESSED, outcome.reason
    ticket = Ticket.objects.get(pk=outcome.ticket_id)
    assert ticket.customer == desk.customer
    assert ticket.site == desk.site
    assert ticket.end_user == desk.user
    assert list(ticket.assets.all()) == [desk.asset]
    assert ticket.ticket_type == desk.ticket_type
    assert ticket.alert_key == "uid-1"
    assert ticket.source == "email"
    assert "Disk C: below 10% free" in ticket.summary
    assert "Alert id: uid-1" in ticket.details
    assert "HD-WS01" in ticket.details
    state = AlertState.objects.get(key="uid-1")
    assert (state.ticket, state.occurrences, state.external_id) == (ticket, 1, "uid-1")


def test_same_mail_twice_is_still_one_ticket(desk: Desk) -> None:
    raw = datto_mail("uid-2", message_id="<fixed-1@datto.example>")
    first = ingest_email(raw)
    second = ingest_email(raw)
    assert second.status == EventStatus.DUPLICATE
    assert "Message-ID" in second.reason
    assert Ticket.objects.count() == 1
    assert AlertEvent.objects.count() == 2  # both kept raw
    assert second.ticket_id == first.ticket_id


def test_repeat_of_the_condition_adds_a_note_and_counts(desk: Desk) -> None:
    first = ingest_email(datto_mail("uid-3"))
    again = ingest_email(datto_mail("uid-3"))
    assert again.results[0].action == "append_note"
    assert Ticket.objects.count() == 1
    ticket = Ticket.objects.get(pk=first.ticket_id)
    assert ticket.occurrences == 2
    assert ticket.actions.filter(kind="occurrence").count() == 1
    assert AlertState.objects.get(key="uid-3").occurrences == 2


def test_spoofed_sender_opens_no_ticket_and_keeps_the_mail(desk: Desk) -> None:
    outcome = ingest_email(datto_mail("uid-4", sender="mallory@evil.example"))
    assert outcome.status == EventStatus.REJECTED
    assert "mallory@evil.example" in outcome.reason
    assert "Datto RMM Alerts" in outcome.reason
    assert Ticket.objects.count() == 0
    event = AlertEvent.objects.get(pk=outcome.event_id)
    assert event.status == EventStatus.REJECTED
    assert b"mallory" in bytes(event.raw)


def test_mail_matching_no_rule_is_kept_and_listed(desk: Desk, admin_client: Any) -> None:
    raw = b"From: newsletter@vendor.example\r\nSubject: Our spring offers\r\nMessage-ID: <n1@v>\r\n\r\nBuy!\r\n"
    outcome = ingest_email(raw)
    assert outcome.status == EventStatus.UNMATCHED
    assert "No e-mail rule matches" in outcome.reason
    page = admin_client.get("/alerts/?status=unmatched")
    assert page.status_code == 200
    assert b"Our spring offers" in page.content
    assert b"No e-mail rule matches" in page.content


def test_unknown_device_goes_to_the_new_alert_user(desk: Desk) -> None:
    outcome = ingest_email(datto_mail("uid-5", host="UNKNOWN-PC", ip="192.0.2.9"))
    ticket = Ticket.objects.get(pk=outcome.ticket_id)
    assert ticket.customer == desk.other_customer
    assert ticket.end_user == desk.alert_user
    assert ticket.assets.count() == 0
    assert "No asset matched" in ticket.details


def test_no_asset_and_no_new_alert_user_is_rejected_with_reason(desk: Desk) -> None:
    config = desk.integration.alerting
    config.new_alert_user = None
    config.save()
    outcome = ingest_email(datto_mail("uid-6", host="UNKNOWN-PC"))
    assert outcome.status == EventStatus.REJECTED
    assert "New Alert User" in outcome.reason
    assert Ticket.objects.count() == 0


def test_closing_the_ticket_queues_one_resolve_in_the_same_transaction(desk: Desk) -> None:
    ticket = Ticket.objects.get(pk=ingest_email(datto_mail("uid-7")).ticket_id)
    seen_inside: list[int] = []

    def close_then_fail() -> None:
        with transaction.atomic():
            do_close_ticket(Actor.cli("tech"), ticket, note="fixed")
            seen_inside.append(ResolveOutbox.objects.count())
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        close_then_fail()
    assert seen_inside == [1]
    assert ResolveOutbox.objects.count() == 0
    ticket.refresh_from_db()
    assert ticket.status != TicketStatus.CLOSED
    do_close_ticket(Actor.cli("tech"), ticket, note="fixed")
    row = ResolveOutbox.objects.get()
    assert (row.external_id, row.status, row.integration) == ("uid-7", OutboxStatus.PENDING, desk.integration)
    state = AlertState.objects.get(key="uid-7")
    assert state.closed_here
    assert state.resolved_at is not None


def test_recovery_mail_closes_the_ticket_without_echo(desk: Desk) -> None:
    ticket_id = ingest_email(datto_mail("uid-8")).ticket_id
    recovery = datto_mail("uid-8", prefix="Resolved: ")
    outcome = ingest_email(recovery)
    assert outcome.results[0].action == "close", outcome.reason
    ticket = Ticket.objects.get(pk=ticket_id)
    assert ticket.status == TicketStatus.CLOSED
    assert ResolveOutbox.objects.count() == 0  # resolved in the RMM: nothing to send back


def test_worked_ticket_gets_a_note_but_stays_open_when_configured(desk: Desk) -> None:
    config = desk.integration.alerting
    config.close_behaviour = "note_if_worked"
    config.save()
    ticket = Ticket.objects.get(pk=ingest_email(datto_mail("uid-9")).ticket_id)
    do_add_note(Actor.cli("tech"), ticket, "Looking at it")
    recovery = datto_mail("uid-9", prefix="Resolved: ")
    outcome = ingest_email(recovery)
    assert outcome.results[0].action == "append_note"
    ticket.refresh_from_db()
    assert ticket.status != TicketStatus.CLOSED
    assert "stays open" in ticket.actions.last().text


@pytest.mark.parametrize("raw", [
    b"",
    b"\x00\xff\xfe garbage",
    b"From: " + DATTO_FROM.encode() + b"\r\nSubject: =?utf-8?q?Alert_on_device=3A_10=2E0=2E0=2E5=2C_reason_"
    b"CPU_=C3=BCber_90=25_-_Alert=7Bq1=7D?=\r\n\r\nDevice: HD-WS01\r\n",
    b"From: " + DATTO_FROM.encode() + b"\r\nSubject: Alert on device: 1.2.3.4, reason x - Alert{big}\r\n"
    b"Content-Type: text/plain; charset=nonsense\r\n\r\n" + b"\xe9" * 3_000_000,
    b"From: " + DATTO_FROM.encode() + b"\r\nSubject: Alert on device: 1.2.3.4, reason html - Alert{h1}\r\n"
    b"Content-Type: text/html\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>Device: HD-WS01</p>=\r\n",
], ids=["empty", "binary", "encoded-word", "huge-wrong-charset", "html-only-qp"])
def test_odd_mails_never_crash(desk: Desk, raw: bytes) -> None:
    outcome = ingest_email(raw)
    assert outcome.status in {EventStatus.PROCESSED, EventStatus.UNMATCHED, EventStatus.REJECTED}
    assert outcome.reason
    assert AlertEvent.objects.filter(pk=outcome.event_id).exists()


def test_encoded_word_alert_is_keyed_on_its_id(desk: Desk) -> None:
    raw = (b"From: " + DATTO_FROM.encode() + b"\r\nSubject: =?utf-8?q?Alert_on_device=3A_10=2E0=2E0=2E5=2C_reason_"
           b"CPU_=C3=BCber_90=25_-_Alert=7Bq1=7D?=\r\n\r\nDevice: HD-WS01\r\n")
    outcome = ingest_email(raw)
    ticket = Ticket.objects.get(pk=outcome.ticket_id)
    assert ticket.alert_key == "q1"
    assert "über" in ticket.summary
    assert ticket.assets.get() == desk.asset


def test_rule_without_alert_id_keys_on_device_and_condition(desk: Desk) -> None:
    EmailRule.objects.create(name="Printer alerts", order=5, from_match="contains", from_address="@printers.example",
                             subject_pattern="^Printer", alert_id_pattern="",
                             markers=[{"start": "Host:", "end": "\\n", "field": "hostname"},
                                      {"start": "Problem:", "end": "\\n", "field": "condition"}])
    def mail(stamp: str, mid: str) -> bytes:
        return (f"From: mon@printers.example\r\nSubject: Printer warning {stamp}\r\nMessage-ID: <{mid}>\r\n\r\n"
                f"Host: HD-WS01\r\nProblem: Toner low at {stamp}\r\n").encode()
    first = ingest_email(mail("2026-11-20 10:00:00", "p1@x"))
    second = ingest_email(mail("2026-11-21 11:30:00", "p2@x"))
    assert first.ticket_id == second.ticket_id
    state = AlertState.objects.get(ticket_id=first.ticket_id)
    assert state.key == "hd-ws01 + toner low at"
    assert "2026" not in state.key


def test_cli_ingest_prints_the_outcome(desk: Desk, tmp_path: Any) -> None:
    eml = tmp_path / "alert.eml"
    eml.write_bytes(datto_mail("uid-cli"))
    out = StringIO()
    call_command("mail", "ingest", str(eml), "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["status"] == "processed"
    assert data["ticket_id"] == Ticket.objects.get().pk
    out = StringIO()
    call_command("mail", "ingest", str(eml), stdout=out)
    assert f"Duplicate, ticket #{data['ticket_id']}: Same Message-ID" in out.getvalue()


def test_rule_on_a_header_with_markers_for_summary_and_ignore_rule(desk: Desk) -> None:
    EmailRule.objects.create(name="Monitoring tool", order=1, from_match="any", header_name="X-Monitor",
                             header_pattern="^nagios", alert_id_pattern=r"Problem ID: (\d+)",
                             markers=[{"start": "Summary:", "end": "\\n", "field": "summary"},
                                      {"start": "Host:", "end": "\\n", "field": "hostname"}])
    EmailRule.objects.create(name="Drop digests", order=2, from_match="contains", from_address="@digest.example",
                             action="ignore")
    raw = (b"From: nagios@mon.example\r\nX-Monitor: nagios 4.4\r\nSubject: PROBLEM\r\nMessage-ID: <h1@m>\r\n\r\n"
           b"Summary: Web service down on HD-WS01\r\nHost: hd-ws01\r\nProblem ID: 4711\r\n")
    outcome = ingest_email(raw)
    ticket = Ticket.objects.get(pk=outcome.ticket_id)
    assert ticket.summary == "Web service down on HD-WS01"
    assert ticket.alert_key == "4711"
    assert ticket.assets.get() == desk.asset  # hostname matched case-insensitively
    without_header = raw.replace(b"X-Monitor: nagios 4.4\r\n", b"").replace(b"<h1@m>", b"<h2@m>")
    assert ingest_email(without_header).status == EventStatus.UNMATCHED
    digest = ingest_email(b"From: weekly@digest.example\r\nSubject: Weekly\r\nMessage-ID: <d@x>\r\n\r\nhi\r\n")
    assert digest.status == EventStatus.PROCESSED
    assert "ignore" in digest.reason
    assert Ticket.objects.count() == 1
