"""Open an integration's connector with its decrypted credentials, persisting the request log it writes."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from django.db import DatabaseError

from rmmbridge.connectors.base import Connector
from rmmbridge.connectors.http import RequestLog, RetryPolicy
from rmmbridge.connectors.http import RequestLogEntry as LoggedRequest
from rmmbridge.connectors.opening import open_connector
from rmmbridge.integrations.models import ConnectorState, Integration, RequestLogEntry

logger = logging.getLogger(__name__)

DEFAULT_MAX_ENTRIES = 500
#: Entries are written to the database in batches of this size (and at the end of every `connector_for`).
FLUSH_EVERY = 25
#: "Test credentials" is interactive: one quick retry and a short timeout instead of the background job policy.
INTERACTIVE_RETRY = RetryPolicy(max_retries=1, backoff_base=0.5, backoff_max=2.0, retry_after_cap=5.0)
INTERACTIVE_TIMEOUT = 15.0


def max_entries() -> int:
    """How many request log entries are kept per integration (RMMBRIDGE_REQUEST_LOG_MAX, default 500)."""
    raw = os.environ.get("RMMBRIDGE_REQUEST_LOG_MAX", "").strip()
    if not raw:
        return DEFAULT_MAX_ENTRIES
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"RMMBRIDGE_REQUEST_LOG_MAX must be a whole number of entries; got {raw!r}.") from None
    return max(value, 1)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _row(integration_id: int, entry: LoggedRequest) -> RequestLogEntry:
    return RequestLogEntry(
        integration_id=integration_id,
        at=_aware(entry.at),
        method=str(entry.method)[:10],
        url=str(entry.url),
        status=entry.status,
        duration_ms=float(entry.duration_ms or 0),
        request_body=entry.request_body or "",
        response_body=entry.response_body or "",
        error=entry.error or "",
    )


def prune_request_log(integration_id: int, keep: int | None = None) -> int:
    """Delete all but the newest `keep` entries of one integration in one statement; returns how many went."""
    keep = max_entries() if keep is None else keep
    boundary = list(
        RequestLogEntry.objects.filter(integration_id=integration_id).order_by("-id").values_list("id", flat=True)[
            keep : keep + 1
        ]
    )
    if not boundary:
        return 0
    deleted, _ = RequestLogEntry.objects.filter(integration_id=integration_id, id__lte=boundary[0]).delete()
    return deleted


def persist_entries(integration_id: int, entries: Iterable[LoggedRequest], keep: int | None = None) -> int:
    """Store entries (already redacted by the connector layer) and prune the log to `keep`; returns how many."""
    rows = [_row(integration_id, entry) for entry in entries]
    if not rows:
        return 0
    RequestLogEntry.objects.bulk_create(rows, batch_size=500)
    prune_request_log(integration_id, keep)
    return len(rows)


class RequestLogSink:
    """A RequestLog listener that buffers entries and writes them for one integration in batches.

    Only the thread that opened the connector writes: a background fetch thread only buffers (keeping the newest
    entries the log would keep anyway), so it never waits on the database's write lock while the sync holds it.
    """

    def __init__(self, integration_id: int, *, keep: int | None = None, flush_every: int = FLUSH_EVERY) -> None:
        self.integration_id = integration_id
        self.keep = keep
        self.flush_every = flush_every
        self._buffer: list[LoggedRequest] = []
        self._lock = threading.Lock()
        self._owner = threading.get_ident()
        self.written = 0

    def __call__(self, entry: LoggedRequest) -> None:
        owner = threading.get_ident() == self._owner
        with self._lock:
            self._buffer.append(entry)
            full = len(self._buffer) >= self.flush_every
            if full and not owner:
                cap = max(self.keep if self.keep is not None else max_entries(), self.flush_every)
                if len(self._buffer) > cap:  # the log keeps only the newest entries: older ones would be pruned
                    del self._buffer[: len(self._buffer) - cap]
        if full and owner:
            self.flush()

    def flush(self) -> int:
        """Write the buffered entries; returns how many were written (0 when the database refused them)."""
        with self._lock:
            pending, self._buffer = self._buffer, []
        try:
            written = persist_entries(self.integration_id, pending, self.keep)
        except DatabaseError:
            # Troubleshooting data must never hide the error that is being troubleshot (e.g. a broken transaction).
            logger.warning("Could not store %d request log entries of integration %s", len(pending),
                           self.integration_id, exc_info=True)
            return 0
        self.written += written
        return written


@contextmanager
def open_with_credentials(
    vendor: str,
    credentials: Mapping[str, Any],
    *,
    sink: RequestLogSink | None = None,
    interactive: bool = False,
    retry: RetryPolicy | None = None,
) -> Iterator[tuple[Connector, RequestLog]]:
    """Open a vendor's connector for raw credentials; yields (connector, request_log).

    `interactive` (a person waits: test credentials) retries once with a short timeout.
    Raises ConnectorConfigError (clear message) when the credentials do not validate.
    """
    request_log = RequestLog(max_entries=max_entries())
    if sink is not None:
        request_log.add_listener(sink)
    try:
        policy = retry or (INTERACTIVE_RETRY if interactive else None)
        timeout = INTERACTIVE_TIMEOUT if interactive else 30.0
        with open_connector(vendor, credentials, request_log=request_log, retry=policy, timeout=timeout) as connector:
            yield connector, request_log
    finally:
        if sink is not None:
            sink.flush()


@contextmanager
def connector_for(integration: Integration, *, retry: RetryPolicy | None = None) -> Iterator[Connector]:
    """The integration's connector, with decrypted credentials; every request is kept in its request log.

    `retry` overrides the HTTP layer's retry policy (tests use a fast backoff).
    """
    credentials = integration.get_credentials()
    sink = RequestLogSink(int(integration.pk))
    with open_with_credentials(integration.vendor, credentials, sink=sink, retry=retry) as (connector, _log):
        stored = ConnectorState.objects.filter(integration_id=integration.pk).values_list("data", flat=True).first()
        if stored:
            connector.load_state(stored)
        try:
            yield connector
        finally:
            _keep_state(int(integration.pk), connector)


def _keep_state(integration_id: int, connector: Connector) -> None:
    """Store the connector's state when it changed (also after a failed run: what it learned stays true)."""
    state = connector.dump_state()
    if state is None:
        return
    try:
        ConnectorState.objects.update_or_create(integration_id=integration_id, defaults={"data": state})
    except DatabaseError:
        logger.warning("Could not store the connector state of integration %s", integration_id, exc_info=True)
