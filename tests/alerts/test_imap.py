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


def test_stored_mailbox_via_cli(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    from io import StringIO

    from django.core.management import CommandError, call_command

    from rmmbridge.alerts.models import Mailbox as StoredMailbox

    with pytest.raises(CommandError, match="No IMAP mailbox configured"):
        call_command("mail", "imap-poll")
    box = Mailbox()
    box.add(datto_mail("imap-cli"))
    with serve_imap(box) as port:
        monkeypatch.setenv("RMMBRIDGE_IMAP_PASSWORD", "secret")
        call_command("mail", "mailbox-add", "alerts", "--host", "127.0.0.1", "--port", str(port), "--user", "alerts",
                     "--no-ssl", stdout=StringIO())
        stored = StoredMailbox.objects.get()
        assert "secret" not in stored.password_encrypted
        assert stored.get_password() == "secret"
        out = StringIO()
        call_command("mail", "imap-poll", stdout=out)
        assert "1 message(s), 1 with a ticket" in out.getvalue()
        stored.set_password("wrong")
        stored.save()
        call_command("mail", "imap-poll", "--mailbox", "alerts", stdout=out)
    stored.refresh_from_db()
    assert "failed" in stored.last_error
    assert Ticket.objects.count() == 1
