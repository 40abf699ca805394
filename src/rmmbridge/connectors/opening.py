"""`open_connector`: validate credentials, build the transport stack for one vendor, yield its connector."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx

from rmmbridge.connectors import Connector, get_connector
from rmmbridge.connectors.http.redaction import Redactor
from rmmbridge.connectors.http.requestlog import LoggingTransport, RequestLog
from rmmbridge.connectors.http.responses import build_client
from rmmbridge.connectors.http.retry import DEFAULT_RETRY_POLICY, ResilientTransport, RetryPolicy
from rmmbridge.connectors.ratelimit import RollingWindowLimiter, shared_limiter


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
