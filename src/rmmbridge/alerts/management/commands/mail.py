"""`rmmbridge mail …`: ingest an .eml file, run the SMTP receiver, or poll IMAP mailboxes."""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rmmbridge.alerts.processing import ingest_email


class Command(BaseCommand):
    help = "Alert e-mail intake: ingest FILE.eml, serve-smtp --port P, mailbox-add, imap-poll."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="sub", required=True)
        ingest = sub.add_parser("ingest", help="Process one .eml file through the e-mail rules; print the outcome.")
        ingest.add_argument("file", help="Path of the .eml file ('-' reads standard input).")
        ingest.add_argument("--json", action="store_true", help="Print the outcome as JSON.")
        smtp = sub.add_parser("serve-smtp", help="Run the SMTP receiver that turns alert e-mails into tickets.")
        smtp.add_argument("--port", type=int, default=2525, help="Port to listen on (default 2525).")
        smtp.add_argument("--host", default="127.0.0.1", help="Address to listen on (default 127.0.0.1).")
        imap = sub.add_parser("imap-poll", help="Read unseen mail from the IMAP mailboxes once (or keep idling).")
        imap.add_argument("--mailbox", default="", help="Only this mailbox (name); default every enabled one.")
        imap.add_argument("--idle", action="store_true", help="Keep running; wait with IDLE where offered.")
        add = sub.add_parser("mailbox-add", help="Add (or update) an IMAP mailbox; the password is read from "
                                                 "RMMBRIDGE_IMAP_PASSWORD or prompted for on a terminal.")
        add.add_argument("name", help="A name for the mailbox.")
        add.add_argument("--host", required=True, help="IMAP server host.")
        add.add_argument("--port", type=int, default=993, help="IMAP port (default 993).")
        add.add_argument("--user", required=True, help="Mailbox user name.")
        add.add_argument("--folder", default="INBOX", help="Folder to read (default INBOX).")
        add.add_argument("--no-ssl", action="store_true", help="Plain connection (only for loopback testing).")

    def handle(self, *args: Any, **options: Any) -> None:
        sub = options["sub"]
        if sub == "ingest":
            self._ingest(options["file"], as_json=options["json"])
        elif sub == "serve-smtp":
            self._serve(options["host"], options["port"])
        elif sub == "mailbox-add":
            self._mailbox_add(options)
        else:
            self._imap(options)

    def _ingest(self, file: str, *, as_json: bool) -> None:
        if file == "-":
            raw = sys.stdin.buffer.read()
        else:
            path = Path(file)
            if not path.is_file():
                raise CommandError(f"No such file: {file}. Give the path of a saved .eml message.")
            raw = path.read_bytes()
        if not raw.strip():
            raise CommandError(f"{file} is empty; an .eml file holds the whole message (headers and body).")
        outcome = ingest_email(raw)
        if as_json:
            self.stdout.write(json.dumps(outcome.as_dict(), indent=2))
        elif outcome.status == "duplicate":
            ticket = f", ticket #{outcome.ticket_id}" if outcome.ticket_id else ""
            self.stdout.write(f"Duplicate{ticket}: {outcome.reason} (event #{outcome.event_id})")
        elif outcome.ticket_id:
            self.stdout.write(f"Ticket #{outcome.ticket_id}: {outcome.reason} (event #{outcome.event_id})")
        else:
            self.stdout.write(f"No ticket ({outcome.status}): {outcome.reason} (event #{outcome.event_id})")
        if outcome.status == "error":
            raise CommandError(f"Processing failed; the mail is kept as event #{outcome.event_id}.")

    def _serve(self, host: str, port: int) -> None:
        from rmmbridge.alerts.intake.smtp import SMTPReceiver

        receiver = SMTPReceiver(host, port)
        try:
            receiver.start()
        except OSError as exc:
            raise CommandError(f"Cannot listen on {host}:{port}: {exc}. Choose another --port.") from exc
        self.stdout.write(f"SMTP receiver listening on {host}:{receiver.port}; press Ctrl+C to stop.")
        self.stdout.flush()
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
        finally:
            receiver.stop()
            self.stdout.write(f"Stopped after {receiver.handler.accepted} message(s).")

    def _mailbox_add(self, options: dict[str, Any]) -> None:
        import getpass
        import os

        from rmmbridge.alerts.models import Mailbox

        password = os.environ.get("RMMBRIDGE_IMAP_PASSWORD", "")
        if not password and sys.stdin.isatty():
            password = getpass.getpass(f"Password for {options['user']}@{options['host']}: ")
        if not password:
            raise CommandError("No password: set RMMBRIDGE_IMAP_PASSWORD or run on a terminal to be prompted.")
        mailbox = Mailbox.objects.filter(name=options["name"]).first() or Mailbox(name=options["name"])
        mailbox.host, mailbox.port, mailbox.user = options["host"], options["port"], options["user"]
        mailbox.folder, mailbox.use_ssl = options["folder"], not options["no_ssl"]
        mailbox.set_password(password)
        mailbox.save()
        self.stdout.write(f"Mailbox {mailbox.name}: {mailbox.user}@{mailbox.host}:{mailbox.port}/{mailbox.folder}, "
                          "password set.")

    def _imap(self, options: dict[str, Any]) -> None:
        from rmmbridge.alerts.intake.imap import poll_stored
        from rmmbridge.alerts.models import Mailbox

        boxes = Mailbox.objects.filter(enabled=True)
        if options["mailbox"]:
            boxes = Mailbox.objects.filter(name=options["mailbox"])
        chosen = list(boxes)
        if not chosen:
            raise CommandError("No IMAP mailbox configured" + (f" named {options['mailbox']!r}" if options["mailbox"]
                               else "") + "; add one with `rmmbridge mail mailbox-add`.")
        try:
            while True:
                for mailbox in chosen:
                    result = poll_stored(mailbox, idle_seconds=60 if options["idle"] and len(chosen) == 1 else 0)
                    self.stdout.write(result.message)
                if not options["idle"]:
                    break
                if len(chosen) > 1:
                    threading.Event().wait(60)
        except KeyboardInterrupt:
            return
