"""The request log: one redacted, truncated entry per HTTP attempt, and the transport that writes it."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from rmmbridge.connectors.http.redaction import Redactor

logger = logging.getLogger("rmmbridge.connectors.http")
REDACT_MARGIN = 64  # characters redacted past the log's body limit, beyond the longest known secret


@dataclass(frozen=True, slots=True)
class RequestLogEntry:
    """One HTTP exchange, already redacted and truncated."""

    at: datetime
    method: str
    url: str
    status: int | None
    duration_ms: float
    request_body: str
    response_body: str
    error: str


class RequestLog:
    """A bounded, thread-safe log of the requests one integration made, for troubleshooting.

    Entries are redacted before they are stored; listeners (e.g. the integrations app persisting them) get each
    entry as it is added. A failing listener is logged and never breaks the request.
    """

    def __init__(self, max_entries: int = 200, body_limit: int = 2000) -> None:
        self.max_entries = max_entries
        self.body_limit = body_limit
        self._entries: deque[RequestLogEntry] = deque(maxlen=max_entries)
        self._listeners: list[Callable[[RequestLogEntry], None]] = []
        self._lock = threading.Lock()

    def add_listener(self, listener: Callable[[RequestLogEntry], None]) -> None:
        with self._lock:
            self._listeners.append(listener)

    def truncate(self, text: str, omitted: int = 0) -> str:
        """At most `body_limit` characters, saying how many more there were (`omitted`: already cut off)."""
        if len(text) <= self.body_limit and not omitted:
            return text
        kept = text[: self.body_limit]
        return kept + f"… [{len(text) - len(kept) + omitted} more characters]"

    def clip(self, text: str, redactor: Redactor, omitted: int = 0) -> str:
        """Redacted and truncated like `truncate(redactor(text))`, but only the part that can be kept is redacted.

        The text is first cut some way past `body_limit` (the longest secret plus a margin for key=value and
        bearer patterns), so a secret that starts in the kept part is still wholly replaced.
        """
        longest = redactor.longest()
        window = self.body_limit + longest + REDACT_MARGIN
        while len(text) > window:
            kept = redactor(text[:window])
            # a secret cut at the window's end sits in its last `longest` characters: never in the kept part
            if len(kept) >= self.body_limit + longest:
                return self.truncate(kept, omitted + len(text) - window)
            window *= 2  # redaction shortened the window too much: take more
        return self.truncate(redactor(text), omitted)

    def add(self, entry: RequestLogEntry) -> None:
        with self._lock:
            self._entries.append(entry)
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(entry)
            except Exception:
                logger.exception("Request-log listener %r failed", listener)

    def entries(self) -> list[RequestLogEntry]:
        """Oldest first."""
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _decode_text(content: bytes, headers: httpx.Headers, max_bytes: int | None = None) -> tuple[str, int]:
    """(decoded text, bytes left out) of a (possibly compressed) body, for the log only.

    Uncompressed bodies are cut at `max_bytes` before decoding, so a big page is never decoded just to be logged;
    the caller redacts, then truncates to fewer characters than that, so no secret is cut in half in the log.
    """
    omitted = 0
    encoding = headers.get("content-encoding", "identity").lower()
    if max_bytes is not None and encoding in ("", "identity") and len(content) > max_bytes:
        omitted = len(content) - max_bytes
        content = content[:max_bytes]
    return _decode_all(content, headers), omitted


def _decode_all(content: bytes, headers: httpx.Headers) -> str:
    try:
        probe = httpx.Response(200, headers=headers, content=content)
        return probe.text
    except Exception:
        return content.decode("utf-8", errors="replace")


class LoggingTransport(httpx.BaseTransport):
    """Records every attempt in a RequestLog and the Python log, redacting with the connection's Redactor."""

    def __init__(
        self, inner: httpx.BaseTransport, request_log: RequestLog | None, redactor: Redactor, *, vendor: str = ""
    ) -> None:
        self.inner = inner
        self.request_log = request_log
        self.redactor = redactor
        self.vendor = vendor

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        at = datetime.now(UTC)
        try:
            request_body = request.content.decode("utf-8", errors="replace")
        except httpx.RequestNotRead:  # a streamed upload: not logged
            request_body = "[streamed body]"
        try:
            response = self.inner.handle_request(request)
            raw = b"".join(response.iter_raw())
        except httpx.HTTPError as exc:
            self._record(request, at, started, None, request_body, "", f"{type(exc).__name__}: {exc}", 0)
            raise
        if self.request_log is not None:
            text, omitted = _decode_text(raw, response.headers, self.request_log.body_limit * 4)
        else:
            text, omitted = "", 0
        self._record(request, at, started, response.status_code, request_body, text, "", omitted)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=httpx.ByteStream(raw),
            extensions=response.extensions,
            request=request,
        )

    def _record(
        self,
        request: httpx.Request,
        at: datetime,
        started: float,
        status: int | None,
        request_body: str,
        response_body: str,
        error: str,
        omitted: int,
    ) -> None:
        duration_ms = (time.perf_counter() - started) * 1000
        url = self.redactor(str(request.url))
        error = self.redactor(error)
        if status is None:
            logger.warning("%s %s %s failed after %.0f ms: %s", self.vendor, request.method, url, duration_ms, error)
        else:
            level = logging.DEBUG if status < 400 else logging.INFO
            logger.log(level, "%s %s %s -> %s (%.0f ms)", self.vendor, request.method, url, status, duration_ms)
        if self.request_log is None:
            return
        self.request_log.add(
            RequestLogEntry(
                at=at,
                method=request.method,
                url=url,
                status=status,
                duration_ms=round(duration_ms, 2),
                request_body=self.request_log.clip(request_body, self.redactor),
                response_body=self.request_log.clip(response_body, self.redactor, omitted),
                error=error,
            )
        )
