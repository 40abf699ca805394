"""Forged recovery e-mail over the real SMTP receiver: a close is confirmed with the RMM, else by DMARC, else marked."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator

import pytest

from rmmbridge.alerts.intake.smtp import SMTPReceiver
from rmmbridge.alerts.models import AlertEvent, EventStatus
from rmmbridge.connectors.testing.server import RunningEmulator, serve_emulator
from rmmbridge.tickets.choices import TicketStatus
from rmmbridge.tickets.models import Ticket

from .conftest import DATTO_FROM, Desk, datto_mail, make_desk

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def rmm() -> Iterator[RunningEmulator]:
    with serve_emulator("datto_rmm", devices=3, alerts=0, customers=1) as running:
        yield running


def _send(receiver: SMTPReceiver, raw: bytes) -> tuple[int, bytes]:
    with smtplib.SMTP("127.0.0.1", receiver.port, timeout=30) as smtp:
        smtp.ehlo()
        smtp.mail(DATTO_FROM)
        smtp.rcpt("desk@example.com")
        return smtp.data(raw)


def _recovery(uid: str, n: int, auth_results: tuple[str, ...] = ()) -> bytes:
    raw = datto_mail(uid, prefix="Resolved: ", message_id=f"<recovery-{uid}-{n}@datto.example>")
    extra = b"".join(f"Authentication-Results: {value}\n".encode() for value in auth_results)
    return extra + raw


def _closing_note(ticket: Ticket) -> str:
    return str(ticket.actions.get(kind="closed").text)


def test_a_forged_recovery_mail_does_not_close_a_live_alert_confirmed_with_the_rmm(rmm: RunningEmulator) -> None:
    device = rmm.state.device_at(0)
    assert device is not None
    alert = rmm.state.raise_alert(device.id, message="Disk C: below 10% free")
    make_desk(credentials=dict(rmm.credentials), device_id=device.id)
    with SMTPReceiver("127.0.0.1", 0) as receiver:
        assert _send(receiver, datto_mail(alert.id))[0] == 250
        ticket = Ticket.objects.get()
        code, _text = _send(receiver, _recovery(alert.id, 1))  # forged: the alert is still open in the RMM
        assert code == 250
        ticket.refresh_from_db()
        assert ticket.status != TicketStatus.CLOSED
        forged = AlertEvent.objects.get(message_id=f"<recovery-{alert.id}-1@datto.example>")
        assert forged.status == EventStatus.REJECTED
        assert "still shows the alert open" in forged.reason
        rmm.state.resolve_alert(alert.id, by="ui")
        assert _send(receiver, _recovery(alert.id, 2))[0] == 250
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CLOSED
    assert "Close confirmed with Datto's API" in _closing_note(ticket)


def _open_mail_only_ticket(receiver: SMTPReceiver, uid: str) -> Ticket:
    assert _send(receiver, datto_mail(uid))[0] == 250
    return Ticket.objects.get(alert_key=uid)


def test_without_an_rmm_answer_the_close_is_marked_unverified() -> None:
    make_desk()  # an e-mail-only integration: no API credentials to ask
    with SMTPReceiver("127.0.0.1", 0) as receiver:
        ticket = _open_mail_only_ticket(receiver, "u-1")
        assert _send(receiver, _recovery("u-1", 1))[0] == 250
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CLOSED
    assert "Unverified close" in _closing_note(ticket)


def test_with_dmarc_required_only_the_receiving_servers_dmarc_pass_closes(desk: Desk) -> None:
    config = desk.integration.alerting
    config.recovery_needs_dmarc = True
    config.save()
    with SMTPReceiver("127.0.0.1", 0) as receiver:
        ticket = _open_mail_only_ticket(receiver, "d-1")
        _send(receiver, _recovery("d-1", 1))  # no Authentication-Results at all
        # The sender's own header lower down says pass; the receiving server's (on top) says fail.
        _send(receiver, _recovery("d-1", 2, ("mx.desk.example; dmarc=fail header.from=datto.example",
                                             "evil.example; dmarc=pass")))
        ticket.refresh_from_db()
        assert ticket.status != TicketStatus.CLOSED
        refused = AlertEvent.objects.filter(message_id__startswith="<recovery-d-1-").order_by("id")
        assert [e.status for e in refused] == [EventStatus.REJECTED, EventStatus.REJECTED]
        assert "no DMARC pass" in refused[0].reason
        _send(receiver, _recovery("d-1", 3, ("mx.desk.example; spf=pass; dkim=pass; dmarc=pass header.from=x",)))
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CLOSED
    assert "DMARC pass" in _closing_note(ticket)
