"""Retries with backoff and jitter (honouring Retry-After) and the client-side rate limit, as a transport."""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import httpx

from rmmbridge.connectors.ratelimit import RollingWindowLimiter

logger = logging.getLogger("rmmbridge.connectors.http")
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


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
