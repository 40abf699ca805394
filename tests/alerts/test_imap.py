"""IMAP intake against a tiny IMAP server on loopback: processed mail is marked seen only after the commit."""

from __future__ import annotations

import pytest

from rmmbridge.alerts.intake.imap import ImapMailbox, poll_mailbox
from rmmbridge.alerts.models import AlertEvent
from rmmbridge.tickets.models import Ticket

from .conftest import Desk, datto_mail
from .imap_server import Mailbox, serve_imap

pytestmark = pytest.mark.django_db


def test_imap_poll_makes_tickets_and_marks_seen(desk: Desk) -> None:
    box = Mailbox()
    first = box.add(datto_mail("imap-1"))
    spam = box.add(b"From: x@y.example\r\nSubject: hello\r\nMessage-ID: <s@y>\r\n\r\nhi\r\n")
    with serve_imap(box) as port:
        mailbox = ImapMailbox(host="127.0.0.1", port=port, user="alerts", password="secret", ssl=False)
        result = poll_mailbox(mailbox)
        assert result.fetched == 2
        assert len(result.tickets) == 1
        assert result.kept_without_ticket == 1
        assert box.seen(first)
        assert box.seen(spam)
        assert poll_mailbox(mailbox).fetched == 0  # nothing unseen left
    ticket = Ticket.objects.get()
    assert ticket.assets.get() == desk.asset
    assert set(AlertEvent.objects.values_list("channel", flat=True)) == {"imap"}


def test_idle_waits_for_new_mail(desk: Desk) -> None:
    box = Mailbox()
    with serve_imap(box) as port:
        mailbox = ImapMailbox(host="127.0.0.1", port=port, user="alerts", password="secret", ssl=False)
        result = poll_mailbox(mailbox, idle_seconds=1)
    assert result.fetched == 0
