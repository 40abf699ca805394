"""Addigy API v2 HTTP client: `x-api-key` header, POST list queries paged by `page`/`per_page` + metadata."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Generator, Iterator, Mapping
from datetime import datetime
from typing import Any

import httpx

from rmmbridge.connectors.addigy import const
from rmmbridge.connectors.addigy.credentials import AddigyCredentials
from rmmbridge.connectors.addigy.normalize import alert_time
from rmmbridge.connectors.errors import ConnectorFatalError, ConnectorUnavailableError
from rmmbridge.connectors.http import DEFAULT_RETRY_POLICY, ResilientTransport, RetryPolicy, request_json
from rmmbridge.connectors.paging import pages_until

logger = logging.getLogger("rmmbridge.connectors.addigy")

MAX_PAGES = 100_000


class ApiKeyAuth(httpx.Auth):
    """Sends the API v2 key in `x-api-key` on every request (there is no token exchange to refresh)."""

    def __init__(self, api_key: str) -> None:
        self._api_key = api_key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[const.API_KEY_HEADER] = self._api_key
        yield request


def retry_policy_of(http: httpx.Client) -> RetryPolicy:
    """The retry policy of the shared transport stack (so query POSTs retry exactly like GETs do)."""
    transport = getattr(http, "_transport", None)
    return transport.policy if isinstance(transport, ResilientTransport) else DEFAULT_RETRY_POLICY


class AddigyClient:
    """Thin typed access to the Addigy v2 API over the shared HTTP stack.

    The shared transport retries 5xx, timeouts and dropped connections only for idempotent methods; Addigy's list
    endpoints are read-only POST queries, so this client retries them itself with the same policy (429 is already
    retried by the transport for every method).
    """

    def __init__(self, http: httpx.Client, credentials: AddigyCredentials) -> None:
        self.http = http
        self.credentials = credentials
        http.auth = ApiKeyAuth(credentials.client_secret.get_secret_value())
        self.policy = retry_policy_of(http)
        self.query_retries = 0

    def query(self, path: str, body: Mapping[str, Any]) -> Any:
        """POST one read-only query; 5xx and connection failures are retried with backoff, then raised."""
        attempt = 0
        while True:
            try:
                return request_json(self.http, "POST", path, json_body=dict(body), vendor=const.NAME)
            except ConnectorUnavailableError as exc:
                # The transport already retried refused connections (for every method): don't multiply them.
                if attempt >= self.policy.max_retries or isinstance(exc.__context__, httpx.ConnectError):
                    raise
                delay = self.policy.backoff(attempt)
                logger.info("Retrying Addigy query %s in %.2f s after: %s", path, delay, exc.message)
                attempt += 1
                self.query_retries += 1
                self.policy.sleep(delay)

    def get(self, path: str) -> Any:
        """One GET (the transport retries it like every idempotent call)."""
        return request_json(self.http, "GET", path, vendor=const.NAME)

    def list_all(self, path: str, body: Mapping[str, Any] | None = None) -> list[Any]:
        """An unpaged list query: `POST /oa/policies/query` answers a bare JSON array (no items/metadata).

        A page object is read too (its `items`), so a server that starts paging loses nothing of the first page.
        """
        raw = self.query(path, dict(body or {}))
        if isinstance(raw, list):
            return raw
        items, _ = _page_parts(raw, path)
        return items

    def iter_pages(
        self, path: str, body: Mapping[str, Any] | None = None, *, per_page: int = const.PAGE_SIZE
    ) -> Iterator[list[Any]]:
        """Each page's `items`, asking page 1, 2, … until `metadata.page_count` (or a short/empty page).

        A bare array (no paging) is one page. A page the server says is not the one asked for, or whose items repeat
        an earlier page's, raises ConnectorFatalError instead of looping.
        """
        seen: set[str] = set()
        page_no = 1
        while page_no <= MAX_PAGES:
            request = {**(body or {}), "page": page_no, "per_page": per_page}
            raw = self.query(path, request)
            if isinstance(raw, list):  # an unpaged answer: everything at once
                yield raw
                return
            items, meta = _page_parts(raw, path)
            served = meta.get("page")
            if isinstance(served, int) and served != page_no:
                raise _repeated(path, page_no, f"page {served} was served for page {page_no}")
            if items:
                digest = hashlib.sha256(json.dumps(items, sort_keys=True, default=str).encode()).hexdigest()
                if digest in seen:
                    raise _repeated(path, page_no, "its items repeat an earlier page")
                seen.add(digest)
            yield items
            page_count = meta.get("page_count")
            served_size = meta.get("per_page")
            size = served_size if isinstance(served_size, int) else per_page
            if isinstance(page_count, int):
                if page_no >= page_count:
                    return
            elif not items or len(items) < size:
                return
            if not items:
                return
            page_no += 1
        raise ConnectorFatalError(f"More than {MAX_PAGES} pages from Addigy {path}; stopped.")

    def iter_alert_pages(self, body: Mapping[str, Any], *, floor: datetime | None = None,
                         max_pages: int | None = None) -> Iterator[list[Any]]:
        """Pages of the v2 alert list (newest first); with ``floor``, up to the first page whose alerts were all
        raised before it, and at most ``max_pages`` pages."""
        pages = self.iter_pages(const.ALERTS_QUERY, body, per_page=const.ALERTS_PAGE_SIZE)

        def all_older(items: list[Any]) -> bool:
            times = [alert_time(raw) for raw in items]
            return floor is not None and bool(items) and all(t is not None and t < floor for t in times)

        return pages_until(pages, all_older, max_pages=max_pages)


def _page_parts(raw: Any, path: str) -> tuple[list[Any], dict[str, Any]]:
    if not isinstance(raw, Mapping):
        raise ConnectorFatalError(
            f"Addigy answered {path} with {type(raw).__name__}, not a list or a page object ({{items, metadata}})."
        )
    items = raw.get("items")
    if items is None:
        items = []
    if not isinstance(items, list):
        raise ConnectorFatalError(f"Addigy page of {path} has no 'items' list.")
    meta = raw.get("metadata")
    return items, dict(meta) if isinstance(meta, Mapping) else {}


def _repeated(path: str, page_no: int, why: str) -> ConnectorFatalError:
    return ConnectorFatalError(
        f"Addigy returned the same page twice on {path} (page {page_no}: {why}); stopped to avoid an endless loop. "
        "Try again later or report it to Addigy."
    )
