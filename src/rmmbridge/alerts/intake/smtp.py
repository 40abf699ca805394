"""The built-in SMTP receiver (aiosmtpd): each message is stored raw, then processed, before 250 is answered."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from aiosmtpd.controller import Controller

from rmmbridge.alerts.models import Channel
from rmmbridge.alerts.processing import Outcome, process_event, store_event, use_cache

log = logging.getLogger(__name__)
# aiosmtpd logs every SMTP command at INFO; keep its warnings only.
logging.getLogger("mail.log").setLevel(logging.WARNING)

#: Messages larger than this are refused at DATA with 552 (the sender keeps them).
MAX_MESSAGE_BYTES = 25 * 1024 * 1024


@dataclass(frozen=True)
class Delivery:
    """One accepted message: its outcome and the monotonic times of SMTP accept and ticket commit."""

    outcome: Outcome
    accepted_at: float
    committed_at: float


def _store_and_process(raw: bytes, peer: str, rcpt: list[str]) -> Outcome:
    from django.db import close_old_connections

    close_old_connections()
    event = store_event(Channel.SMTP, raw, headers={"x-smtp-peer": peer, "x-smtp-rcpt": ", ".join(rcpt)[:500]})
    return process_event(event)


def _close_connections() -> None:
    from django.db import connections

    connections.close_all()


class AlertSMTPHandler:
    """aiosmtpd handler: one database worker thread, so SQLite sees one writer and order is kept."""

    def __init__(self, on_delivery: Callable[[Delivery], None] | None = None) -> None:
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="smtp-db")
        self.on_delivery = on_delivery
        self.accepted = 0
        self.failed = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        accepted_at = time.monotonic()
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", errors="replace")
        if len(raw) > MAX_MESSAGE_BYTES:
            return f"552 Message larger than {MAX_MESSAGE_BYTES} bytes"
        peer = str(session.peer[0]) if session.peer else ""
        loop = asyncio.get_running_loop()
        try:
            outcome = await loop.run_in_executor(self.executor, _store_and_process, raw, peer,
                                                 [str(r) for r in envelope.rcpt_tos])
        except Exception as exc:  # the raw message may not be stored: ask the sender to retry later
            self.failed += 1
            log.exception("SMTP message could not be stored")
            return f"451 Could not store the message ({type(exc).__name__}); try again later"
        self.accepted += 1
        if self.on_delivery is not None:
            self.on_delivery(Delivery(outcome, accepted_at, time.monotonic()))
        return f"250 Stored as alert event {outcome.event_id} ({outcome.status})"


class SMTPReceiver:
    """Start/stop the receiver on host:port (port 0 picks a free port; see `.port`)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 2525,
                 on_delivery: Callable[[Delivery], None] | None = None) -> None:
        self.handler = AlertSMTPHandler(on_delivery)
        self.host = host
        self.requested_port = port
        self.controller: Controller | None = None
        self.port = port

    def start(self) -> SMTPReceiver:
        if self.requested_port == 0:
            import socket

            with socket.socket() as sock:
                sock.bind((self.host, 0))
                self.port = sock.getsockname()[1]
        self.controller = Controller(self.handler, hostname=self.host, port=self.port,
                                     data_size_limit=MAX_MESSAGE_BYTES, server_hostname="rmmbridge")
        self.controller.start()
        use_cache(True)
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
            use_cache(False)
        self.handler.executor.submit(_close_connections).result()
        self.handler.executor.shutdown(wait=True)

    def __enter__(self) -> SMTPReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
