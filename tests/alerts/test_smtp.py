"""The SMTP receiver over loopback: stored raw, processed into tickets before 250 (in a burst: once stored)."""

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


@pytest.mark.django_db(transaction=True)
def test_messages_queued_together_go_through_as_one_batch_each_answered_after_commit() -> None:
    import threading

    desk = make_desk()
    deliveries: list[Delivery] = []
    mails = [datto_mail(f"b-{n}", message_id=f"<b-{n}@datto.example>") for n in range(6)]
    mails.append(datto_mail("b-0", message_id="<b-0@datto.example>"))  # the same message again
    mails.append(datto_mail("b-spoof", sender="mallory@evil.example"))
    replies: list[tuple[int, bytes]] = []
    with SMTPReceiver("127.0.0.1", 0, on_delivery=deliveries.append) as receiver:
        gate = threading.Event()
        receiver.handler.executor.submit(gate.wait, 20)  # hold the database worker so the messages queue up

        def send(raw: bytes) -> None:
            with smtplib.SMTP("127.0.0.1", receiver.port, timeout=30) as smtp:
                smtp.ehlo()
                smtp.mail("alerts@datto.example")
                smtp.rcpt("desk@example.com")
                replies.append(smtp.data(raw))

        senders = [threading.Thread(target=send, args=(raw,)) for raw in mails]
        for thread in senders:
            thread.start()
        while receiver.handler._queue.qsize() < len(mails):
            threading.Event().wait(0.01)
        assert AlertEvent.objects.count() == 0  # nothing answered before the worker stored them
        assert replies == []
        gate.set()
        for thread in senders:
            thread.join(20)
        assert receiver.handler.largest_batch == len(mails)
    assert sorted(code for code, _text in replies) == [250] * len(mails)
    assert len(deliveries) == len(mails)
    statuses = sorted(AlertEvent.objects.values_list("status", flat=True))
    assert statuses == sorted([EventStatus.PROCESSED] * 6 + [EventStatus.DUPLICATE, EventStatus.REJECTED])
    assert Ticket.objects.count() == 6
    assert all(t.assets.get() == desk.asset for t in Ticket.objects.all())


@pytest.mark.django_db(transaction=True)
def test_receiver_cache_sees_a_renamed_site_at_once() -> None:
    desk = make_desk()
    with SMTPReceiver("127.0.0.1", 0) as receiver, smtplib.SMTP("127.0.0.1", receiver.port, timeout=10) as smtp:
        smtp.sendmail("alerts@datto.example", ["desk@example.com"], datto_mail("c-1"))
        assert "Site: Main" in Ticket.objects.get().details
        site = desk.site
        site.name = "Harbour Street"
        site.save()
        smtp.sendmail("alerts@datto.example", ["desk@example.com"], datto_mail("c-2"))
    assert "Site: Harbour Street" in Ticket.objects.get(alert_key="c-2").details


@pytest.mark.django_db(transaction=True)
def test_in_a_burst_a_message_is_answered_once_stored_and_still_processed() -> None:
    import threading

    make_desk()
    deliveries: list[Delivery] = []
    replies: dict[str, tuple[int, bytes]] = {}
    with SMTPReceiver("127.0.0.1", 0, on_delivery=deliveries.append) as receiver:
        gate = threading.Event()
        receiver.handler.processor.submit(gate.wait, 20)  # the processing worker is busy

        def send(name: str) -> None:
            with smtplib.SMTP("127.0.0.1", receiver.port, timeout=30) as smtp:
                smtp.ehlo()
                smtp.mail("alerts@datto.example")
                smtp.rcpt("desk@example.com")
                replies[name] = smtp.data(datto_mail(name, message_id=f"<{name}@datto.example>"))

        first = threading.Thread(target=send, args=("burst-1",))
        first.start()
        while AlertEvent.objects.count() < 1:
            threading.Event().wait(0.01)
        send("burst-2")  # another message waits for processing: answered as soon as it is stored
        code, text = replies["burst-2"]
        assert code == 250
        assert b"queued" in text
        assert "burst-1" not in replies  # the first still waits for its processing (nothing else was waiting)
        assert AlertEvent.objects.filter(status=EventStatus.PENDING).count() == 2
        gate.set()
        first.join(20)
    assert replies["burst-1"][0] == 250
    assert b"(processed)" in replies["burst-1"][1]
    assert receiver.handler.answered_early == 1
    assert sorted(d.outcome.status for d in deliveries) == [EventStatus.PROCESSED] * 2
    assert all(d.committed_at >= d.accepted_at for d in deliveries)
    assert set(AlertEvent.objects.values_list("status", flat=True)) == {EventStatus.PROCESSED}
    assert Ticket.objects.count() == 2
