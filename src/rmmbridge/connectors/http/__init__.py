"""The one HTTP layer every connector uses (its names, from the modules of this package); see the stack below.

Transport stack built by `connectors.opening.open_connector` (outermost first)::

    httpx.Client (base URL, timeout, the vendor's httpx.Auth token flow)
      -> ResilientTransport  (client-side rate limit; retries with backoff + jitter on 429/5xx/timeouts/drops,
                              honouring Retry-After up to a cap)
        -> LoggingTransport  (one RequestLog entry and one log line per attempt, secrets redacted)
          -> httpx.HTTPTransport, or the transport a test passes in

Connectors call `request_json(...)`, which maps what is left after retries to the errors.py class that says what
the caller must do.

Modules: `redaction` (Redactor), `requestlog` (RequestLog, LoggingTransport), `retry` (RetryPolicy,
ResilientTransport), `responses` (client, request_json, error mapping) and `auth` (OAuth2TokenAuth).
`open_connector` lives above the registry, in `connectors.opening`: it looks the vendor up, so the HTTP layer
below the vendors never imports them back.
"""

from __future__ import annotations

from rmmbridge.connectors.http.auth import OAuth2TokenAuth
from rmmbridge.connectors.http.redaction import Redactor
from rmmbridge.connectors.http.requestlog import LoggingTransport, RequestLog, RequestLogEntry
from rmmbridge.connectors.http.responses import (
    USER_AGENT,
    build_client,
    decode_json,
    error_message_from,
    raise_for_status,
    request_json,
)
from rmmbridge.connectors.http.retry import (
    DEFAULT_RETRY_POLICY,
    IDEMPOTENT_METHODS,
    RETRY_STATUSES,
    ResilientTransport,
    RetryPolicy,
    parse_retry_after,
)
from rmmbridge.connectors.paging import iter_cursor_pages, iter_next_url_pages, iter_offset_pages
from rmmbridge.connectors.ratelimit import RollingWindowLimiter

__all__ = [
    "DEFAULT_RETRY_POLICY",
    "IDEMPOTENT_METHODS",
    "RETRY_STATUSES",
    "USER_AGENT",
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
    "parse_retry_after",
    "raise_for_status",
    "request_json",
]
