"""The SMTP receiver: real SMTP over loopback, stored raw, processed into tickets before 250 is answered."""

from __future__ import annotations

import smtplib

import pytest

from rmmbridge.alerts.intake.smtp import Delivery, SMTPReceiver
from rmmbridge.alerts.models import AlertEvent, EventStatus
from rmmbridge.tickets.models import Ticket

from .conftest import datto_mail, make_desk


@pytest.mark.django_db(transaction=True)
def test_smtp_receiver_turns_alert_mail_into_tickets() -> None:
    desk = make_desk()
    deliveries: list[Delivery] = []
    with SMTPReceiver("127.0.0.1", 0, on_delivery=deliveries.append) as receiver, \
            smtplib.SMTP("127.0.0.1", receiver.port, timeout=10) as smtp:
        smtp.sendmail("alerts@datto.example", ["desk@example.com"], datto_mail("s-1"))
        code, _reply = smtp.noop()
        assert code == 250
        smtp.sendmail("mallory@evil.example", ["desk@example.com"], datto_mail("s-2", sender="mallory@evil.example"))
    assert len(deliveries) == 2
    assert deliveries[0].outcome.ticket_id is not None
    assert deliveries[0].committed_at >= deliveries[0].accepted_at
    ticket = Ticket.objects.get()
    assert ticket.assets.get() == desk.asset
    statuses = list(AlertEvent.objects.order_by("id").values_list("channel", "status"))
    assert statuses == [("smtp", EventStatus.PROCESSED), ("smtp", EventStatus.REJECTED)]


@pytest.mark.django_db(transaction=True)
def test_smtp_answer_names_the_stored_event() -> None:
    make_desk()
    with SMTPReceiver("127.0.0.1", 0) as receiver, smtplib.SMTP("127.0.0.1", receiver.port, timeout=10) as smtp:
        smtp.ehlo()
        smtp.mail("x@y.example")
        smtp.rcpt("desk@example.com")
        code, text = smtp.data(b"Subject: hello\r\n\r\nnot an alert\r\n")
    assert code == 250
    event = AlertEvent.objects.get()
    assert f"alert event {event.pk}".encode() in text
    assert event.status == EventStatus.UNMATCHED
