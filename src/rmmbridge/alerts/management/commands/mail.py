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
    help = "Alert e-mail intake: ingest FILE.eml, serve-smtp --port P, or imap-poll."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="sub", required=True)
        ingest = sub.add_parser("ingest", help="Process one .eml file through the e-mail rules; print the outcome.")
        ingest.add_argument("file", help="Path of the .eml file ('-' reads standard input).")
        ingest.add_argument("--json", action="store_true", help="Print the outcome as JSON.")
        smtp = sub.add_parser("serve-smtp", help="Run the SMTP receiver that turns alert e-mails into tickets.")
        smtp.add_argument("--port", type=int, default=2525, help="Port to listen on (default 2525).")
        smtp.add_argument("--host", default="127.0.0.1", help="Address to listen on (default 127.0.0.1).")
        imap = sub.add_parser("imap-poll", help="Read unseen mail from an IMAP mailbox once (or keep idling).")
        imap.add_argument("--host", required=True, help="IMAP server host.")
        imap.add_argument("--port", type=int, default=993, help="IMAP port (default 993).")
        imap.add_argument("--user", required=True, help="Mailbox user name.")
        imap.add_argument("--folder", default="INBOX", help="Folder to read (default INBOX).")
        imap.add_argument("--no-ssl", action="store_true", help="Plain connection (only for loopback testing).")
        imap.add_argument("--idle", action="store_true", help="Keep running; use IDLE where the server offers it.")

    def handle(self, *args: Any, **options: Any) -> None:
        sub = options["sub"]
        if sub == "ingest":
            self._ingest(options["file"], as_json=options["json"])
        elif sub == "serve-smtp":
            self._serve(options["host"], options["port"])
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

    def _imap(self, options: dict[str, Any]) -> None:
        import os

        from rmmbridge.alerts.intake.imap import ImapMailbox, poll_mailbox

        password = os.environ.get("RMMBRIDGE_IMAP_PASSWORD", "")
        if not password:
            raise CommandError("Set the mailbox password in the environment variable RMMBRIDGE_IMAP_PASSWORD.")
        mailbox = ImapMailbox(host=options["host"], port=options["port"], user=options["user"], password=password,
                              folder=options["folder"], ssl=not options["no_ssl"])
        try:
            while True:
                result = poll_mailbox(mailbox, idle_seconds=60 if options["idle"] else 0)
                self.stdout.write(result.message)
                if not options["idle"]:
                    break
        except KeyboardInterrupt:
            return
