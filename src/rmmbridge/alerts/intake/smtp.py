"""The built-in SMTP receiver (aiosmtpd): each message is committed raw before 250; processing has its own worker."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from rmmbridge.alerts.cache import use_cache
from rmmbridge.alerts.facts.base import AlertFacts
from rmmbridge.alerts.intake.smtp_session import AlertController
from rmmbridge.alerts.models import AlertEvent, Channel, EventStatus
from rmmbridge.alerts.outcome import Outcome
from rmmbridge.alerts.processing import apply_prepared, prepare_event, process_event
from rmmbridge.alerts.storms import children_batched
from rmmbridge.common.clock import utcnow
from rmmbridge.common.prepared import save_row

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


def _headers(peer: str, rcpt: list[str]) -> dict[str, str]:
    return {"x-smtp-peer": peer, "x-smtp-rcpt": ", ".join(rcpt)[:500]}


def _drop_broken_connections() -> None:
    """Close a database connection only when it failed (the worker keeps one connection open, not one per mail)."""
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        if conn.connection is not None and conn.errors_occurred and not conn.is_usable():
            conn.close()


def _store_batch(items: list[Pending]) -> list[AlertEvent]:
    """Store the raw messages of a batch in one committed transaction (nothing is processed before this commits)."""
    from django.db import transaction

    now = utcnow()
    events = [AlertEvent(channel=Channel.SMTP, received_at=now, raw=item.raw, headers=_headers(item.peer, item.rcpt),
                         status=EventStatus.PENDING) for item in items]
    if len(events) == 1:  # one statement commits on its own: no BEGIN / COMMIT around it
        save_row(events[0])
        return events
    with transaction.atomic():
        for event in events:
            save_row(event)  # one prepared INSERT ... RETURNING each (a batch here is a few messages)
    return events


#: Prepared events applied in one transaction (each still in its own savepoint): one commit per group.
APPLY_GROUP_MAX = 64


def _process_one(event: AlertEvent) -> Outcome:
    try:
        return process_event(event)
    except Exception as exc:
        log.exception("SMTP event %s stored but not processed", event.pk)
        _drop_broken_connections()
        return Outcome(int(event.pk), EventStatus.PENDING, f"Stored; processing failed: {exc}")


def _apply_group(group: list[tuple[AlertEvent, list[AlertFacts]]], outcomes: dict[int, Outcome]) -> None:
    """Apply prepared events in one transaction, without a savepoint each; if any fails, the group rolls back
    and each event is applied again on its own (in its own transaction, where a failure is recorded with it)."""
    from django.db import transaction

    if not group:
        return
    try:
        with transaction.atomic(), children_batched():
            done = {int(event.pk): apply_prepared(event, facts, savepoint=False) for event, facts in group}
    except Exception:
        log.warning("SMTP group of %s event(s) rolled back; applying each on its own", len(group), exc_info=True)
        _drop_broken_connections()
        for event, _facts in group:
            event.refresh_from_db()
            outcomes[int(event.pk)] = _process_one(event)
        return
    outcomes.update(done)
    group.clear()


def _process_batch(events: list[AlertEvent]) -> list[Outcome]:
    """Process stored events in order: each is read outside any transaction (an RMM lookup may be slow), then
    up to APPLY_GROUP_MAX read events are applied in one short transaction (no network call inside it) — one
    commit per group instead of one per alert.

    A mail whose Message-ID repeats one in the open group is read only after that group commits (so it is
    seen as a duplicate, as it would be one by one). A message that fails is kept pending for `rmmbridge
    alerts process-pending`; it never costs the others.
    """
    outcomes: dict[int, Outcome] = {}
    group: list[tuple[AlertEvent, list[AlertFacts]]] = []
    message_ids: set[str] = set()
    for event in events:
        try:
            prepared = prepare_event(event)
            if not isinstance(prepared, Outcome) and event.message_id and event.message_id in message_ids:
                _apply_group(group, outcomes)
                group.clear()
                message_ids.clear()
                prepared = prepare_event(event)
        except Exception as exc:
            log.exception("SMTP event %s stored but not processed", event.pk)
            _drop_broken_connections()
            outcomes[int(event.pk)] = Outcome(int(event.pk), EventStatus.PENDING, f"Stored; processing failed: {exc}")
            continue
        if isinstance(prepared, Outcome):
            outcomes[int(event.pk)] = prepared
            continue
        group.append((event, prepared))
        if event.message_id:  # a mail without a Message-ID cannot repeat one
            message_ids.add(event.message_id)
        if len(group) >= APPLY_GROUP_MAX:
            _apply_group(group, outcomes)
            group.clear()
            message_ids.clear()
    _apply_group(group, outcomes)
    return [outcomes[int(event.pk)] for event in events]


def _close_connections() -> None:
    from django.db import connections

    connections.close_all()


@dataclass
class Pending:
    """A message accepted over SMTP, waiting for the database workers."""

    raw: bytes
    peer: str
    rcpt: list[str]
    accepted_at: float
    stored: asyncio.Future[int]
    processed: asyncio.Future[Outcome]
    loop: asyncio.AbstractEventLoop


#: Messages that arrive while a worker is busy are stored (or processed) together, one commit per batch — up
#: to this many. A message arriving alone is handled at once.
BATCH_MAX = 64
#: In a burst, how long the processing worker lets stored messages gather before it takes a batch.
BURST_LINGER_SECONDS = 0.05
#: How long a sender waits for its message's processing after the raw copy is committed; past that the answer
#: is still 250 (the message is stored and is processed as soon as the worker gets to it).
PROCESS_WAIT_SECONDS = 10.0


class AlertSMTPHandler:
    """aiosmtpd handler with two worker threads: one stores raw messages, one processes stored ones.

    A message is answered 250 once its raw copy is committed and, when nothing else waits for processing, once
    its processing is done too (the answer names the outcome). In a burst — other messages stored and not yet
    processed — it is answered as soon as its raw copy is committed, so the senders go on and the queued messages
    are processed together (SMTP's 250 means "stored safely", which it is). A slow RMM lookup or a hostile
    message on the processing worker never holds up storing (and answering) the others.
    The CPU work of reading a message is bounded (see `intake.email`) and never runs on the accept loop.
    """

    def __init__(self, on_delivery: Callable[[Delivery], None] | None = None) -> None:
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="smtp-db")
        self.processor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="smtp-process")
        self.on_delivery = on_delivery
        self.accepted = 0
        self.failed = 0
        self.largest_batch = 0
        self.answered_early = 0
        self.largest_processed = 0
        #: Messages stored and not yet processed (changed by the two workers under `_count_lock`).
        self._unprocessed = 0
        self._count_lock = threading.Lock()
        self._queue: queue.SimpleQueue[Pending] = queue.SimpleQueue()
        self._stored: queue.SimpleQueue[tuple[Pending, AlertEvent]] = queue.SimpleQueue()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        accepted_at = time.monotonic()
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", errors="replace")
        if len(raw) > MAX_MESSAGE_BYTES:
            return f"552 Message larger than {MAX_MESSAGE_BYTES} bytes"
        peer = str(session.peer[0]) if session.peer else ""
        loop = asyncio.get_running_loop()
        stored: asyncio.Future[int] = loop.create_future()
        processed: asyncio.Future[Outcome] = loop.create_future()
        self._queue.put(Pending(raw, peer, [str(r) for r in envelope.rcpt_tos], accepted_at, stored, processed,
                                loop))
        self.executor.submit(self._drain)
        try:
            event_id = await stored
        except Exception as exc:  # the raw message is not stored: ask the sender to retry later
            self.failed += 1
            log.error("SMTP message could not be stored: %s", exc)
            return f"451 Could not store the message ({type(exc).__name__}); try again later"
        self.accepted += 1
        if processed.done() or not self._busy_with_others():
            try:
                outcome = await asyncio.wait_for(asyncio.shield(processed), PROCESS_WAIT_SECONDS)
            except TimeoutError:
                outcome = Outcome(event_id, EventStatus.PENDING, "Stored; processing continues.")
            return f"250 Stored as alert event {outcome.event_id} ({outcome.status})"
        self.answered_early += 1
        return f"250 Stored as alert event {event_id} (queued behind others)"

    def _busy_with_others(self) -> bool:
        """More than this message is stored and waiting for (or in) processing: a burst is on."""
        return self._unprocessed > 1

    def _drain(self) -> None:
        """Store worker: take what is queued (up to BATCH_MAX), commit it raw, hand it to the processing worker."""
        items: list[Pending] = []
        while len(items) < BATCH_MAX:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                break
        if not items:
            return  # an earlier run took this submission's message along
        self.largest_batch = max(self.largest_batch, len(items))
        _drop_broken_connections()
        try:
            events = _store_batch(items)
        except Exception as exc:
            log.exception("SMTP batch of %s message(s) could not be stored", len(items))
            for item in items:
                item.loop.call_soon_threadsafe(_fail, item.stored, exc)
            return
        with self._count_lock:
            self._unprocessed += len(items)
        answers: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any]]] = {}
        for item, event in zip(items, events, strict=True):
            self._stored.put((item, event))
            answers.setdefault(item.loop, []).append((item.stored, int(event.pk)))
        _answer(answers)
        self.processor.submit(self._process)

    def _process(self) -> None:
        """Processing worker: read and apply the stored events queued so far (up to BATCH_MAX), in order.

        In a burst (more than one message waits) it first lets the queue fill for up to BURST_LINGER_SECONDS:
        sleeping frees the interpreter for the receiver, and a full batch shares its transaction and its storm
        notes instead of paying for them per two or three messages.
        """
        if self._unprocessed > 1 and not self._stored.empty():
            deadline = time.monotonic() + BURST_LINGER_SECONDS
            while self._stored.qsize() < BATCH_MAX and time.monotonic() < deadline:
                time.sleep(0.002)
        batch: list[tuple[Pending, AlertEvent]] = []
        while len(batch) < BATCH_MAX:
            try:
                batch.append(self._stored.get_nowait())
            except queue.Empty:
                break
        if not batch:
            return
        self.largest_processed = max(self.largest_processed, len(batch))
        _drop_broken_connections()
        events = [event for _item, event in batch]
        try:
            outcomes = _process_batch(events)
        except Exception as exc:  # stored and committed: kept pending for `rmmbridge alerts process-pending`
            log.exception("SMTP batch stored but not processed")
            outcomes = [Outcome(int(e.pk), EventStatus.PENDING, f"Stored; processing failed: {exc}") for e in events]
        committed_at = time.monotonic()
        with self._count_lock:
            self._unprocessed -= len(batch)
        answers: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any]]] = {}
        for (item, _event), outcome in zip(batch, outcomes, strict=True):
            if self.on_delivery is not None:
                self.on_delivery(Delivery(outcome, item.accepted_at, committed_at))
            answers.setdefault(item.loop, []).append((item.processed, outcome))
        _answer(answers)


def _succeed(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():
        future.set_result(result)


def _succeed_all(results: list[tuple[asyncio.Future[Any], Any]]) -> None:
    for future, result in results:
        _succeed(future, result)


def _answer(answers: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any]]]) -> None:
    """Resolve the futures on their event loops: one wake-up of each loop for the whole batch."""
    for loop, results in answers.items():
        if not loop.is_closed():
            loop.call_soon_threadsafe(_succeed_all, results)


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)


class SMTPReceiver:
    """Start/stop the receiver on host:port (port 0 picks a free port; see `.port`)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 2525,
                 on_delivery: Callable[[Delivery], None] | None = None) -> None:
        self.handler = AlertSMTPHandler(on_delivery)
        self.host = host
        self.requested_port = port
        self.controller: AlertController | None = None
        self.port = port

    def start(self) -> SMTPReceiver:
        if self.requested_port == 0:
            import socket

            with socket.socket() as sock:
                sock.bind((self.host, 0))
                self.port = sock.getsockname()[1]
        self.controller = AlertController(self.handler, hostname=self.host, port=self.port,
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
        self.handler.processor.submit(_close_connections).result()
        self.handler.processor.shutdown(wait=True)

    def __enter__(self) -> SMTPReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
