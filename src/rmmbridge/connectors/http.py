"""The one HTTP layer every connector uses: client, request log, retries, rate limit, token auth, error mapping.

Transport stack built by `open_connector` (outermost first)::

    httpx.Client (base URL, timeout, the vendor's httpx.Auth token flow)
      -> ResilientTransport  (client-side rate limit; retries with backoff + jitter on 429/5xx/timeouts/drops,
                              honouring Retry-After up to a cap)
        -> LoggingTransport  (one RequestLog entry and one log line per attempt, secrets redacted)
          -> httpx.HTTPTransport, or the transport a test passes in

Connectors call `request_json(...)`, which maps what is left after retries to the errors.py class that says what
the caller must do.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx

from rmmbridge.common.redact import redact_text
from rmmbridge.connectors.errors import (
    ConnectorAuthError,
    ConnectorError,
    ConnectorFatalError,
    ConnectorForbiddenError,
    ConnectorRateLimitedError,
    ConnectorRetryableError,
    ConnectorUnavailableError,
)
from rmmbridge.connectors.paging import iter_cursor_pages, iter_next_url_pages, iter_offset_pages
from rmmbridge.connectors.ratelimit import RollingWindowLimiter, shared_limiter

if TYPE_CHECKING:
    from rmmbridge.connectors.base import Connector

__all__ = [
    "LoggingTransport",
    "OAuth2TokenAuth",
    "Redactor",
    "RequestLog",
    "RequestLogEntry",
    "ResilientTransport",
    "RetryPolicy",
    "RollingWindowLimiter",
    "build_client",
    "decode_json",
    "error_message_from",
    "iter_cursor_pages",
    "iter_next_url_pages",
    "iter_offset_pages",
    "open_connector",
    "raise_for_status",
    "request_json",
]

logger = logging.getLogger("rmmbridge.connectors.http")

USER_AGENT = "rmmbridge/0.1 (+self-hosted RMM bridge)"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
REDACT_MARGIN = 64  # characters redacted past the log's body limit, beyond the longest known secret


class Redactor:
    """The secret values of one connection (credentials plus every token obtained); thread-safe."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = {s for s in secrets if s}
        self._lock = threading.Lock()

    def add(self, *values: str | None) -> None:
        """Remember more secret values (e.g. an access or refresh token just obtained)."""
        with self._lock:
            self._secrets.update(v for v in values if v)

    def values(self) -> list[str]:
        with self._lock:
            return list(self._secrets)

    def __call__(self, text: str) -> str:
        """`text` with every secret, bearer/basic credential and key=value secret replaced by ***."""
        return redact_text(text, self.values())

    def longest(self) -> int:
        """Length of the longest known secret (how far past a cut a secret that starts before it can reach)."""
        with self._lock:
            return max((len(s) for s in self._secrets), default=0)


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


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to retry. `backoff_base` is small in tests so they run fast."""

    max_retries: int = 4
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    retry_after_cap: float = 60.0
    jitter: float = 0.5
    statuses: frozenset[int] = RETRY_STATUSES
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter for retry number `attempt` (0-based)."""
        delay = min(self.backoff_max, self.backoff_base * (2.0**attempt))
        return delay * (1 - self.jitter * random.random())

    def wait_for(self, retry_after: float | None, attempt: int) -> float:
        """Honour the server's Retry-After (capped), else back off."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.retry_after_cap)
        return self.backoff(attempt)

    def with_backoff(self, base: float) -> RetryPolicy:
        return replace(self, backoff_base=base)


DEFAULT_RETRY_POLICY = RetryPolicy()


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


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


class ResilientTransport(httpx.BaseTransport):
    """Client-side rate limit plus retries with exponential backoff and jitter, honouring Retry-After.

    A Retry-After longer than the policy's `retry_after_cap` is not waited for: the response is returned at once
    and becomes ConnectorRateLimitedError carrying `retry_after`, so a background job can reschedule instead.

    Retries 429 for every method; 5xx, timeouts and dropped connections only for idempotent methods (a POST is
    retried only when the connection could not be opened, so it cannot have reached the server). After the last
    attempt the final response is returned (or the transport error raised) for `raise_for_status` to map.
    """

    def __init__(
        self,
        inner: httpx.BaseTransport,
        policy: RetryPolicy = DEFAULT_RETRY_POLICY,
        limiter: RollingWindowLimiter | None = None,
    ) -> None:
        self.inner = inner
        self.policy = policy
        self.limiter = limiter
        self.retries = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        attempt = 0
        idempotent = request.method.upper() in IDEMPOTENT_METHODS
        while True:
            if self.limiter is not None:
                self.limiter.acquire()
            try:
                response = self.inner.handle_request(request)
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                may_retry = idempotent or isinstance(exc, httpx.ConnectError)
                if not may_retry or attempt >= self.policy.max_retries:
                    raise
                delay = self.policy.backoff(attempt)
                reason = type(exc).__name__
                logger.info("Retrying %s %s in %.2f s after %s", request.method, request.url.path, delay, reason)
            else:
                status = response.status_code
                retryable = status == 429 or (idempotent and status in self.policy.statuses)
                if not retryable or attempt >= self.policy.max_retries:
                    return response
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                if retry_after is not None and retry_after > self.policy.retry_after_cap:
                    return response  # too long to block a worker: surface it with retry_after for the scheduler
                response.read()
                response.close()
                delay = self.policy.wait_for(retry_after, attempt)
                logger.info("Retrying %s %s in %.2f s after HTTP %s", request.method, request.url.path, delay, status)
            self.retries += 1
            attempt += 1
            self.policy.sleep(delay)

    def close(self) -> None:
        self.inner.close()


def build_client(base_url: str, *, timeout: float = 30, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """An httpx client for one vendor API: base URL, timeout, JSON accept header, no redirects to other hosts."""
    return httpx.Client(
        base_url=base_url,
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        transport=transport,
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        follow_redirects=False,
    )


def error_message_from(response: httpx.Response) -> str:
    """The vendor's own error text from a JSON or plain error body (message, error_description, error, …)."""
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        text = response.text.strip()
        return text[:200] if text and not text.lstrip().startswith("<") else ""
    parts: list[str] = []
    if isinstance(body, Mapping):
        for key in ("error_description", "message", "errorMessage", "detail", "title", "error", "resultCode"):
            value = body.get(key)
            if isinstance(value, str) and value and value not in parts:
                parts.append(value)
        errors = body.get("errors")
        if isinstance(errors, list):
            parts.extend(str(e.get("message", e)) if isinstance(e, Mapping) else str(e) for e in errors[:3])
    return "; ".join(parts)[:300]


def raise_for_status(response: httpx.Response, *, vendor: str = "The RMM") -> None:
    """Raise the errors.py class naming what the caller must do for a non-2xx response."""
    status = response.status_code
    if status < 400:
        return
    detail = error_message_from(response)
    suffix = f" ({detail})" if detail else ""
    path = response.request.url.path if response.request is not None else ""
    if status == 401:
        raise ConnectorAuthError(
            f"{vendor} rejected the credentials{suffix}. Check the API key and secret, then save them again.",
            status=status,
        )
    if status == 403:
        raise ConnectorForbiddenError(
            f"{vendor} refused access to {path}{suffix}. Grant the API user this permission in {vendor}.",
            status=status,
        )
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        raise ConnectorRateLimitedError(
            f"{vendor} rate limit reached{suffix}; retry "
            + (f"in {retry_after:.0f} s." if retry_after is not None else "later."),
            status=status,
            retry_after=retry_after,
        )
    if status >= 500:
        raise ConnectorUnavailableError(
            f"{vendor} answered HTTP {status} on {path}{suffix} after retries; try again later.", status=status
        )
    raise ConnectorFatalError(f"{vendor} answered HTTP {status} on {path}{suffix}.", status=status)


def decode_json(response: httpx.Response, *, vendor: str = "The RMM") -> Any:
    """The JSON body; malformed JSON raises ConnectorRetryableError (usually a cut-off or proxy page)."""
    if not response.content:
        return None
    try:
        return json.loads(response.content)
    except ValueError as exc:
        raise ConnectorRetryableError(
            f"{vendor} returned malformed JSON on {response.request.url.path}: {exc}. Try again later.",
            status=response.status_code,
        ) from None


def request_json(
    http: httpx.Client,
    method: str,
    url: str,
    *,
    params: Mapping[str, Any] | None = None,
    json_body: Any = None,
    data: Mapping[str, str] | None = None,
    vendor: str = "The RMM",
    auth: httpx.Auth | None = None,
) -> Any:
    """Send one request through the client's auth, retry and log stack; return the decoded JSON or raise.

    ``auth`` replaces the client's auth for this request (e.g. a token with more scopes for one write).
    """
    try:
        if auth is None:
            response = http.request(method, url, params=params, json=json_body, data=data)
        else:
            response = http.request(method, url, params=params, json=json_body, data=data, auth=auth)
    except ConnectorError:
        raise
    except httpx.TimeoutException as exc:
        raise ConnectorUnavailableError(
            f"{vendor} did not answer in time ({type(exc).__name__}) at {http.base_url}. Try again later."
        ) from None
    except httpx.ConnectError as exc:
        raise ConnectorUnavailableError(
            f"Cannot connect to {http.base_url.host}:{http.base_url.port or ''} ({exc}). "
            "Check the API URL and that the server is reachable."
        ) from None
    except httpx.HTTPError as exc:
        raise ConnectorUnavailableError(
            f"The connection to {vendor} failed ({type(exc).__name__}: {exc}). Try again later."
        ) from None
    raise_for_status(response, vendor=vendor)
    return decode_json(response, vendor=vendor)


def _oauth_error(response: httpx.Response) -> str:
    """The OAuth2 `error` code of a token answer ("invalid_scope", "invalid_client" …), or ""."""
    try:
        body = response.json()
    except (ValueError, UnicodeDecodeError):
        return ""
    error = body.get("error") if isinstance(body, Mapping) else None
    return error.strip() if isinstance(error, str) else ""


@dataclass
class _Token:
    value: str
    expires_at: float


class OAuth2TokenAuth(httpx.Auth):
    """Bearer-token auth that fetches a token, caches it until shortly before expiry, and refreshes it on a 401.

    `token_request()` builds the grant request (password grant, client credentials, …) with an absolute URL.
    Every token obtained is added to the Redactor. A rejected grant raises ConnectorAuthError with the vendor's
    message (e.g. 'Bad credentials').
    """

    requires_response_body = True

    def __init__(
        self,
        token_request: Callable[[], httpx.Request],
        redactor: Redactor,
        *,
        vendor: str = "The RMM",
        default_lifetime: float = 3600.0,
        leeway: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        scope: str = "",
    ) -> None:
        self.token_request = token_request
        #: The scope a rejected `invalid_scope` grant names ("the API client lacks the scope 'management'").
        self.scope = scope
        self.redactor = redactor
        self.vendor = vendor
        self.default_lifetime = default_lifetime
        self.leeway = leeway
        self.clock = clock
        self._token: _Token | None = None
        self._lock = threading.Lock()
        self.tokens_fetched = 0

    def invalidate(self) -> None:
        with self._lock:
            self._token = None

    def _valid_token(self) -> str | None:
        with self._lock:
            if self._token is not None and self.clock() < self._token.expires_at - self.leeway:
                return self._token.value
            return None

    def _store(self, response: httpx.Response) -> str:
        if response.status_code == 400 and self.scope and _oauth_error(response) == "invalid_scope":
            raise ConnectorForbiddenError(
                f"{self.vendor} refused the token: the API client lacks the scope '{self.scope}'. Allow that scope "
                f"for the API client in {self.vendor} (the credentials themselves are fine), or switch off the "
                "feature that needs it.",
                status=403,
            )
        if response.status_code in (400, 401, 403):
            detail = error_message_from(response)
            raise ConnectorAuthError(
                f"{self.vendor} rejected the API credentials"
                + (f" ({detail})" if detail else "")
                + ". Check the key and secret (and that API access is enabled), then save them again.",
                status=401 if response.status_code == 400 else response.status_code,
            )
        raise_for_status(response, vendor=self.vendor)
        body = decode_json(response, vendor=self.vendor)
        token = body.get("access_token") if isinstance(body, Mapping) else None
        if not isinstance(token, str) or not token:
            raise ConnectorFatalError(f"{self.vendor} answered the token request without an access_token.")
        refresh = body.get("refresh_token")
        self.redactor.add(token, refresh if isinstance(refresh, str) else None)
        lifetime = body.get("expires_in")
        seconds = float(lifetime) if isinstance(lifetime, int | float) else self.default_lifetime
        with self._lock:
            self._token = _Token(token, self.clock() + seconds)
            self.tokens_fetched += 1
        return token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._valid_token()
        fresh = False
        if token is None:
            token = self._store((yield self.token_request()))
            fresh = True
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401 and not fresh:
            self.invalidate()
            token = self._store((yield self.token_request()))
            request.headers["Authorization"] = f"Bearer {token}"
            yield request


def _limiter_for(cls: type[Connector], base_url: str, secrets: list[str]) -> RollingWindowLimiter | None:
    """The process-wide limiter of one vendor account (slug, base URL and a digest of the credentials)."""
    if not cls.rate_limit_per_minute:
        return None
    account = hashlib.sha256("\0".join(sorted(secrets)).encode()).hexdigest()[:16]
    return shared_limiter((cls.slug, base_url, account), cls.rate_limit_per_minute)


@contextmanager
def open_connector(
    slug: str,
    credentials: Mapping[str, Any],
    *,
    request_log: RequestLog | None = None,
    transport: httpx.BaseTransport | None = None,
    retry: RetryPolicy | None = None,
    timeout: float = 30,
) -> Iterator[Connector]:
    """Validate credentials with the vendor's CredentialSpec, build the client stack, yield the connector, close.

    Bad credentials raise ConnectorConfigError naming the fields to fix. `retry` lets tests use a fast backoff.
    """
    from rmmbridge.connectors import get_connector

    cls = get_connector(slug)
    spec = cls.credentials_model.parse(dict(credentials))
    base_url = cls.base_url_from(spec)
    redactor = Redactor(spec.secret_values())
    logged = LoggingTransport(transport or httpx.HTTPTransport(), request_log, redactor, vendor=cls.name)
    limiter = _limiter_for(cls, base_url, spec.secret_values())
    stack = ResilientTransport(logged, retry or DEFAULT_RETRY_POLICY, limiter)
    client = build_client(base_url, timeout=timeout, transport=stack)
    try:
        yield cls(spec, client, redactor=redactor)
    finally:
        client.close()
