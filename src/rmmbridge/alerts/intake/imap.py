"""IMAP mailboxes (imapclient): read unseen mail, store + process it, and mark it seen only after the commit."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from rmmbridge.alerts.models import Channel, Mailbox
from rmmbridge.alerts.processing import ingest_email
from rmmbridge.common.clock import utcnow


@dataclass(frozen=True)
class ImapMailbox:
    """Where to read alert mail from."""

    host: str
    user: str
    password: str = field(repr=False)
    port: int = 993
    folder: str = "INBOX"
    ssl: bool = True


@dataclass
class ImapPollResult:
    """What one pass over the mailbox did."""

    fetched: int = 0
    tickets: list[int] = field(default_factory=list)
    kept_without_ticket: int = 0
    message: str = ""


def poll_mailbox(mailbox: ImapMailbox, *, idle_seconds: int = 0, batch: int = 200) -> ImapPollResult:
    """Process unseen messages (read with BODY.PEEK so nothing is marked before the commit).

    With idle_seconds > 0, wait afterwards for new mail using IDLE when the server offers it, else sleep.
    """
    result = ImapPollResult()
    with IMAPClient(mailbox.host, port=mailbox.port, ssl=mailbox.ssl, timeout=30) as client:
        client.login(mailbox.user, mailbox.password)
        client.select_folder(mailbox.folder)
        uids = client.search(["UNSEEN"])[:batch]
        for uid in uids:
            data = client.fetch([uid], ["BODY.PEEK[]"]).get(uid, {})
            raw = data.get(b"BODY[]")
            if not isinstance(raw, bytes):
                continue
            outcome = ingest_email(raw, channel=Channel.IMAP)
            # The event and its ticket are committed: only now is the message marked processed.
            client.add_flags([uid], [b"\\Seen"])
            result.fetched += 1
            if outcome.ticket_id:
                result.tickets.append(outcome.ticket_id)
            else:
                result.kept_without_ticket += 1
        if idle_seconds > 0:
            if b"IDLE" in client.capabilities():
                client.idle()
                client.idle_check(timeout=idle_seconds)
                client.idle_done()
            else:
                time.sleep(idle_seconds)
    result.message = (f"{mailbox.user}@{mailbox.host}/{mailbox.folder}: {result.fetched} message(s), "
                      f"{len(result.tickets)} with a ticket, {result.kept_without_ticket} kept without one.")
    return result


def poll_stored(stored: Mailbox, *, idle_seconds: int = 0) -> ImapPollResult:
    """Poll a configured Mailbox; its last result or error is saved on it (never raises for IMAP errors)."""
    mailbox = ImapMailbox(host=stored.host, port=stored.port, user=stored.user, password=stored.get_password(),
                          folder=stored.folder, ssl=stored.use_ssl)
    try:
        result = poll_mailbox(mailbox, idle_seconds=idle_seconds)
    except (OSError, IMAPClientError) as exc:
        message = f"Reading {stored.name} ({stored.host}:{stored.port}) failed: {exc}"
        Mailbox.objects.filter(pk=stored.pk).update(last_polled_at=utcnow(), last_error=message[:2000])
        return ImapPollResult(message=message)
    Mailbox.objects.filter(pk=stored.pk).update(last_polled_at=utcnow(), last_result=result.message, last_error="")
    return result
